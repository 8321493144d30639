import { installTestTelemetry, sumOf } from '@mqtrail/test-support';
import {
  type Attributes,
  type AttributeValue,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHAIN_HEADER, decodeChainHeader, getChainFacts } from './chain-header';
import { creationIdentity, extractMessage, startConsumeSpan } from './consume';
import { spanTarget } from './destination';
import { DuplicateDetector } from './duplicate-detector';
import { MessageProcess } from './message-process';
import { MessagingMetrics } from './metrics';
import { injectHeaders, startSendSpan } from './produce';
import { type SemconvMode, semconvNames } from './semconv-stability';

const telemetry = installTestTelemetry();
const tracer = trace.getTracer('test');

function send(destination: string, headers: unknown = { user: 'x' }) {
  const sent = startSendSpan(tracer, spanTarget('kafka', 'send', 'send', destination), undefined, undefined);
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
      target: spanTarget('kafka', 'process', 'process', 'orders'),
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
      target: spanTarget('kafka', 'process', 'process', 'orders'),
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
      target: spanTarget('kafka', 'process', 'process', 'orders'),
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
      target: spanTarget('rabbitmq', 'process', 'process', 'q'),
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
        target: spanTarget('kafka', 'process', 'process', name),
        message: extractMessage(headers),
        useLinksForConsume: false,
        ambient: ROOT_CONTEXT,
        attributes: (subject: string) => {
          builds.push(subject);
          return { 'messaging.message.id': subject };
        },
        subject: name,
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
      target: spanTarget('kafka', 'process', 'process', 'orders'),
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
    const sent = startSendSpan(tracer, spanTarget('rabbitmq', 'send', 'send', 'orders', semconv), undefined, undefined);
    const wire = injectHeaders(sent.context, sent.chain, {});
    sent.span.end();
    startConsumeSpan(tracer, {
      target: spanTarget('rabbitmq', 'process', 'process', 'orders', semconv),
      message: extractMessage(wire),
      useLinksForConsume: false,
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
      target: spanTarget('rabbitmq', 'process', 'process', 'orders'),
      message,
      useLinksForConsume: false,
      labels: { system: 'rabbitmq' as const, operation: 'process', destination: 'orders' },
      duplicateScope: 'orders',
      identity: creationIdentity(message),
    };
    expect(options.identity).toBe(message.creation?.spanId);
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
      target: spanTarget('rabbitmq', 'process', 'process', 'orders'),
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
      target: spanTarget('rabbitmq', 'process', 'process', 'foreign-only'),
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

describe('the unsampled fast path', () => {
  beforeEach(() => telemetry.reset());

  /** The test tracer, remembering what each span was started with. */
  function watchedTracer() {
    const starts: SpanOptions[] = [];
    const watched: Tracer = {
      startSpan(name, options = {}, parent) {
        starts.push(options);
        return tracer.startSpan(name, options, parent);
      },
      startActiveSpan: tracer.startActiveSpan.bind(tracer) as Tracer['startActiveSpan'],
    };
    return { watched, starts };
  }

  /** Headers of a message whose producer did not sample it: its `traceparent` has flags 00. */
  function unsampledWire() {
    const { sent, wire } = send('orders');
    return { sent, wire: { ...wire, traceparent: String(wire.traceparent).replace(/-01$/, '-00') } };
  }

  it('sends under an unsampled parent with nothing built, and still propagates a new span id with flags 00 and the chain', async () => {
    const { sent: upstream, wire } = unsampledWire();
    const consumed = startConsumeSpan(tracer, {
      target: spanTarget('kafka', 'process', 'process', 'orders'),
      message: extractMessage(wire),
      useLinksForConsume: false,
    });
    expect(consumed.span.isRecording()).toBe(false);
    const { watched, starts } = watchedTracer();
    const build = vi.fn(() => ({ 'messaging.message.id': 'm' }));
    const target = spanTarget('kafka', 'send', 'send', 'payments');
    const sent = context.with(consumed.context, () => startSendSpan(watched, target, build, 'subject'));
    expect(build).not.toHaveBeenCalled();
    expect(starts).toEqual([target.bare]);
    expect(sent.span.isRecording()).toBe(false);

    const onward = injectHeaders(sent.context, sent.chain, { user: 'x' });
    const { traceId, spanId } = sent.span.spanContext();
    expect(traceId).toBe(upstream.span.spanContext().traceId);
    expect(spanId).not.toBe(upstream.span.spanContext().spanId);
    expect(onward.traceparent).toBe(`00-${traceId}-${spanId}-00`);
    expect(decodeChainHeader(onward[CHAIN_HEADER])).toMatchObject({ originAt: upstream.chain.originAt, hops: 2 });
    expect(await telemetry.spans()).toHaveLength(1);
  });

  it("gives a root span's sampler the shared sampling-relevant attributes and builds the rest only if it records", async () => {
    const { watched, starts } = watchedTracer();
    const build = vi.fn((subject: string) => ({ 'messaging.message.id': subject }));
    const target = spanTarget('rabbitmq', 'send', 'send', 'orders');
    const sent = startSendSpan(watched, target, build, 'm-1', ROOT_CONTEXT);
    sent.span.end();
    expect(starts).toEqual([target.withAttributes]);
    expect(starts[0]?.attributes).toBe(target.attributes);
    expect(Object.isFrozen(target.attributes)).toBe(true);
    // The test provider samples every root span: built once, after the start.
    expect(build).toHaveBeenCalledTimes(1);
    const [span] = await telemetry.spans();
    expect(span?.attributes).toMatchObject({ 'messaging.destination.name': 'orders', 'messaging.message.id': 'm-1' });
  });

  it('starts spans under a sampled parent with the target attributes and the link, and adds the rest after the start', async () => {
    const { sent: upstream, wire } = send('orders');
    const { watched, starts } = watchedTracer();
    const target = spanTarget('kafka', 'process', 'process', 'orders');
    const consumed = startConsumeSpan(watched, {
      target,
      message: extractMessage(wire),
      useLinksForConsume: false,
      attributes: (subject: string) => ({ 'messaging.message.id': subject }),
      subject: 'm-1',
    });
    const sendTarget = spanTarget('kafka', 'send', 'send', 'payments');
    const sent = context.with(consumed.context, () =>
      startSendSpan(watched, sendTarget, (subject: string) => ({ 'messaging.message.id': subject }), 'm-2'),
    );
    sent.span.end();
    consumed.span.end();
    // The SDK validates start attributes twice (sampler, then limits) and `setAttributes` once.
    expect(starts[0]?.attributes).toBe(target.attributes);
    expect(starts[0]?.links?.map((link) => link.context.spanId)).toEqual([upstream.span.spanContext().spanId]);
    expect(starts[1]).toBe(sendTarget.withAttributes);
    const spans = await telemetry.spans();
    const process = spans.find((span) => span.name === target.name);
    expect(process?.attributes).toMatchObject({
      'messaging.destination.name': 'orders',
      'mqtrail.chain.hops': 1,
      'messaging.message.id': 'm-1',
    });
    expect(process?.links.map((link) => link.context.spanId)).toEqual([upstream.span.spanContext().spanId]);
    expect(spans.find((span) => span.name === sendTarget.name)?.attributes).toMatchObject({
      'messaging.destination.name': 'payments',
      'messaging.message.id': 'm-2',
    });
  });

  it('starts a process span under an unsampled parent without attributes or links, building nothing', () => {
    const { wire } = unsampledWire();
    const { watched, starts } = watchedTracer();
    const build = vi.fn(() => ({}));
    const target = spanTarget('kafka', 'process', 'process', 'orders');
    const consumed = startConsumeSpan(watched, {
      target,
      message: extractMessage(wire),
      useLinksForConsume: false,
      attributes: build,
      subject: 'subject',
    });
    expect(starts).toEqual([target.bare]);
    expect(build).not.toHaveBeenCalled();
    expect(consumed.span.spanContext().traceFlags).toBe(0);
    expect(getChainFacts(consumed.context)).toMatchObject({ hops: 1 });
  });

  it('adds attributes, chain hops and the link after the start when a sampler records under an unsampled parent', () => {
    const { wire } = unsampledWire();
    const message = extractMessage(wire);
    const recorded: { attributes: Attributes; links: Link[] } = { attributes: {}, links: [] };
    // A span that records although its parent was not sampled, as a custom sampler could decide.
    const span = trace.wrapSpanContext(trace.getSpanContext(message.context) as SpanContext);
    Object.assign(span, {
      isRecording: () => true,
      setAttribute: (key: string, value: AttributeValue) => Object.assign(recorded.attributes, { [key]: value }),
      setAttributes: (attributes: Attributes) => Object.assign(recorded.attributes, attributes),
      addLink: (link: Link) => recorded.links.push(link),
    });
    const recording: Tracer = { startSpan: () => span, startActiveSpan: tracer.startActiveSpan.bind(tracer) };
    startConsumeSpan(recording, {
      target: spanTarget('kafka', 'process', 'process', 'orders'),
      message,
      useLinksForConsume: false,
      attributes: (subject: string) => ({ 'messaging.message.id': subject }),
      subject: 'm-1',
    });
    expect(recorded.attributes).toEqual({
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.system': 'kafka',
      'mqtrail.chain.hops': 1,
      'messaging.message.id': 'm-1',
    });
    expect(recorded.links).toEqual([{ context: message.creation, attributes: { 'opentracing.ref_type': 'child_of' } }]);
  });

  it('still records every metric, the duplicate check and the settle outcome for an unsampled message', async () => {
    const { wire } = unsampledWire();
    const metrics = new MessagingMetrics(telemetry.meterProvider.getMeter('unsampled'));
    const d = { tracer, metrics, duplicates: new DuplicateDetector() };
    const message = extractMessage(wire);
    const build = vi.fn(() => ({}));
    const options = {
      target: spanTarget('rabbitmq', 'process', 'process', 'unsampled-queue'),
      message,
      useLinksForConsume: false,
      attributes: build,
      subject: 'subject',
      labels: { system: 'rabbitmq' as const, operation: 'process', destination: 'unsampled-queue' },
      duplicateScope: 'unsampled-queue',
      identity: creationIdentity(message),
    };
    const first = new MessageProcess(d, options);
    first.end({ outcome: 'ack' });
    const again = new MessageProcess(d, { ...options, redelivered: true });
    again.end({ outcome: 'drop', error: new TypeError('handler failed') });
    expect(again.duplicate).toBe(true);
    expect(build).not.toHaveBeenCalled();
    expect((await telemetry.spans()).filter((span) => span.name === 'process unsampled-queue')).toEqual([]);

    const collected = await telemetry.collectMetrics();
    const count = (name: string, match: Record<string, unknown> = {}) =>
      sumOf(collected.get(name), { 'messaging.destination.name': 'unsampled-queue', ...match });
    expect(count('messaging.client.consumed.messages')).toBe(2);
    expect(count('mqtrail.delivery.latency')).toBe(2);
    expect(count('messaging.process.duration')).toBe(2);
    expect(count('messaging.process.duration', { 'error.type': 'TypeError' })).toBe(1);
    expect(count('mqtrail.chain.latency')).toBe(2);
    expect(count('mqtrail.settled.messages', { 'mqtrail.settle.outcome': 'ack' })).toBe(1);
    expect(count('mqtrail.settled.messages', { 'mqtrail.settle.outcome': 'drop' })).toBe(1);
    expect(count('mqtrail.duplicate.messages')).toBe(1);
    expect(count('mqtrail.redelivered.messages')).toBe(1);
  });
});
