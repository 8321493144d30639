import type {
  BatchObservableCallback,
  Counter,
  Gauge,
  Histogram,
  Meter,
  MeterOptions,
  MeterProvider,
  MetricOptions,
  Observable,
  ObservableCounter,
  ObservableGauge,
  ObservableUpDownCounter,
  UpDownCounter,
} from '@opentelemetry/api';
import type { FaultSwitch, OtelFault } from './otel-faults';

/** The one method synchronous instruments share: `add` or `record`, with a value and attributes. */
type Record = (value: number, ...rest: unknown[]) => void;

function faulty<I>(instrument: I, method: 'add' | 'record', fault: OtelFault, faults: FaultSwitch): I {
  const original = (instrument as unknown as { [name: string]: Record })[method] as Record;
  return {
    [method]: (value: number, ...rest: unknown[]) => {
      faults.trip(fault);
      original.call(instrument, value, ...rest);
    },
  } as I;
}

/**
 * A meter over a real SDK meter whose instrument creation and `add`/`record` throw while their
 * fault is selected. Deliberately a plain object, not a proxy: it hides the SDK meter's internals,
 * so mqtrail takes its path for foreign meters and records every histogram point through
 * `record` rather than aggregating them itself.
 */
class FaultyMeter implements Meter {
  constructor(
    private readonly meter: Meter,
    private readonly faults: FaultSwitch,
  ) {}

  createCounter(name: string, options?: MetricOptions): Counter {
    this.faults.trip('meter.createInstrument');
    return faulty(this.meter.createCounter(name, options), 'add', 'counter.add', this.faults);
  }

  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    this.faults.trip('meter.createInstrument');
    return faulty(this.meter.createUpDownCounter(name, options), 'add', 'upDownCounter.add', this.faults);
  }

  createHistogram(name: string, options?: MetricOptions): Histogram {
    this.faults.trip('meter.createInstrument');
    return faulty(this.meter.createHistogram(name, options), 'record', 'histogram.record', this.faults);
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    this.faults.trip('meter.createInstrument');
    return faulty(this.meter.createGauge(name, options), 'record', 'gauge.record', this.faults);
  }

  // Observable instruments are read by the SDK at collection, never on the application's calls.
  createObservableCounter(name: string, options?: MetricOptions): ObservableCounter {
    this.faults.trip('meter.createInstrument');
    return this.meter.createObservableCounter(name, options);
  }

  createObservableUpDownCounter(name: string, options?: MetricOptions): ObservableUpDownCounter {
    this.faults.trip('meter.createInstrument');
    return this.meter.createObservableUpDownCounter(name, options);
  }

  createObservableGauge(name: string, options?: MetricOptions): ObservableGauge {
    this.faults.trip('meter.createInstrument');
    return this.meter.createObservableGauge(name, options);
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.meter.addBatchObservableCallback(callback, observables);
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.meter.removeBatchObservableCallback(callback, observables);
  }
}

/** Hands out meters of `provider` whose instruments throw while their fault is selected. */
export class FaultyMeterProvider implements MeterProvider {
  constructor(
    private readonly provider: MeterProvider,
    private readonly faults: FaultSwitch,
  ) {}

  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    return new FaultyMeter(this.provider.getMeter(name, version, options), this.faults);
  }
}
