import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { installFaultyGlobals } from './faulty-globals';
import { FaultyMeterProvider } from './faulty-meter';
import { FaultyTracerProvider } from './faulty-tracer';
import { FaultSwitch, type OtelFault } from './otel-faults';

/**
 * The OpenTelemetry surface an instrumentation calls, each part of which can be made to throw:
 * tracer and meter providers to hand to the instrumentation, and (once `installGlobals` ran) the
 * global context manager and propagator. With no fault selected everything is passed through to
 * the real providers, so spans and metrics are recorded as usual.
 */
export interface FaultyOtel {
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
  /** Selects exactly these faults (none: everything works) and forgets earlier hits. */
  select(...faults: OtelFault[]): void;
  /** How many times `fault` was thrown since the last `select`. */
  hits(fault: OtelFault): number;
  /** Registers the faulty context manager and propagator globally; returns what restores the plain ones. */
  installGlobals(): () => void;
}

export function createFaultyOtel(providers: {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
}): FaultyOtel {
  const faults = new FaultSwitch();
  return {
    tracerProvider: new FaultyTracerProvider(providers.tracerProvider, faults),
    meterProvider: new FaultyMeterProvider(providers.meterProvider, faults),
    select: (...selected) => faults.select(...selected),
    hits: (fault) => faults.hits(fault),
    installGlobals: () => installFaultyGlobals(faults),
  };
}
