import { metrics, type SpanKind, trace } from '@opentelemetry/api';
import { MeterProvider, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { installGlobals, uninstallGlobals } from './globals';
import { collectMetrics, createMetricReader } from './metrics';
import { OpenSpanCounter } from './open-span-counter';

/** Spans and metrics kept in memory for a unit test, with the globals an app would have installed. */
export interface TestTelemetry {
  readonly tracerProvider: TracerProvider;
  /** The current provider: `resetMetrics()` replaces it. */
  readonly meterProvider: MeterProvider;
  /** Spans of `tracerProvider` started, ended and still open. */
  readonly counter: OpenSpanCounter;
  /** Finished spans, after pending exports settle (SDK 3 exports asynchronously). */
  spans(): Promise<ReadableSpan[]>;
  /**
   * Finished spans exported so far, without waiting: SimpleSpanProcessor hands an ended span to the
   * in-memory exporter in the same tick unless its resource still has async attributes pending,
   * which this set-up's default resource never has.
   */
  exportedSpans(): ReadableSpan[];
  /** `exportedSpans()` of one kind. */
  spansOfKind(kind: SpanKind): ReadableSpan[];
  /** Metrics by OpenTelemetry instrument name. */
  collectMetrics(): Promise<Map<string, MetricData>>;
  /** Forgets finished spans and the span counts; metrics go on accumulating. */
  reset(): void;
  /** Starts metrics from zero with a new reader and `meterProvider`, which the code under test must be given. */
  resetMetrics(): void;
  /** Shuts both providers down and uninstalls the globals; later calls do nothing. */
  shutdown(): Promise<void>;
}

/**
 * New providers with in-memory exporting; installs the global context manager and propagators
 * (once), but registers no global tracer or meter provider: hand the providers to the code under test.
 */
export function createTestTelemetry(): TestTelemetry {
  installGlobals();
  const exporter = new InMemorySpanExporter();
  const counter = new OpenSpanCounter();
  const tracerProvider = new TracerProvider({ spanProcessors: [counter, new SimpleSpanProcessor({ exporter })] });
  let reader = createMetricReader();
  let meterProvider = new MeterProvider({ readers: [reader] });
  let shutDown = false;

  return {
    tracerProvider,
    get meterProvider() {
      return meterProvider;
    },
    counter,
    async spans() {
      await tracerProvider.forceFlush();
      return exporter.getFinishedSpans();
    },
    exportedSpans: () => exporter.getFinishedSpans(),
    spansOfKind: (kind) => exporter.getFinishedSpans().filter((span) => span.kind === kind),
    collectMetrics: () => collectMetrics(reader),
    reset() {
      exporter.reset();
      counter.reset();
    },
    resetMetrics() {
      reader = createMetricReader();
      meterProvider = new MeterProvider({ readers: [reader] });
    },
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      exporter.reset();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      uninstallGlobals();
    },
  };
}

/** A telemetry whose providers are registered globally, so it must live as long as the process. */
export type GlobalTestTelemetry = Omit<TestTelemetry, 'resetMetrics' | 'shutdown'>;

let installed: GlobalTestTelemetry | undefined;

/**
 * One telemetry for the whole process, its tracer and meter providers registered globally as an
 * app's SDK set-up would, for code that calls `trace.getTracer()`. Every call returns the same one.
 */
export function installTestTelemetry(): GlobalTestTelemetry {
  if (installed !== undefined) return installed;
  const telemetry = createTestTelemetry();
  trace.setGlobalTracerProvider(telemetry.tracerProvider);
  metrics.setGlobalMeterProvider(telemetry.meterProvider);
  installed = telemetry;
  return installed;
}
