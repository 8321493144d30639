import { CHAIN_HEADER, decodeChainHeader, headerText } from '@mqtrail/core';
import { sumOf } from '@mqtrail/test-support';
import { trace } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Batch, KafkaMessage } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as attributes from './attributes';
import { traceBatchMessage } from './batch';
import { type FakeConsumer, type FakeProducer, kafkaBatch, kafkaMessage } from './test-support/fake-kafkajs';
import { instrumentedClients, setupOtel, type TestOtel } from './test-support/otel';

// The builders of span attributes, wrapped so a test sees whether they ran; they still do their work.
vi.mock('./attributes', async (importOriginal) => {
  const original = await importOriginal<typeof import('./attributes')>();
  return {
    ...original,
    sendAttributes: vi.fn(original.sendAttributes),
    processAttributes: vi.fn(original.processAttributes),
  };
});

type Sent = { messages: { headers: Record<string, unknown> }[] };
type Consumed = ReturnType<typeof kafkaMessage> & { headers: Record<string, unknown> };

// Head sampling that keeps nothing: the unsampled fast path for every message. What sampling cannot
// switch off must still happen: propagation, every metric, duplicate checks, commit accounting.
describe('unsampled messages (the fast path)', () => {
  let otel: TestOtel;
  let producer: FakeProducer;
  let consumer: FakeConsumer;
  let exporter: InMemorySpanExporter;
  const hooks = { producerHook: vi.fn(), consumerHook: vi.fn() };

  beforeEach(() => {
    otel = setupOtel(hooks);
    exporter = new InMemorySpanExporter();
    otel.instrumentation.setTracerProvider(
      new TracerProvider({
        sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
        spanProcessors: [new SimpleSpanProcessor({ exporter })],
      }),
    );
    ({ producer, consumer } = instrumentedClients(otel, 'billing', 'billing-group'));
  });
  afterEach(async () => {
    await otel.shutdown();
    vi.clearAllMocks();
  });

  /** Sends `count` messages through the instrumented producer and returns them as consumed. */
  async function produced(count: number): Promise<Consumed[]> {
    const user = { app: 'kept' };
    await producer.send({
      topic: 'orders',
      messages: Array.from({ length: count }, () => ({ value: 'v', headers: user })),
    });
    expect(user).toEqual({ app: 'kept' });
    const sent = producer.requests.at(-1) as Sent;
    return sent.messages.map((message, offset) => ({ ...kafkaMessage(offset), headers: message.headers }));
  }

  it('send with nothing built and no hook run, each message with its own unsampled creation context and the chain', async () => {
    const messages = await produced(2);
    expect(hooks.producerHook).not.toHaveBeenCalled();
    expect(attributes.sendAttributes).not.toHaveBeenCalled();
    const parents = messages.map((message) =>
      /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(headerText(message.headers.traceparent) ?? ''),
    );
    expect(parents.every((match) => match !== null)).toBe(true);
    expect(parents[0]?.[2]).not.toBe(parents[1]?.[2]);
    expect(messages.map((message) => decodeChainHeader(message.headers[CHAIN_HEADER])?.hops)).toEqual([1, 1]);
    expect(messages[0]?.headers.app).toBe('kept');
    expect(exporter.getFinishedSpans()).toEqual([]);
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('messaging.client.sent.messages'), { 'messaging.destination.name': 'orders' })).toBe(2);
    expect(sumOf(metrics.get('messaging.client.operation.duration'), { 'messaging.operation.name': 'send' })).toBe(1);
  });

  it('process with nothing built and no hook run, yet carry the trace and chain on and count, deduplicate and settle', async () => {
    const [first] = await produced(1);
    if (first === undefined) throw new Error('nothing sent');
    const upstreamTrace = headerText(first.headers.traceparent)?.split('-')[1];
    const handlerTraces: (string | undefined)[] = [];
    await consumer.run({
      eachMessage: async () => {
        handlerTraces.push(trace.getActiveSpan()?.spanContext().traceId);
        await producer.send({ topic: 'payments', messages: [{ value: 'next' }] });
      },
    });
    const eachMessage = consumer.runConfig?.eachMessage;
    if (eachMessage === undefined) throw new Error('run() did not get eachMessage');
    // The same record twice (a replay after a rebalance): the second is a duplicate.
    for (let delivery = 0; delivery < 2; delivery++) {
      await eachMessage({
        topic: 'orders',
        partition: 0,
        message: first,
        heartbeat: async () => {},
        pause: () => () => {},
      });
    }
    consumer.emit(consumer.events.COMMIT_OFFSETS, {
      groupId: 'billing-group',
      topics: [{ topic: 'orders', partitions: [{ partition: '0', offset: '1' }] }],
    });

    expect(hooks.consumerHook).not.toHaveBeenCalled();
    expect(attributes.processAttributes).not.toHaveBeenCalled();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(handlerTraces).toEqual([upstreamTrace, upstreamTrace]);
    const onward = (producer.requests.at(-1) as Sent).messages[0]?.headers ?? {};
    expect(headerText(onward.traceparent)).toMatch(new RegExp(`^00-${upstreamTrace}-[0-9a-f]{16}-00$`));
    expect(decodeChainHeader(onward[CHAIN_HEADER])?.hops).toBe(2);

    const metrics = await otel.collect();
    const orders = { 'messaging.destination.name': 'orders' };
    expect(sumOf(metrics.get('messaging.client.consumed.messages'), orders)).toBe(2);
    expect(sumOf(metrics.get('messaging.process.duration'), orders)).toBe(2);
    expect(sumOf(metrics.get('mqtrail.delivery.latency'), orders)).toBe(2);
    expect(sumOf(metrics.get('mqtrail.chain.latency'), orders)).toBe(2);
    expect(sumOf(metrics.get('mqtrail.duplicate.messages'), orders)).toBe(1);
    expect(sumOf(metrics.get('mqtrail.settled.messages'), { ...orders, 'mqtrail.settle.outcome': 'commit' })).toBe(1);
  });

  it('batch with nothing built and no hook run for its messages, yet count and deduplicate them', async () => {
    const messages = await produced(3);
    const batch = kafkaBatch('orders', 0, [...messages, messages[0] as Consumed]);
    await consumer.run({
      eachBatch: async ({ batch: delivered }: { batch: Batch }) => {
        for (const message of delivered.messages) {
          await traceBatchMessage(delivered, message as KafkaMessage, async () => {});
        }
      },
    });
    const eachBatch = consumer.runConfig?.eachBatch;
    if (eachBatch === undefined) throw new Error('run() did not get eachBatch');
    await eachBatch({ batch, resolveOffset: () => {}, heartbeat: async () => {}, isRunning: () => true });

    expect(hooks.consumerHook).not.toHaveBeenCalled();
    expect(attributes.processAttributes).not.toHaveBeenCalled();
    expect(exporter.getFinishedSpans()).toEqual([]);
    const metrics = await otel.collect();
    const orders = { 'messaging.destination.name': 'orders' };
    expect(sumOf(metrics.get('messaging.client.consumed.messages'), orders)).toBe(4);
    expect(sumOf(metrics.get('mqtrail.delivery.latency'), orders)).toBe(4);
    expect(sumOf(metrics.get('mqtrail.duplicate.messages'), orders)).toBe(1);
  });
});

describe('(control) sampled messages', () => {
  it('do run the same builders and hooks', async () => {
    const hooks = { producerHook: vi.fn(), consumerHook: vi.fn() };
    const otel = setupOtel(hooks);
    const { producer, consumer } = instrumentedClients(otel, 'billing', 'billing-group');
    await producer.send({ topic: 'orders', messages: [{ value: 'v' }] });
    await consumer.run({ eachMessage: async () => {} });
    const headers = (producer.requests.at(-1) as Sent).messages[0]?.headers;
    await consumer.runConfig?.eachMessage?.({ topic: 'orders', partition: 0, message: kafkaMessage(0, headers) });
    expect(hooks.producerHook).toHaveBeenCalledTimes(1);
    expect(hooks.consumerHook).toHaveBeenCalledTimes(1);
    expect(attributes.sendAttributes).toHaveBeenCalledTimes(1);
    expect(attributes.processAttributes).toHaveBeenCalledTimes(1);
    await otel.shutdown();
    vi.clearAllMocks();
  });
});
