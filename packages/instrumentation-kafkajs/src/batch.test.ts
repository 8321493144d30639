import { CHAIN_HEADER, decodeChainHeader } from '@mqtrail/core';
import { sumOf } from '@mqtrail/test-support';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Batch, KafkaMessage } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { traceBatchMessage } from './batch';
import {
  type FakeConsumer,
  type FakeKafkajs,
  type FakeProducer,
  fakeKafkajs,
  kafkaBatch,
  kafkaMessage,
} from './test-support/fake-kafkajs';
import { setupOtel, type TestOtel } from './test-support/otel';
import type { KafkaJsInstrumentationConfig } from './types';

type Sent = { messages: { headers: Record<string, unknown> }[] };
type TestBatch = ReturnType<typeof kafkaBatch>;

describe('consumer eachBatch', () => {
  let otel: TestOtel;
  let kafkajs: FakeKafkajs;
  let producer: FakeProducer;
  let consumer: FakeConsumer;

  async function setup(config: KafkaJsInstrumentationConfig = {}) {
    await otel?.shutdown();
    otel = setupOtel(config);
    kafkajs = otel.patch(fakeKafkajs());
    const kafka = new kafkajs.Kafka({ clientId: 'stats', brokers: ['127.0.0.1:9092'] });
    producer = kafka.producer();
    consumer = kafka.consumer({ groupId: 'stats-group' });
  }
  beforeEach(() => setup());
  afterEach(() => otel.shutdown());

  /** Messages as consumed, each carrying the headers the instrumented producer sent. */
  async function producedMessages(count: number, firstOffset = 0) {
    await producer.send({ topic: 'orders', messages: Array.from({ length: count }, (_, i) => ({ value: `v${i}` })) });
    const sent = producer.requests.at(-1) as Sent;
    return sent.messages.map((message, index) => kafkaMessage(firstOffset + index, message.headers));
  }

  async function deliverBatch(handler: (payload: { batch: TestBatch }) => Promise<void>, batch: TestBatch) {
    await consumer.run({ eachBatch: handler });
    const eachBatch = consumer.runConfig?.eachBatch;
    if (eachBatch === undefined) throw new Error('run() did not get eachBatch');
    return eachBatch({ batch, resolveOffset: () => {}, heartbeat: async () => {}, isRunning: () => true });
  }

  it('gives the batch one process span linked to every message creation context', async () => {
    const messages = await producedMessages(3);
    const sends = otel.spansOfKind(SpanKind.PRODUCER);
    let active: string | undefined;
    await deliverBatch(
      async () => {
        active = trace.getActiveSpan()?.spanContext().spanId;
      },
      kafkaBatch('orders', 1, messages),
    );
    const [batchSpan] = otel.spansOfKind(SpanKind.CONSUMER);
    expect(batchSpan?.name).toBe('process orders');
    expect(active).toBe(batchSpan?.spanContext().spanId);
    expect(batchSpan?.parentSpanContext).toBeUndefined();
    expect(batchSpan?.links.map((link) => link.context.spanId)).toEqual(sends.map((span) => span.spanContext().spanId));
    expect(batchSpan?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.batch.message_count': 3,
      'messaging.destination.partition.id': '1',
      'messaging.consumer.group.name': 'stats-group',
    });
  });

  it('records per-message metrics once per message and the process duration once per batch', async () => {
    const messages = await producedMessages(4);
    await deliverBatch(async () => {}, kafkaBatch('orders', 0, messages));
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('messaging.client.consumed.messages'))).toBe(4);
    expect(sumOf(metrics.get('mqtrail.delivery.latency'))).toBe(4);
    expect(sumOf(metrics.get('mqtrail.chain.latency'))).toBe(4);
    expect(sumOf(metrics.get('messaging.process.duration'))).toBe(1);
  });

  it('counts messages of a replayed batch as duplicates', async () => {
    const messages = await producedMessages(2);
    await deliverBatch(async () => {}, kafkaBatch('orders', 0, messages));
    await deliverBatch(async () => {}, kafkaBatch('orders', 0, messages));
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.duplicate.messages'))).toBe(2);
  });

  it('does not count the retry of a failed batch as duplicates', async () => {
    const messages = await producedMessages(2);
    await expect(
      deliverBatch(
        async () => {
          throw new Error('transient');
        },
        kafkaBatch('orders', 0, messages),
      ),
    ).rejects.toThrow('transient');
    await deliverBatch(async () => {}, kafkaBatch('orders', 0, messages));
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.duplicate.messages'))).toBe(0);
  });

  it('records a batch handler error and rethrows it unchanged', async () => {
    const failure = new RangeError('batch failed');
    await expect(
      deliverBatch(
        async () => {
          throw failure;
        },
        kafkaBatch('orders', 0, await producedMessages(1)),
      ),
    ).rejects.toBe(failure);
    const [batchSpan] = otel.spansOfKind(SpanKind.CONSUMER);
    expect(batchSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(batchSpan?.attributes['error.type']).toBe('RangeError');
  });

  describe('traceBatchMessage', () => {
    async function handleEach(
      batch: TestBatch,
      handle: (message: KafkaMessage) => Promise<void> | void,
    ): Promise<void> {
      await deliverBatch(async ({ batch: delivered }) => {
        for (const message of delivered.messages as KafkaMessage[]) {
          await traceBatchMessage(delivered as unknown as Batch, message, () => handle(message));
        }
      }, batch);
    }

    it('runs each message in its own process span, child of its send span', async () => {
      const messages = await producedMessages(2);
      const sends = otel.spansOfKind(SpanKind.PRODUCER);
      const active: (string | undefined)[] = [];
      await handleEach(kafkaBatch('orders', 0, messages), () => {
        active.push(trace.getActiveSpan()?.spanContext().spanId);
      });
      const consumerSpans = otel.spansOfKind(SpanKind.CONSUMER);
      const perMessage = consumerSpans.filter((span) => span.attributes['messaging.batch.message_count'] === undefined);
      expect(perMessage).toHaveLength(2);
      perMessage.forEach((span, index) => {
        expect(span.name).toBe('process orders');
        expect(span.parentSpanContext?.spanId).toBe(sends[index]?.spanContext().spanId);
        expect(span.attributes['messaging.kafka.offset']).toBe(index);
        expect(active[index]).toBe(span.spanContext().spanId);
      });
      // Metrics were counted by the batch, not again per message.
      const metrics = await otel.collect();
      expect(sumOf(metrics.get('messaging.client.consumed.messages'))).toBe(2);
    });

    it('with useLinksForConsume parents per-message spans to the batch span', async () => {
      await setup({ useLinksForConsume: true });
      const messages = await producedMessages(1);
      await handleEach(kafkaBatch('orders', 0, messages), () => {});
      const consumerSpans = otel.spansOfKind(SpanKind.CONSUMER);
      const batchSpan = consumerSpans.find((span) => span.attributes['messaging.batch.message_count'] === 1);
      const messageSpan = consumerSpans.find((span) => span !== batchSpan);
      expect(messageSpan?.parentSpanContext?.spanId).toBe(batchSpan?.spanContext().spanId);
      expect(messageSpan?.links).toHaveLength(1);
    });

    it('continues the chain from what the per-message handler sends', async () => {
      const messages = await producedMessages(1);
      await handleEach(kafkaBatch('orders', 0, messages), () =>
        producer.send({ topic: 'next', messages: [{ value: 'n' }] }).then(() => {}),
      );
      const forwarded = (producer.requests.at(-1) as Sent).messages[0]?.headers;
      expect(decodeChainHeader(forwarded?.[CHAIN_HEADER])?.hops).toBe(2);
    });

    it('marks a replayed message duplicate and records its error, rethrowing it unchanged', async () => {
      const messages = await producedMessages(1);
      await handleEach(kafkaBatch('orders', 0, messages), () => {});
      const failure = new Error('handler failed');
      await expect(
        handleEach(kafkaBatch('orders', 0, messages), () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      const perMessage = otel
        .spansOfKind(SpanKind.CONSUMER)
        .filter((span) => span.attributes['messaging.batch.message_count'] === undefined);
      expect(perMessage.map((span) => span.attributes['mqtrail.duplicate'])).toEqual([undefined, true]);
      expect(perMessage[1]?.status.code).toBe(SpanStatusCode.ERROR);
    });

    it('just runs the handler for a batch the instrumentation did not trace', () => {
      const batch = kafkaBatch('orders', 0, [kafkaMessage(1)]);
      const result = traceBatchMessage(batch as unknown as Batch, batch.messages[0] as KafkaMessage, () => 42);
      expect(result).toBe(42);
      expect(otel.counter.started).toBe(0);
    });
  });
});
