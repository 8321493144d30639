import { installTestTelemetry } from '@mqtrail/test-support';
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { beforeEach, describe, expect, it } from 'vitest';
import { CHAIN_HEADER, decodeChainHeader, getChainFacts } from './chain-header';
import { creationIdentity, extractMessage, startConsumeSpan } from './consume';
import { DuplicateDetector } from './duplicate-detector';
import { MessageProcess } from './message-process';
import { MessagingMetrics } from './metrics';
import { injectHeaders, startSendSpan } from './produce';
import { type SemconvMode, semconvNames } from './semconv-stability';

const telemetry = installTestTelemetry();
const tracer = trace.getTracer('test');

function send(destination: string, headers: unknown = { user: 'x' }) {
  const sent = startSendSpan(tracer, { system: 'kafka', destination });
  const wire = injectHeaders(sent.context, sent.chain, headers);
  sent.span.end();
  return { sent, wire };
}

describe('send → consume', () => {
  beforeEach(() => telemetry.reset());

  it('gives each message its own PRODUCER span, injected into a copy of the headers', async () => {
    const original = { user: 'x' };
    const { sent, wire } = send('orders', original);
    expect(original).toEqual({ user: 'x' });
    expect(wire.user).toBe('x');
    expect(wire.traceparent).toContain(sent.span.spanContext().spanId);
    expect(decodeChainHeader(wire[CHAIN_HEADER])).toMatchObject({ hops: 1 });
    const [span] = await telemetry.spans();
    expect(span?.name).toBe('send orders');
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'orders',
    });
  });

  it('parents the process span on the creation context and links to it', async () => {
    const { sent, wire } = send('orders');
    const consumed = startConsumeSpan(tracer, {
      system: 'kafka',
      destination: 'orders',
      message: extractMessage(wire),
      useLinksForConsume: false,
      ambient: ROOT_CONTEXT,
    });
    consumed.span.end();
    const span = (await telemetry.spans()).find((s) => s.name === 'process orders');
    expect(span?.kind).toBe(SpanKind.CONSUMER);
    expect(span?.parentSpanContext?.spanId).toBe(sent.span.spanContext().spanId);
    expect(span?.links.map((l) => l.context.spanId)).toEqual([sent.span.spanContext().spanId]);
    // Marked so Jaeger keeps the CHILD_OF edge when it folds the link into the parent reference.
    expect(span?.links[0]?.attributes).toEqual({ 'opentracing.ref_type': 'child_of' });
    expect(span?.spanContext().traceId).toBe(sent.span.spanContext().traceId);
  });

  it('with useLinksForConsume keeps the ambient parent and only links', async () => {
    const { sent, wire } = send('orders');
    const ambient = tracer.startSpan('ambient');
    const consumed = startConsumeSpan(tracer, {
      system: 'kafka',
      destination: 'orders',
      message: extractMessage(wire),
      useLinksForConsume: true,
      ambient: trace.setSpan(ROOT_CONTEXT, ambient),
    });
    consumed.span.end();
    ambient.end();
    const span = (await telemetry.spans()).find((s) => s.name === 'process orders');
    expect(span?.parentSpanContext?.spanId).toBe(ambient.spanContext().spanId);
    expect(span?.links[0]?.context.spanId).toBe(sent.span.spanContext().spanId);
    expect(span?.links[0]?.attributes).toBeUndefined();
  });

  it('carries origin and hop count forward when a consumer sends', async () => {
    const first = send('orders');
    const consumed = startConsumeSpan(tracer, {
      system: 'kafka',
      destination: 'orders',
      message: extractMessage(first.wire),
      useLinksForConsume: false,
    });
    const second = context.with(consumed.context, () => send('payments'));
    consumed.span.end();
    const chain = decodeChainHeader(second.wire[CHAIN_HEADER]);
    expect(chain?.hops).toBe(2);
    expect(chain?.originAt).toBe(first.sent.chain.originAt);
    expect(second.sent.span.spanContext().traceId).toBe(first.sent.span.spanContext().traceId);
  });

  it('treats garbage headers as a message without context, starting a chain at hop 1', async () => {
    const message = extractMessage({ traceparent: Buffer.from([0xff, 0x00]), mqtrail: 'nope', baggage: 42 });
    expect(message.creation).toBeUndefined();
    expect(message.chain).toBeUndefined();
    const consumed = startConsumeSpan(tracer, {
      system: 'rabbitmq',
      destination: 'q',
      message,
      useLinksForConsume: false,
      fallbackSentAt: 1_000,
      ambient: ROOT_CONTEXT,
    });
    consumed.span.end();
    expect(consumed.chain).toEqual({ sentAt: 1_000, originAt: 1_000, hops: 1 });
    expect(getChainFacts(consumed.context)).toBe(consumed.chain);
    expect(consumed.chainFromHeader).toBe(false);
    expect((await telemetry.spans()).at(-1)?.links).toEqual([]);
  });

  it('builds the extra attributes at start under a sampled parent, after it for a root, never when unsampled', async () => {
    const { wire } = send('orders');
    const unsampled = { ...wire, traceparent: String(wire.traceparent).replace(/-01$/, '-00') };
    const builds: string[] = [];
    const consume = (name: string, headers: unknown) =>
      startConsumeSpan(tracer, {
        system: 'kafka',
        destination: name,
        message: extractMessage(headers),
        useLinksForConsume: false,
        ambient: ROOT_CONTEXT,
        attributes: () => {
          builds.push(name);
          return { 'messaging.message.id': name };
        },
      }).span.end();
    consume('sampled', wire);
    consume('root', {});
    consume('unsampled', unsampled);
    expect(builds).toEqual(['sampled', 'root']);
    const spans = await telemetry.spans();
    for (const name of ['sampled', 'root']) {
      expect(spans.find((s) => s.name === `process ${name}`)?.attributes['messaging.message.id']).toBe(name);
    }
    expect(spans.find((s) => s.name === 'process unsampled')).toBeUndefined();
  });

  it('hands baggage from the headers to the handler context', async () => {
    const withBaggage = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: 'acme' } }));
    const wire = context.with(withBaggage, () => send('orders').wire);
    const consumed = startConsumeSpan(tracer, {
      system: 'kafka',
      destination: 'orders',
      message: extractMessage(wire),
      useLinksForConsume: false,
    });
    consumed.span.end();
    expect(propagation.getBaggage(consumed.context)?.getEntry('tenant')?.value).toBe('acme');
  });
});

