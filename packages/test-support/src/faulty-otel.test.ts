import { context, propagation, ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createFaultyOtel } from './faulty-otel';
import { OTEL_FAULTS, type OtelFault, OtelFaultError } from './otel-faults';
import { createTestTelemetry } from './telemetry';

const telemetry = createTestTelemetry();
const faulty = createFaultyOtel(telemetry);
const restore = faulty.installGlobals();
const tracer = faulty.tracerProvider.getTracer('test');
const meter = faulty.meterProvider.getMeter('test');

function span(): Span {
  return tracer.startSpan('s');
}

/** One call per fault that reaches it, so every fault the fixture names is proved to be wired. */
const CALLS: Record<OtelFault, () => unknown> = {
  'tracer.startSpan': () => tracer.startSpan('s'),
  'tracer.startActiveSpan': () => tracer.startActiveSpan('s', (active) => active.end()),
  'span.setAttribute': () => span().setAttribute('a', 1),
  'span.setAttributes': () => span().setAttributes({ a: 1 }),
  'span.addEvent': () => span().addEvent('e'),
  'span.addLink': () => span().addLink({ context: span().spanContext() }),
  'span.addLinks': () => span().addLinks([]),
  'span.setStatus': () => span().setStatus({ code: 2 }),
  'span.updateName': () => span().updateName('n'),
  'span.recordException': () => span().recordException(new Error('x')),
  'span.end': () => span().end(),
  'propagator.inject': () => propagation.inject(ROOT_CONTEXT, {}),
  'propagator.extract': () => propagation.extract(ROOT_CONTEXT, {}),
  'meter.createInstrument': () => meter.createCounter('c'),
  'counter.add': () => meter.createCounter('c').add(1),
  'upDownCounter.add': () => meter.createUpDownCounter('u').add(1),
  'histogram.record': () => meter.createHistogram('h').record(1),
  'gauge.record': () => meter.createGauge('g').record(1),
  'context.active': () => context.active(),
  'context.with': () => context.with(ROOT_CONTEXT, () => 'ran'),
};

describe('createFaultyOtel', () => {
  afterEach(() => faulty.select());
  afterAll(async () => {
    restore();
    await telemetry.shutdown();
  });

  it.each(OTEL_FAULTS)('makes %s throw only while it is selected, and counts it', (fault) => {
    const call = CALLS[fault];
    expect(call).not.toThrow();
    faulty.select(fault);
    expect(call).toThrow(new OtelFaultError(fault));
    expect(faulty.hits(fault)).toBe(1);
    faulty.select();
    expect(call).not.toThrow();
  });

  it('runs nothing of context.with’s callback when with() throws', () => {
    faulty.select('context.with');
    let ran = false;
    expect(() =>
      context.with(ROOT_CONTEXT, () => {
        ran = true;
      }),
    ).toThrow(OtelFaultError);
    expect(ran).toBe(false);
  });

  it('records spans in the real SDK when nothing is selected', async () => {
    telemetry.reset();
    tracer.startSpan('recorded').end();
    expect((await telemetry.spans()).map((recorded) => recorded.name)).toEqual(['recorded']);
  });
});
