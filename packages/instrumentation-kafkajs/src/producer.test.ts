import { CHAIN_HEADER, decodeChainHeader, headerGetter, setChainFacts } from '@mqtrail/core';
import { captureDiagErrors, sumOf } from '@mqtrail/test-support';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeKafkajs, type FakeProducer, fakeKafkajs } from './test-support/fake-kafkajs';
import { setupOtel, type TestOtel } from './test-support/otel';
import type { KafkaJsInstrumentationConfig } from './types';

type Sent = { topic?: string; messages: { headers: Record<string, unknown> }[] };

describe('producer send and sendBatch', () => {
  let otel: TestOtel;
  let kafkajs: FakeKafkajs;
  let producer: FakeProducer;

  function setup(config: KafkaJsInstrumentationConfig = {}) {
    otel = setupOtel(config);
    kafkajs = otel.patch(fakeKafkajs());
    producer = new kafkajs.Kafka({
      clientId: 'shop',
      brokers: ['kafka-1.local:9093', 'kafka-2.local:9093'],
    }).producer();
  }
  beforeEach(() => setup());
  afterEach(async () => {
    vi.restoreAllMocks();
    await otel.shutdown();
  });

  it('gives each message its own PRODUCER span and injects that span into a copy of its headers', async () => {
    const userHeaders = { app: 'kept' };
    const messages = [
      { key: 'k1', value: 'one', headers: userHeaders },
      { key: 'k2', value: 'two' },
    ];
    const record = { topic: 'orders', messages };
    const frozen = structuredClone(record);

    const result = await producer.send(record);

    expect(result).toEqual([{ topicName: 'orders', partition: 0, errorCode: 0, baseOffset: '0' }]);
    expect(record).toEqual(frozen);
    expect(record.messages).toBe(messages);
    expect(userHeaders).toEqual({ app: 'kept' });

    const [sent] = producer.requests as Sent[];
    expect(sent).not.toBe(record);
    expect(sent?.messages).not.toBe(messages);
    const spans = otel.spansOfKind(SpanKind.PRODUCER);
    expect(spans.map((span) => span.name)).toEqual(['send orders', 'send orders']);
    spans.forEach((span, index) => {
      const headers = sent?.messages[index]?.headers;
      expect(headers?.app).toBe(index === 0 ? 'kept' : undefined);
      const extracted = trace.getSpanContext(propagation.extract(context.active(), headers, headerGetter));
      expect(extracted?.spanId).toBe(span.spanContext().spanId);
      expect(decodeChainHeader(headers?.[CHAIN_HEADER])?.hops).toBe(1);
    });
  });

  it.each([
    ['the chainHeader option', { chainHeader: false }, {}],
    ['MQTRAIL_CHAIN_HEADER=false', {}, { MQTRAIL_CHAIN_HEADER: 'false' }],
  ])('sends trace context only, without the chain header, when turned off by %s', async (_, config, env) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    setup(config);
    await producer.send({ topic: 'orders', messages: [{ value: 'one', headers: { app: 'kept' } }] });

    const [sent] = producer.requests as Sent[];
    expect(Object.keys(sent?.messages[0]?.headers ?? {}).sort()).toEqual(['app', 'traceparent']);
    vi.unstubAllEnvs();
  });

  it('copies only the caller’s own header keys, as kafkajs writes Object.keys of them', async () => {
    const headers = Object.assign(Object.create({ inherited: 'not sent by kafkajs' }), { own: 'y' });
    await producer.send({ topic: 'orders', messages: [{ value: 'v', headers }] });

    const [sent] = producer.requests as Sent[];
    expect(Object.keys(sent?.messages[0]?.headers ?? {}).sort()).toEqual(['mqtrail', 'own', 'traceparent']);
  });

  it('records messaging attributes, with the partition from the broker answer', async () => {
    await producer.send({ topic: 'orders', messages: [{ key: Buffer.from('order-1'), value: null }] });
    const [span] = otel.spans();
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '0',
      'messaging.kafka.message.key': 'order-1',
      'messaging.kafka.message.tombstone': true,
      'messaging.client.id': 'shop',
      'server.address': 'kafka-1.local',
      'server.port': 9093,
    });
    expect(span?.attributes['messaging.message.body.size']).toBeUndefined();
  });

  it('leaves the key out when captureMessageKey is false and adds the body size when asked', async () => {
    await otel.shutdown();
    setup({ captureMessageKey: false, captureBodySize: true });
    await producer.send({ topic: 'orders', messages: [{ key: 'secret', value: 'héllo' }] });
    const [span] = otel.spans();
    expect(span?.attributes['messaging.kafka.message.key']).toBeUndefined();
    expect(span?.attributes['messaging.message.body.size']).toBe(6);
  });

  it('does not guess the partition of messages the broker spread over several partitions', async () => {
    producer.answer = async () => [
      { topicName: 'orders', partition: 0, errorCode: 0 },
      { topicName: 'orders', partition: 1, errorCode: 0 },
    ];
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }, { value: 'b', partition: 1 }] });
    const [first, second] = otel.spans();
    expect(first?.attributes['messaging.destination.partition.id']).toBeUndefined();
    expect(second?.attributes['messaging.destination.partition.id']).toBe('1');
  });

  it('traces sendBatch per message across topics, copying topicMessages', async () => {
    const topicMessages = [
      { topic: 'orders', messages: [{ value: 'o1' }, { value: 'o2' }] },
      { topic: 'payments', messages: [{ value: 'p1' }] },
    ];
    const batch = { topicMessages, acks: -1 };
    const frozen = structuredClone(batch);
    await producer.sendBatch(batch);
    expect(batch).toEqual(frozen);
    const [sent] = producer.requests as { topicMessages: Sent[]; acks: number }[];
    expect(sent?.acks).toBe(-1);
    expect(sent?.topicMessages).not.toBe(topicMessages);
    expect(sent?.topicMessages.flatMap((entry) => entry.messages.map((m) => typeof m.headers.traceparent))).toEqual([
      'string',
      'string',
      'string',
    ]);
    expect(otel.spans().map((span) => span.name)).toEqual(['send orders', 'send orders', 'send payments']);
  });

  it('ends the spans only when the broker acknowledged', async () => {
    let acknowledge: () => void = () => {};
    producer.answer = () =>
      new Promise((resolve) => {
        acknowledge = () => resolve([{ topicName: 'orders', partition: 0, errorCode: 0 }]);
      });
    const sending = producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(otel.counter.started).toBe(1);
    expect(otel.spans()).toHaveLength(0);
    acknowledge();
    await sending;
    expect(otel.spans()).toHaveLength(1);
  });

  it('records a failed send on every span and rethrows the same error', async () => {
    class KafkaJSNumberOfRetriesExceeded extends Error {
      override name = 'KafkaJSNumberOfRetriesExceeded';
    }
    const failure = new KafkaJSNumberOfRetriesExceeded('broker gone');
    producer.answer = async () => {
      throw failure;
    };
    await expect(producer.send({ topic: 'orders', messages: [{ value: 'a' }, { value: 'b' }] })).rejects.toBe(failure);
    const spans = otel.spans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('KafkaJSNumberOfRetriesExceeded');
      expect(span.events.map((event) => event.name)).toContain('exception');
    }
    const metrics = await otel.collect();
    expect(
      sumOf(metrics.get('messaging.client.sent.messages'), { 'error.type': 'KafkaJSNumberOfRetriesExceeded' }),
    ).toBe(2);
    const duration = metrics.get('messaging.client.operation.duration');
    expect(
      sumOf(duration, { 'error.type': 'KafkaJSNumberOfRetriesExceeded', 'messaging.operation.name': 'send' }),
    ).toBe(1);
  });

  it('counts sent messages per message and send duration per call', async () => {
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    const metrics = await otel.collect();
    const sent = metrics.get('messaging.client.sent.messages');
    expect(sumOf(sent, { 'messaging.destination.name': 'orders', 'messaging.destination.partition.id': '0' })).toBe(3);
    expect(sumOf(metrics.get('messaging.client.operation.duration'), { 'messaging.destination.name': 'orders' })).toBe(
      1,
    );
  });

  it('runs the producer hook after the span started and before injection, guarded', async () => {
    const errors = captureDiagErrors();
    await otel.shutdown();
    setup({
      producerHook: (span, info) => {
        span.setAttribute('app.order', String(info.message.value));
        (info.message.headers as Record<string, string>).traceparent = 'tampered';
        throw new Error('hook bug');
      },
    });
    const message = { value: 'o-1', headers: {} };
    await producer.send({ topic: 'orders', messages: [message] });
    const [span] = otel.spans();
    expect(span?.attributes['app.order']).toBe('o-1');
    const [sent] = producer.requests as Sent[];
    expect(String(sent?.messages[0]?.headers.traceparent)).toContain(span?.spanContext().spanId);
    errors.restore();
    expect(errors.messages).toEqual([expect.stringContaining('producerHook threw')]);
  });

  it('carries origin and hop count forward when sending while processing a consumed message', async () => {
    const consumed = setChainFacts(context.active(), { sentAt: 1000, originAt: 500, hops: 2 });
    await context.with(consumed, () => producer.send({ topic: 'next', messages: [{ value: 'x' }] }));
    const [sent] = producer.requests as Sent[];
    const chain = decodeChainHeader(sent?.messages[0]?.headers[CHAIN_HEADER]);
    expect(chain).toMatchObject({ originAt: 500, hops: 3 });
  });

  it('keeps the caller trace as parent of send spans', async () => {
    const parent = otel.tracer.startSpan('http request');
    await context.with(trace.setSpan(context.active(), parent), () =>
      producer.send({ topic: 'orders', messages: [{ value: 'a' }] }),
    );
    expect(otel.spans()[0]?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
  });

  it('leaves ignored topics alone: no span, same message objects', async () => {
    await otel.shutdown();
    setup({ ignoreTopics: ['audit', /^internal\./g] });
    const audit = { topic: 'audit', messages: [{ value: 'a' }] };
    await producer.send(audit);
    await producer.send({ topic: 'internal.x', messages: [{ value: 'b' }] });
    await producer.send({ topic: 'internal.y', messages: [{ value: 'c' }] });
    expect(producer.requests[0]).toBe(audit);
    const mixed = {
      topicMessages: [
        { topic: 'audit', messages: [{ value: 'a' }] },
        { topic: 'orders', messages: [{ value: 'o' }] },
      ],
    };
    await producer.sendBatch(mixed);
    const sent = producer.requests[3] as { topicMessages: unknown[] };
    expect(sent.topicMessages[0]).toBe(mixed.topicMessages[0]);
    expect(otel.spans().map((span) => span.name)).toEqual(['send orders']);
  });

  it.each([
    ['no messages', { topic: 'orders' }],
    ['messages not an array', { topic: 'orders', messages: 'nope' }],
    ['a message without value', { topic: 'orders', messages: [{ key: 'k' }] }],
    ['a null message', { topic: 'orders', messages: [null] }],
    ['no topic', { messages: [{ value: 'a' }] }],
    ['not an object', 42],
  ])('passes input kafkajs rejects (%s) through untouched, without spans', async (_case, record) => {
    await producer.send(record);
    expect(producer.requests[0]).toBe(record);
    expect(otel.counter.started).toBe(0);
  });

  it('passes a sendBatch with a malformed entry through untouched', async () => {
    const batch = { topicMessages: [{ topic: 'orders', messages: [{ value: 'a' }] }, { topic: 'x' }] };
    await producer.sendBatch(batch);
    expect(producer.requests[0]).toBe(batch);
    expect(otel.counter.started).toBe(0);
  });

  it('sends untraced instead of throwing into the app when its own bookkeeping fails', async () => {
    const errors = captureDiagErrors();
    const message = {
      value: 'a',
      get key(): string {
        throw new Error('hostile getter');
      },
    };
    const record = { topic: 'orders', messages: [{ value: 'fine' }, message] };
    await expect(producer.send(record)).resolves.toBeDefined();
    errors.restore();
    expect(producer.requests[0]).toBe(record);
    // Spans had started before the failure; none may be left open.
    expect(otel.counter.started).toBeGreaterThanOrEqual(1);
    expect(otel.counter.ended).toBe(otel.counter.started);
    expect(errors.messages).toEqual([expect.stringContaining('tracing a kafkajs send failed')]);
  });
});