describe('span attributes under OTEL_SEMCONV_STABILITY_OPT_IN', () => {
  beforeEach(() => telemetry.reset());

  it.each<[SemconvMode, Record<string, string>]>([
    ['old', { 'messaging.system': 'rabbitmq' }],
    ['new', { 'messaging.system.name': 'rabbitmq' }],
    ['dup', { 'messaging.system': 'rabbitmq', 'messaging.system.name': 'rabbitmq' }],
  ])('%s: send and process spans carry the system as %j', async (mode, system) => {
    const semconv = semconvNames(mode);
    const sent = startSendSpan(tracer, { system: 'rabbitmq', destination: 'orders', semconv });
    const wire = injectHeaders(sent.context, sent.chain, {});
    sent.span.end();
    startConsumeSpan(tracer, {
      system: 'rabbitmq',
      destination: 'orders',
      message: extractMessage(wire),
      useLinksForConsume: false,
      semconv,
    }).span.end();
    const spans = await telemetry.spans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      const systemAttributes = Object.fromEntries(
        Object.entries(span.attributes).filter(([key]) => key.startsWith('messaging.system')),
      );
      expect(systemAttributes, span.name).toEqual(system);
      expect(span.attributes['messaging.destination.name']).toBe('orders');
    }
  });
});

describe('MessageProcess', () => {
  beforeEach(() => telemetry.reset());
  const deps = () => ({
    tracer,
    metrics: new MessagingMetrics(telemetry.meterProvider.getMeter('test')),
    duplicates: new DuplicateDetector(),
  });

  it('ends once, records the outcome, the error and the metrics', async () => {
    const { wire } = send('orders');
    const d = deps();
    const message = extractMessage(wire);
    const options = {
      system: 'rabbitmq' as const,
      destination: 'orders',
      message,
      useLinksForConsume: false,
      labels: { system: 'rabbitmq' as const, operation: 'process', destination: 'orders' },
      duplicateScope: 'orders',
      identity: creationIdentity(message),
    };
    expect(options.identity).toBe(`span:${message.creation?.spanId}`);
    const process = new MessageProcess(d, options);
    process.end({ outcome: 'drop', error: new TypeError('handler failed') });
    process.end({ outcome: 'ack' });
    const spans = (await telemetry.spans()).filter((s) => s.name === 'process orders');
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes).toMatchObject({ 'mqtrail.settle.outcome': 'drop', 'error.type': 'TypeError' });
    expect(spans[0]?.events.map((e) => e.name)).toEqual(['exception', 'settle drop']);

    const again = new MessageProcess(d, { ...options, redelivered: true });
    again.end({ outcome: 'ack' });
    expect(again.duplicate).toBe(true);
    const metrics = await telemetry.collectMetrics();
    expect(metrics.get('mqtrail.duplicate.messages')?.dataPoints[0]?.value).toBeGreaterThanOrEqual(1);
    expect(metrics.get('mqtrail.redelivered.messages')?.dataPoints[0]?.value).toBeGreaterThanOrEqual(1);
    expect(metrics.get('mqtrail.chain.latency')).toBeDefined();
  });

  it('does not count a redelivery of requeued or failed work as a duplicate', async () => {
    const { wire } = send('orders');
    const d = deps();
    const options = {
      system: 'rabbitmq' as const,
      destination: 'orders',
      message: extractMessage(wire),
      useLinksForConsume: false,
      labels: { system: 'rabbitmq' as const, operation: 'process', destination: 'orders' },
      duplicateScope: 'orders',
      identity: 'message-id:42',
    };
    new MessageProcess(d, options).end({ outcome: 'requeue' });
    const redelivery = new MessageProcess(d, { ...options, redelivered: true });
    expect(redelivery.duplicate).toBe(false);
    redelivery.end({ error: new Error('handler failed') });
    const retry = new MessageProcess(d, options);
    expect(retry.duplicate).toBe(false);
    retry.end({ outcome: 'ack' });
    const again = new MessageProcess(d, options);
    expect(again.duplicate).toBe(true);
    again.end({ outcome: 'ack' });
  });

  it('records no delivery or chain latency for a message whose send time is unknown', async () => {
    const metrics = new MessagingMetrics(telemetry.meterProvider.getMeter('unknown-send-time'));
    const labels = { system: 'rabbitmq' as const, operation: 'process', destination: 'foreign-only' };
    const options = {
      system: 'rabbitmq' as const,
      destination: 'foreign-only',
      message: extractMessage({}),
      useLinksForConsume: false,
      labels,
      duplicateScope: 'foreign-only',
      identity: undefined,
    };
    new MessageProcess({ tracer, metrics, duplicates: new DuplicateDetector() }, options).end({ outcome: 'ack' });
    const collected = await telemetry.collectMetrics();
    const points = (name: string) =>
      collected.get(name)?.dataPoints.filter((p) => p.attributes['messaging.destination.name'] === 'foreign-only') ??
      [];
    expect(points('mqtrail.delivery.latency')).toEqual([]);
    expect(points('mqtrail.chain.latency')).toEqual([]);
    expect(points('messaging.process.duration')).toHaveLength(1);
  });
});
