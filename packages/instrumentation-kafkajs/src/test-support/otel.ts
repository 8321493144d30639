/**
 * In-memory OpenTelemetry for unit tests: spans in an InMemorySpanExporter, metrics collected on
 * demand, async context and W3C propagation installed globally, and an instrumentation whose
 * kafkajs patch the test applies to the module object it chooses.
 */
import { context, DiagLogLevel, diag, metrics, propagation, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type Span,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { KafkaJsInstrumentation } from '../instrumentation';
import type { KafkaJsInstrumentationConfig } from '../types';

/** Counts spans started and ended, to prove none is left open. */
export class OpenSpanCounter implements SpanProcessor {
  started = 0;
  ended = 0;
  onStart(_span: Span): void {
    this.started += 1;
  }
  onEnd(_span: ReadableSpan): void {
    this.ended += 1;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TestOtel {
  instrumentation: KafkaJsInstrumentation;
  exporter: InMemorySpanExporter;
  counter: OpenSpanCounter;
  spans(): ReadableSpan[];
  spansOfKind(kind: SpanKind): ReadableSpan[];
  /** Metric points by instrument name. */
  collect(): Promise<Map<string, MetricData>>;
  /** Applies the kafkajs patch to a module object, as the require / import hook would. */
  patch<T>(exports: T): T;
  unpatch(exports: unknown): void;
  /** A tracer of the same provider, for the application's own spans. */
  tracer: Tracer;
  shutdown(): Promise<void>;
}

export function setupOtel(config: KafkaJsInstrumentationConfig = {}): TestOtel {
  const exporter = new InMemorySpanExporter();
  const counter = new OpenSpanCounter();
  const tracerProvider = new TracerProvider({ spanProcessors: [counter, new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });

  // Disabled: no require hook is installed, the test patches exactly the module object it uses.
  const instrumentation = new KafkaJsInstrumentation({ ...config, enabled: false });
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.setMeterProvider(meterProvider);
  const [definition] = instrumentation.getModuleDefinitions() as InstrumentationNodeModuleDefinition[];
  if (definition?.patch === undefined || definition.unpatch === undefined)
    throw new Error('no kafkajs module definition');
  const { patch, unpatch } = definition;
  let shutDown = false;

  return {
    instrumentation,
    exporter,
    counter,
    spans: () => exporter.getFinishedSpans(),
    spansOfKind: (kind) => exporter.getFinishedSpans().filter((span) => span.kind === kind),
    async collect() {
      const { resourceMetrics } = await reader.collect();
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics)
        for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      return byName;
    },
    patch: <T>(exports: T) => patch(exports, '2.2.4') as T,
    unpatch: (exports) => unpatch(exports, '2.2.4'),
    tracer: tracerProvider.getTracer('app'),
    async shutdown() {
      if (shutDown) return;
      shutDown = true;
      exporter.reset();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      context.disable();
      propagation.disable();
      trace.disable();
      metrics.disable();
    },
  };
}

/** Sum of a counter's points whose attributes include `match`. */
export function sumOf(metric: MetricData | undefined, match: Record<string, unknown> = {}): number {
  if (metric === undefined) return 0;
  let sum = 0;
  for (const point of metric.dataPoints as DataPoint<unknown>[]) {
    if (!Object.entries(match).every(([key, value]) => point.attributes[key] === value)) continue;
    if (typeof point.value === 'number') sum += point.value;
    else if (typeof point.value === 'object' && point.value !== null && 'count' in point.value) {
      sum += Number((point.value as { count: number }).count);
    }
  }
  return sum;
}

export { SpanKind };

/**
 * Collects what mqtrail reports through `diag.error`. The diag logger is registered globally, so
 * this also sees reports from the CommonJS copy of the API that @mqtrail/core's build loads.
 */
export function captureDiagErrors(): { messages: string[]; restore: () => void } {
  const messages: string[] = [];
  const record = (message: string) => {
    messages.push(message);
  };
  const ignore = () => {};
  diag.setLogger({ error: record, warn: ignore, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.ERROR);
  return { messages, restore: () => diag.disable() };
}
