import { CHAIN_HEADER, decodeChainHeader, encodeChainHeader, headerGetter } from '@mqtrail/core';
import { captureDiagErrors, sumOf } from '@mqtrail/test-support';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type FakeConsumer,
  type FakeKafkajs,
  type FakeProducer,
  fakeKafkajs,
  kafkaMessage,
} from './test-support/fake-kafkajs';
import { setupOtel, type TestOtel } from './test-support/otel';
import type { KafkaJsInstrumentationConfig } from './types';

type Sent = { messages: { headers: Record<string, unknown> }[] };

describe('consumer eachMessage', () => {
  let otel: TestOtel;
  let kafkajs: FakeKafkajs;
  let producer: FakeProducer;
  let consumer: FakeConsumer;

  async function setup(config: KafkaJsInstrumentationConfig = {}) {
    await otel?.shutdown();
    otel = setupOtel(config);
    kafkajs = otel.patch(fakeKafkajs());
    const kafka = new kafkajs.Kafka({ clientId: 'billing', brokers: ['127.0.0.1:9092'] });
    producer = kafka.producer();
    consumer = kafka.consumer({ groupId: 'billing-group' });
  }
  beforeEach(() => setup());
  afterEach(() => otel.shutdown());

  /** Headers of a message the instrumented producer sent. */
  async function producedHeaders(topic = 'orders'): Promise<Record<string, unknown>> {
    await producer.send({ topic, messages: [{ value: 'v' }] });
    const sent = producer.requests.at(-1) as Sent;
    const headers = sent.messages[0]?.headers;
    if (headers === undefined) throw new Error('nothing sent');
    return headers;
  }

  /** Runs the consumer with `handler` and delivers one message the way kafkajs's runner does. */
  async function deliver(
    handler: (payload: unknown) => Promise<void>,
    message: ReturnType<typeof kafkaMessage>,
    topic = 'orders',
    partition = 0,
  ) {
    const config = { eachMessage: handler, autoCommit: true };
    await consumer.run(config);
    const eachMessage = consumer.runConfig?.eachMessage;
    if (eachMessage === undefined) throw new Error('run() did not get eachMessage');
    return eachMessage({ topic, partition, message, heartbeat: async () => {}, pause: () => () => {} });
  }

  function processSpans() {
    return otel.spansOfKind(SpanKind.CONSUMER);
  }

  it('runs the handler inside a CONSUMER process span parented to and linked to the send span', async () => {
    const headers = await producedHeaders();
    const [send] = otel.spansOfKind(SpanKind.PRODUCER);
    let active: string | undefined;
    await deliver(
      async () => {
        active = trace.getActiveSpan()?.spanContext().spanId;
      },
      kafkaMessage(7, headers, { key: Buffer.from('order-7') }),
    );

    const [process] = processSpans();
    expect(process?.name).toBe('process orders');
    expect(active).toBe(process?.spanContext().spanId);
    expect(process?.spanContext().traceId).toBe(send?.spanContext().traceId);
    expect(process?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    expect(process?.links.map((link) => link.context.spanId)).toEqual([send?.spanContext().spanId]);
    // The link repeats the parent: marked child_of, so Jaeger keeps the CHILD_OF reference.
    expect(process?.links[0]?.attributes).toEqual({ 'opentracing.ref_type': 'child_of' });
    expect(process?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '0',
      'messaging.consumer.group.name': 'billing-group',
      'messaging.kafka.offset': 7,
      'messaging.kafka.message.key': 'order-7',
      'messaging.client.id': 'billing',
      'mqtrail.chain.hops': 1,
    });
  });

  it('with useLinksForConsume keeps the ambient parent and links the send span', async () => {
    await setup({ useLinksForConsume: true });
    const headers = await producedHeaders();
    const [send] = otel.spansOfKind(SpanKind.PRODUCER);
    await deliver(async () => {}, kafkaMessage(1, headers));
    const [process] = processSpans();
    expect(process?.parentSpanContext).toBeUndefined();
    expect(process?.spanContext().traceId).not.toBe(send?.spanContext().traceId);
    expect(process?.links[0]?.context.spanId).toBe(send?.spanContext().spanId);
    expect(process?.links[0]?.attributes?.['opentracing.ref_type']).toBeUndefined();
  });

  it('ends the span when the handler settles, not before', async () => {
    let release: () => void = () => {};
    const handled = deliver(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
      kafkaMessage(1),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(otel.counter.started).toBe(1);
    expect(processSpans()).toHaveLength(0);
    release();
    await handled;
    expect(processSpans()).toHaveLength(1);
  });

  it('records a handler error on the span and rethrows the same error', async () => {
    const failure = new TypeError('bad order');
    await expect(
      deliver(async () => {
        throw failure;
      }, kafkaMessage(1)),
    ).rejects.toBe(failure);
    const [process] = processSpans();
    expect(process?.status.code).toBe(SpanStatusCode.ERROR);
    expect(process?.attributes['error.type']).toBe('TypeError');
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('messaging.process.duration'), { 'error.type': 'TypeError' })).toBe(1);
  });

  it('rethrows a synchronous throw unchanged too', async () => {
    const failure = new Error('sync');
    await consumer.run({
      eachMessage: () => {
        throw failure;
      },
    });
    const eachMessage = consumer.runConfig?.eachMessage;
    expect(() => eachMessage?.({ topic: 'orders', partition: 0, message: kafkaMessage(1) })).toThrow(failure);
    expect(processSpans()).toHaveLength(1);
  });

  it('does not modify the config object passed to run', async () => {
    const handler = async () => {};
    const config = { eachMessage: handler, autoCommit: false };
    await consumer.run(config);
    expect(config.eachMessage).toBe(handler);
    expect(consumer.runConfig).not.toBe(config);
    expect(consumer.runConfig?.autoCommit).toBe(false);
  });

  it('continues the trace and the chain from what the handler sends', async () => {
    const headers = {
      ...(await producedHeaders()),
      [CHAIN_HEADER]: encodeChainHeader({ sentAt: 2000, originAt: 1000, hops: 1 }),
    };
    await deliver(
      async () => {
        await producer.send({ topic: 'invoices', messages: [{ value: 'i' }] });
      },
      kafkaMessage(3, headers),
    );
    const [process] = processSpans();
    const sends = otel.spansOfKind(SpanKind.PRODUCER);
    const resend = sends.find((span) => span.name === 'send invoices');
    expect(resend?.parentSpanContext?.spanId).toBe(process?.spanContext().spanId);
    const forwarded = (producer.requests.at(-1) as Sent).messages[0]?.headers;
    expect(decodeChainHeader(forwarded?.[CHAIN_HEADER])).toMatchObject({ originAt: 1000, hops: 2 });
    const next = trace.getSpanContext(propagation.extract(context.active(), forwarded, headerGetter));
    expect(next?.spanId).toBe(resend?.spanContext().spanId);
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.chain.latency'))).toBe(1);
  });

  it.each([
    ['no headers', undefined],
    ['garbage values', { traceparent: 42, mqtrail: { nested: true }, tracestate: [null] }],
    ['oversized values', { traceparent: 'x'.repeat(100_000), mqtrail: Buffer.alloc(50_000, 1) }],
    ['binary values', { traceparent: Buffer.from([0xff, 0xfe, 0x00, 0x81]), mqtrail: Buffer.from([0xc3, 0x28]) }],
    ['another tracer', { 'uber-trace-id': 'abc:def:0:1', b3: '80f198ee56343ba8-e457b5a2e4d86bd1-1' }],
    ['a foreign mqtrail header', { traceparent: 'not-a-traceparent', mqtrail: '2;s=1;o=1;h=1' }],
    ['a malformed mqtrail header', { mqtrail: '1;s=abc;o=1;h=0' }],
    ['headers not an object', 'just a string'],
  ])('consumes a message with %s as a message without context', async (_case, headers) => {
    let ran = false;
    await deliver(
      async () => {
        ran = true;
      },
      kafkaMessage(1, headers),
    );
    expect(ran).toBe(true);
    const [process] = processSpans();
    expect(process?.parentSpanContext).toBeUndefined();
    expect(process?.links).toEqual([]);
    expect(process?.attributes['mqtrail.chain.hops']).toBe(1);
  });

  it('runs the consumer hook guarded, with topic, partition and message', async () => {
    const errors = captureDiagErrors();
    const seen: unknown[] = [];
    await setup({
      consumerHook: (span, info) => {
        seen.push(info);
        span.setAttribute('app.order', String(info.message.value));
        throw new Error('hook bug');
      },
    });
    const message = kafkaMessage(4, {}, { value: Buffer.from('o-4') });
    await deliver(async () => {}, message, 'orders', 2);
    errors.restore();
    expect(seen).toEqual([{ topic: 'orders', partition: 2, message }]);
    expect(processSpans()[0]?.attributes['app.order']).toBe('o-4');
    expect(errors.messages).toEqual([expect.stringContaining('consumerHook threw')]);
  });

  it('counts a replay of the same offset in the same group as a duplicate', async () => {
    await deliver(async () => {}, kafkaMessage(5));
    await deliver(async () => {}, kafkaMessage(5));
    await deliver(async () => {}, kafkaMessage(6));
    const spans = processSpans();
    expect(spans.map((span) => span.attributes['mqtrail.duplicate'])).toEqual([undefined, true, undefined]);
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.duplicate.messages'), { 'messaging.consumer.group.name': 'billing-group' })).toBe(
      1,
    );
    expect(sumOf(metrics.get('messaging.client.consumed.messages'))).toBe(3);
  });

  it('counts a producer retry of a traced record (same trace context, new offset) as a duplicate', async () => {
    const traced = { traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01') };
    await deliver(async () => {}, kafkaMessage(20, traced));
    await deliver(async () => {}, kafkaMessage(21, traced));
    await deliver(async () => {}, kafkaMessage(20, traced));
    const spans = processSpans();
    expect(spans.map((span) => span.attributes['mqtrail.duplicate'])).toEqual([undefined, true, true]);
  });

  it('does not count kafkajs retrying a message whose handler failed as a duplicate', async () => {
    await expect(
      deliver(async () => {
        throw new Error('transient');
      }, kafkaMessage(8)),
    ).rejects.toThrow('transient');
    await deliver(async () => {}, kafkaMessage(8));
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.duplicate.messages'))).toBe(0);
  });

  it('records delivery latency from the Kafka timestamp when there is no chain header', async () => {
    await deliver(async () => {}, kafkaMessage(1, {}, { timestamp: String(Date.now() - 5_000) }));
    const metrics = await otel.collect();
    const latency = metrics.get('mqtrail.delivery.latency')?.dataPoints[0]?.value as { sum: number };
    expect(latency.sum).toBeGreaterThanOrEqual(5);
  });

  it('ignores topics from ignoreTopics: the handler runs untraced', async () => {
    await setup({ ignoreTopics: [/^audit/] });
    let ran = false;
    await deliver(
      async () => {
        ran = true;
      },
      kafkaMessage(1),
      'audit-log',
    );
    expect(ran).toBe(true);
    expect(otel.counter.started).toBe(0);
  });

  it('passes payloads that are not shaped like kafkajs payloads straight to the handler', async () => {
    const payloads: unknown[] = [];
    await consumer.run({ eachMessage: async (payload: unknown) => void payloads.push(payload) });
    await consumer.runConfig?.eachMessage?.(null);
    await consumer.runConfig?.eachMessage?.({ topic: 'orders', partition: 'zero', message: {} });
    expect(payloads).toEqual([null, { topic: 'orders', partition: 'zero', message: {} }]);
    expect(otel.counter.started).toBe(0);
  });

  it('counts offset commits as settled messages, once per delivered message', async () => {
    for (const offset of [10, 11, 12]) await deliver(async () => {}, kafkaMessage(offset));
    consumer.emit(consumer.events.COMMIT_OFFSETS, {
      groupId: 'billing-group',
      memberId: 'm',
      groupGenerationId: 1,
      // kafkajs's own commits key partitions as object keys: they arrive as strings.
      topics: [{ topic: 'orders', partitions: [{ partition: '0', offset: '13' }] }],
    });
    // The same commit again (kafkajs commits on every batch end) settles nothing new.
    consumer.emit(consumer.events.COMMIT_OFFSETS, {
      groupId: 'billing-group',
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '13' }] }],
    });
    const metrics = await otel.collect();
    const settled = metrics.get('mqtrail.settled.messages');
    expect(sumOf(settled, { 'mqtrail.settle.outcome': 'commit', 'messaging.destination.name': 'orders' })).toBe(3);
    expect(settled?.dataPoints[0]?.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '0',
      'messaging.consumer.group.name': 'billing-group',
      'mqtrail.settle.outcome': 'commit',
    });
  });

  it('records consumer lag per topic, partition and group from END_BATCH_PROCESS', async () => {
    consumer.emit(consumer.events.END_BATCH_PROCESS, {
      topic: 'orders',
      partition: 3,
      highWatermark: '120',
      offsetLag: '19',
      offsetLagLow: '50',
      batchSize: 31,
      firstOffset: '70',
      lastOffset: '100',
      duration: 4,
    });
    const metrics = await otel.collect();
    const lag = metrics.get('mqtrail.kafka.consumer.lag');
    expect(lag?.dataPoints.map((point) => [point.value, point.attributes])).toEqual([
      [
        19,
        {
          'messaging.system': 'kafka',
          'messaging.operation.name': 'process',
          'messaging.destination.name': 'orders',
          'messaging.destination.partition.id': '3',
          'messaging.consumer.group.name': 'billing-group',
        },
      ],
    ]);
  });

  it('keeps listener failures away from kafkajs', () => {
    const errors = captureDiagErrors();
    const hostile = {
      get topics(): unknown[] {
        throw new Error('hostile payload');
      },
    };
    expect(() => consumer.emit(consumer.events.COMMIT_OFFSETS, hostile)).not.toThrow();
    errors.restore();
    expect(errors.messages).toEqual([expect.stringContaining('counting a kafkajs offset commit failed')]);
  });
});
