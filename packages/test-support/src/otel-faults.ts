/**
 * Every place on the OpenTelemetry surface mqtrail calls that a broken SDK, exporter set-up or
 * third-party propagator could make throw. A test selects some of them and checks that the
 * instrumented client behaves exactly as the uninstrumented one.
 */
export const OTEL_FAULTS = [
  'tracer.startSpan',
  'tracer.startActiveSpan',
  'span.setAttribute',
  'span.setAttributes',
  'span.addEvent',
  'span.addLink',
  'span.addLinks',
  'span.setStatus',
  'span.updateName',
  'span.recordException',
  'span.end',
  'propagator.inject',
  'propagator.extract',
  'meter.createInstrument',
  'counter.add',
  'upDownCounter.add',
  'histogram.record',
  'gauge.record',
  'context.active',
  'context.with',
] as const;

export type OtelFault = (typeof OTEL_FAULTS)[number];

/** What a selected fault throws, naming the fault so a test can tell which part broke. */
export class OtelFaultError extends Error {
  constructor(readonly fault: OtelFault) {
    super(`injected fault: ${fault} threw`);
    this.name = 'OtelFaultError';
  }
}

/**
 * Which faults are selected, and how often each one was thrown: a fault that never fired proves
 * nothing, so tests assert `hits(fault) > 0` for the faults an entry point reaches.
 */
export class FaultSwitch {
  private readonly selected = new Set<OtelFault>();
  private readonly fired = new Map<OtelFault, number>();

  /** Selects exactly these faults (none: everything works) and forgets earlier hits. */
  select(...faults: OtelFault[]): void {
    this.selected.clear();
    for (const fault of faults) this.selected.add(fault);
    this.fired.clear();
  }

  /** How many times `fault` was thrown since the last `select`. */
  hits(fault: OtelFault): number {
    return this.fired.get(fault) ?? 0;
  }

  /** Called at the start of every faultable method: throws when `fault` is selected. */
  trip(fault: OtelFault): void {
    if (!this.selected.has(fault)) return;
    this.fired.set(fault, this.hits(fault) + 1);
    throw new OtelFaultError(fault);
  }
}
