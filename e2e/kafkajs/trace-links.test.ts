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

// Producers (one process per kafkajs API) and consumers (one process per consumer API) never share
// a process: the only thing connecting their spans is what travelled in the Kafka headers.
const apis = ['send', 'sendBatch', 'transaction'] as const;
const MESSAGES = 3;

describe('kafkajs: every consumed message is linked to the span that sent it', () => {
  const topics = Object.fromEntries(apis.map((api) => [api, unique(`links-${api}`)])) as Record<
    (typeof apis)[number],
    string
  >;
  const producerService = unique('kafkajs-producer');
  let eachMessage: Handled[];
  let eachBatch: Handled[];

  beforeAll(async () => {
    await createTopics(Object.values(topics));
    await Promise.all(
      apis.map(
        (api) =>
          runFixture(
            'produce.cjs',
            { TOPIC: topics[api], SEND_API: api, MESSAGES: String(MESSAGES) },
            {
              serviceName: producerService,
            },
          ).result,
      ),
    );
    const consume = (mode: string) =>
      runFixture(
        'consume.cjs',
        {
          TOPICS: Object.values(topics).join(','),
          GROUP: unique(`links-${mode}`),
          CONSUME_API: mode,
          MESSAGES: String(MESSAGES * apis.length),
        },
        { serviceName: unique(`kafkajs-${mode}`) },
      ).result;
    [eachMessage, eachBatch] = (await Promise.all([consume('eachMessage'), consume('eachBatch')])).map(handledOf) as [
      Handled[],
      Handled[],
    ];
  });
  afterAll(() => deleteTopics(Object.values(topics)));

  it('delivers every message to both consumers', () => {
    for (const handled of [eachMessage, eachBatch]) {
      expect(handled.map((message) => message.value).sort()).toEqual(
        apis.flatMap((api) => Array.from({ length: MESSAGES }, (_, i) => `${api}-${i}`)).sort(),
      );
    }
  });

  describe.each(apis)('messages produced with %s', (api) => {
    it('eachMessage: the process span is CHILD_OF the send span, in the same trace', async () => {
      for (const message of eachMessage.filter((handled) => handled.topic === topics[api])) {
        const send = sendSpanOf(message);
        const process = message.span;
        expect(process?.traceId).toBe(send.traceId);
        const trace = await traceWithSpan(send.traceId, process?.spanId ?? '', 2);
        const processSpan = spanById(trace, process?.spanId ?? '');
        const sendSpan = spanById(trace, send.spanId);
        expect(referencesOf(processSpan, 'CHILD_OF')).toEqual([send.spanId]);
        expect(processSpan.operationName).toBe(`process ${topics[api]}`);
        expect(sendSpan.operationName).toBe(`send ${topics[api]}`);
        expect(serviceOf(trace, sendSpan)).toBe(producerService);
        expect(tagOf(sendSpan, 'span.kind')).toBe('producer');
        expect(tagOf(processSpan, 'span.kind')).toBe('consumer');
        expect(tagOf(processSpan, 'messaging.kafka.offset')).toBe(Number(message.offset));
      }
    });

    it('eachBatch: the batch span FOLLOWS_FROM each send span, and traceBatchMessage spans are its CHILD_OF', async () => {
      for (const message of eachBatch.filter((handled) => handled.topic === topics[api])) {
        const send = sendSpanOf(message);
        const batch = message.batchSpan;
        expect(batch).toBeDefined();
        const batchTrace = await traceWithSpan(batch?.traceId ?? '', batch?.spanId ?? '');
        const batchSpan = spanById(batchTrace, batch?.spanId ?? '');
        expect(batchSpan.operationName).toBe(`process ${topics[api]}`);
        expect(batchSpan.references).toContainEqual({
          refType: 'FOLLOWS_FROM',
          traceID: send.traceId,
          spanID: send.spanId,
        });
        expect(tagOf(batchSpan, 'messaging.batch.message_count')).toBeGreaterThanOrEqual(1);

        const perMessage = message.span;
        expect(perMessage?.traceId).toBe(send.traceId);
        const trace = await traceWithSpan(send.traceId, perMessage?.spanId ?? '', 2);
        expect(referencesOf(spanById(trace, perMessage?.spanId ?? ''), 'CHILD_OF')).toEqual([send.spanId]);
      }
    });
  });
});
