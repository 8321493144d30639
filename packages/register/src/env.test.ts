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

  describe('OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
    it.each([
      [{}, ['kafkajs', 'amqplib']],
      [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'amqplib' }, ['amqplib']],
      [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: ' kafkajs , http ' }, ['kafkajs']],
      [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express' }, []],
      [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: '' }, ['kafkajs', 'amqplib']],
      [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: ',' }, ['kafkajs', 'amqplib']],
      [{ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'kafkajs' }, ['amqplib']],
      [{ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'kafkajs,amqplib' }, []],
      // Enabled first, then disabled removes.
      [
        { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'kafkajs,amqplib', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'amqplib' },
        ['kafkajs'],
      ],
      // Applied on top of mqtrail's own selection, never widening it.
      [{ MQTRAIL_INSTRUMENTATIONS: 'amqplib', OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'kafkajs,amqplib' }, ['amqplib']],
      // Names are contrib's short names; the full package name is not one of them.
      [{ OTEL_NODE_DISABLED_INSTRUMENTATIONS: '@opentelemetry/instrumentation-amqplib' }, ['kafkajs', 'amqplib']],
    ] as const)('%j turns on %j', (env, expected) => {
      const { options, problems } = readEnvOptions(env);
      expect(options.instrumentations).toEqual(expected);
      expect(problems).toEqual([]);
    });

    it('ignores names of other instrumentations with a note for the debug log, not a warning', () => {
      const { problems, notes } = readEnvOptions({
        OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,amqplib,pg',
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'dns',
      });
      expect(problems).toEqual([]);
      expect(notes).toEqual([
        "OTEL_NODE_ENABLED_INSTRUMENTATIONS: ignoring http, pg (mqtrail's are kafkajs, amqplib)",
        "OTEL_NODE_DISABLED_INSTRUMENTATIONS: ignoring dns (mqtrail's are kafkajs, amqplib)",
      ]);
    });
  });
});
