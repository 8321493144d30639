import { CHAIN_HEADER, decodeChainHeader } from '@mqtrail/core';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as attributes from './attributes';
import { type AmqpChannel, APIS, harness, until, VARIANTS } from './test-support/amqplib';
import type { AmqpMessage } from './types';

// The builders of span attributes, wrapped so a test sees whether they ran; they still do their work.
vi.mock('./attributes', async (importOriginal) => {
  const original = await importOriginal<typeof import('./attributes')>();
  return {
    ...original,
    publishAttributes: vi.fn(original.publishAttributes),
    deliveryAttributes: vi.fn(original.deliveryAttributes),
  };
});

// Head sampling that keeps nothing: the unsampled fast path for every message. What sampling cannot
// switch off must still happen: propagation, every metric, duplicate checks, settle outcomes.
const h = harness(VARIANTS[2]);
const api = APIS[0] as (typeof APIS)[0];
const QUEUE = 'unsampled-jobs';

afterEach(() => {
  h.tearDown();
  h.instrumentation.setTracerProvider(h.telemetry.tracerProvider);
  vi.mocked(attributes.publishAttributes).mockClear();
  vi.mocked(attributes.deliveryAttributes).mockClear();
});

/** The harness with `sampler` instead of its always-on provider; returns what was exported. */
function setUpUnsampled(sampler: Sampler = new AlwaysOffSampler()) {
  const hooks = {
    publishHook: vi.fn(),
    publishConfirmHook: vi.fn(),
    consumeHook: vi.fn(),
    consumeEndHook: vi.fn(),
  };
  h.setUp(hooks);
  const exporter = new InMemorySpanExporter();
  h.instrumentation.setTracerProvider(
    new TracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
  h.broker.declare(QUEUE);
  return { hooks, exporter };
}

function consumeAll(channel: AmqpChannel, onMessage: (message: AmqpMessage) => unknown) {
  return api.consume(channel, QUEUE, (message) => (message === null ? undefined : onMessage(message)));
}

describe('unsampled messages (the fast path)', () => {
  it('build no attributes or hook arguments and run no hook, yet propagate, count and settle every message', async () => {
    const { hooks, exporter } = setUpUnsampled();
    const producer = await api.open(h.loaded, h.connection, true);
    const consumer = await api.open(h.loaded, h.connection);
    const received: AmqpMessage[] = [];
    await consumeAll(consumer, (message) => {
      received.push(message);
      if (received.length === 1) consumer.ack?.(message);
      else consumer.nack?.(message, false, false);
    });
    const user = { app: 1 };
    for (const id of ['order-1', 'order-1']) {
      await new Promise((resolve) =>
        producer.sendToQueue?.(QUEUE, Buffer.from('x'), { messageId: id, headers: user }, resolve),
      );
    }
    await until(() => received.length === 2, 'two deliveries');

    for (const hook of Object.values(hooks)) expect(hook).not.toHaveBeenCalled();
    expect(attributes.publishAttributes).not.toHaveBeenCalled();
    expect(attributes.deliveryAttributes).not.toHaveBeenCalled();
    expect(exporter.getFinishedSpans()).toEqual([]);

    // Each message still goes out with its own creation context, flagged unsampled, and the chain.
    const headers = received.map((message) => message.properties.headers ?? {});
    const parents = headers.map((sent) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(sent.traceparent)));
    expect(parents.every((match) => match !== null)).toBe(true);
    expect(parents[0]?.[2]).not.toBe(parents[1]?.[2]);
    expect(headers.map((sent) => decodeChainHeader(sent[CHAIN_HEADER])?.hops)).toEqual([1, 1]);
    expect(headers[0]?.app).toBe(1);
    expect(user).toEqual({ app: 1 });

    const { count } = h.telemetry;
    const queue = { 'messaging.destination.name': QUEUE };
    expect(await count('messaging.client.sent.messages', queue)).toBe(2);
    expect(await count('messaging.client.operation.duration', { ...queue, 'messaging.operation.name': 'send' })).toBe(
      2,
    );
    expect(await count('messaging.client.consumed.messages', queue)).toBe(2);
    expect(await count('messaging.process.duration', queue)).toBe(2);
    expect(await count('mqtrail.delivery.latency', queue)).toBe(2);
    expect(await count('mqtrail.chain.latency', queue)).toBe(2);
    expect(await count('mqtrail.settled.messages', { ...queue, 'mqtrail.settle.outcome': 'ack' })).toBe(1);
    expect(await count('mqtrail.settled.messages', { ...queue, 'mqtrail.settle.outcome': 'drop' })).toBe(1);
    // Same message id twice in one queue: a duplicate, whether sampled or not.
    expect(await count('mqtrail.duplicate.messages', queue)).toBe(1);
  });

  it('follow an unsampled upstream under ParentBased: the redelivery is counted, nothing is recorded', async () => {
    const { hooks, exporter } = setUpUnsampled(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
    const unsampledParent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    h.broker.inject(QUEUE, { redelivered: true, properties: { headers: { traceparent: unsampledParent } } });
    const consumer = await api.open(h.loaded, h.connection);
    await new Promise<void>((resolve) => {
      void consumeAll(consumer, (message) => {
        // Published from inside the handler: the chain goes on and the trace id too, still unsampled.
        consumer.sendToQueue?.('onward', Buffer.from('y'));
        consumer.ack?.(message);
        resolve();
      });
    });
    const republished = h.broker.published.filter((message) => message.routingKey === 'onward');
    for (const hook of Object.values(hooks)) expect(hook).not.toHaveBeenCalled();
    expect(attributes.deliveryAttributes).not.toHaveBeenCalled();
    expect(exporter.getFinishedSpans()).toEqual([]);
    const onward = republished[0]?.properties?.headers as Record<string, unknown> | undefined;
    expect(String(onward?.traceparent)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    expect(decodeChainHeader(onward?.[CHAIN_HEADER])?.hops).toBe(2);
    const queue = { 'messaging.destination.name': QUEUE };
    expect(await h.telemetry.count('mqtrail.redelivered.messages', queue)).toBe(1);
    expect(await h.telemetry.count('mqtrail.settled.messages', { ...queue, 'mqtrail.settle.outcome': 'ack' })).toBe(1);
  });

  it('(control) the same builders and hooks do run for sampled messages', async () => {
    const hooks = { publishHook: vi.fn(), consumeHook: vi.fn() };
    h.setUp(hooks);
    h.broker.declare(QUEUE);
    const channel = await api.open(h.loaded, h.connection);
    const received: AmqpMessage[] = [];
    await consumeAll(channel, (message) => received.push(message));
    channel.sendToQueue?.(QUEUE, Buffer.from('x'));
    await until(() => received.length === 1, 'one delivery');
    expect(hooks.publishHook).toHaveBeenCalledTimes(1);
    expect(hooks.consumeHook).toHaveBeenCalledTimes(1);
    expect(attributes.publishAttributes).toHaveBeenCalledTimes(1);
    expect(attributes.deliveryAttributes).toHaveBeenCalledTimes(1);
  });
});
