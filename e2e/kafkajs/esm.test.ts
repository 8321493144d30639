import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceOf, tagOf } from '../support/jaeger';
import {
  createTopics,
  deleteTopics,
  type Handled,
  handledOf,
  referencesOf,
  runFixture,
  sendSpanOf,
  spanById,
  traceWithSpan,
  unique,
} from './support';

const MESSAGES = 3;

// Producer and consumer written as ES modules (`import { Kafka } from 'kafkajs'`), started with
// support/preload.mjs: instrumented through the import-in-the-middle hook, not require.
describe('kafkajs: ES module applications', () => {
  const topic = unique('esm');
  const services = { producer: unique('esm-producer'), consumer: unique('esm-consumer') };
  let handled: Handled[];

  beforeAll(async () => {
    await createTopics([topic]);
    await runFixture(
      'esm-produce.mjs',
      { TOPIC: topic, MESSAGES: String(MESSAGES) },
      {
        serviceName: services.producer,
        esm: true,
      },
    ).result;
    handled = handledOf(
      await runFixture(
        'esm-consume.mjs',
        { TOPIC: topic, GROUP: unique('esm'), MESSAGES: String(MESSAGES) },
        {
          serviceName: services.consumer,
          esm: true,
        },
      ).result,
    );
  });
  afterAll(() => deleteTopics([topic]));

  it('traces the ESM consumer process span as CHILD_OF the ESM producer send span', async () => {
    expect(handled.map((message) => message.value)).toEqual(['esm-0', 'esm-1', 'esm-2']);
    for (const message of handled) {
      const send = sendSpanOf(message);
      const trace = await traceWithSpan(send.traceId, message.span?.spanId ?? '', 2);
      const process = spanById(trace, message.span?.spanId ?? '');
      const sendSpan = spanById(trace, send.spanId);
      expect(referencesOf(process, 'CHILD_OF')).toEqual([send.spanId]);
      expect(sendSpan.operationName).toBe(`send ${topic}`);
      expect(serviceOf(trace, sendSpan)).toBe(services.producer);
      expect(serviceOf(trace, process)).toBe(services.consumer);
      // The client id comes from `new Kafka(config)`: the ESM binding of the class was patched too.
      expect(tagOf(sendSpan, 'messaging.client.id')).toBe('esm-producer');
      expect(tagOf(process, 'messaging.client.id')).toBe('esm-consumer');
    }
  });
});
