import { describe, expect, it } from 'vitest';
import { readEnvOptions } from './env';

describe('readEnvOptions', () => {
  it('turns on both instrumentations with library defaults when nothing is set', () => {
    const { options, problems } = readEnvOptions({});
    expect(problems).toEqual([]);
    expect(options.instrumentations).toEqual(['kafkajs', 'amqplib']);
    expect(options.useLinksForConsume).toBeUndefined();
  });

  it('reads every MQTRAIL_ variable', () => {
    const { options, problems } = readEnvOptions({
      MQTRAIL_INSTRUMENTATIONS: ' amqplib ',
      MQTRAIL_USE_LINKS_FOR_CONSUME: 'TRUE',
      MQTRAIL_CAPTURE_BODY_SIZE: 'false',
      MQTRAIL_KAFKAJS_CAPTURE_MESSAGE_KEY: 'false',
      MQTRAIL_KAFKAJS_IGNORE_TOPICS: 'audit, __internal,',
      MQTRAIL_AMQPLIB_CONSUME_TIMEOUT_MS: '30000',
    });
    expect(problems).toEqual([]);
    expect(options).toEqual({
      instrumentations: ['amqplib'],
      useLinksForConsume: true,
      captureBodySize: false,
      kafkajs: { captureMessageKey: false, ignoreTopics: ['audit', '__internal'] },
      amqplib: { consumeTimeoutMs: 30000 },
    });
  });

  it('reports each bad value with a stable code naming the variable and the rule, and uses the default', () => {
    const { options, problems } = readEnvOptions({
      MQTRAIL_INSTRUMENTATIONS: 'kafkajs,redis',
      MQTRAIL_USE_LINKS_FOR_CONSUME: 'yes',
      MQTRAIL_AMQPLIB_CONSUME_TIMEOUT_MS: '-5',
    });
    expect(options.instrumentations).toEqual(['kafkajs', 'amqplib']);
    expect(options.useLinksForConsume).toBeUndefined();
    expect(options.amqplib.consumeTimeoutMs).toBeUndefined();
    expect(problems.map((p) => [p.code, p.option])).toEqual([
      ['MQTRAIL_INVALID_ENV', 'MQTRAIL_INSTRUMENTATIONS'],
      ['MQTRAIL_INVALID_ENV', 'MQTRAIL_USE_LINKS_FOR_CONSUME'],
      ['MQTRAIL_INVALID_ENV', 'MQTRAIL_AMQPLIB_CONSUME_TIMEOUT_MS'],
    ]);
    expect(problems[0]?.message).toBe(
      'MQTRAIL_INSTRUMENTATIONS must list only kafkajs, amqplib (comma-separated), got unknown redis',
    );
    expect(problems[1]?.message).toBe('MQTRAIL_USE_LINKS_FOR_CONSUME must be "true" or "false", got "yes"');
  });
});
