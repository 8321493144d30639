import { context, propagation, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
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

let globalsSet = false;

/** What an application's SDK set-up registers globally: async context and W3C propagation. */
function setGlobals(): void {
  if (globalsSet) return;
  globalsSet = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
}

/** Counts spans started and ended, to prove none is left open. */
class OpenSpanCounter implements SpanProcessor {
  started = 0;
  ended = 0;
  readonly open = new Set<Span>();
  onStart(span: Span): void {
    this.started++;
    this.open.add(span);
  }
  onEnd(span: ReadableSpan): void {
    this.ended++;
    this.open.delete(span as Span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Telemetry {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
  /** Spans ended so far. */
  spans(): ReadableSpan[];
  /** The one ended span with this name; fails the test when there is not exactly one. */
  span(name: string): ReadableSpan;
  spansOfKind(kind: SpanKind): ReadableSpan[];
  openSpans(): number;
  /** Data points of one metric, by OpenTelemetry instrument name. */
  points(metric: string): Promise<DataPoint<unknown>[]>;
  /** Sum of a counter's points whose attributes include `match`. */
  count(metric: string, match?: Record<string, unknown>): Promise<number>;
  reset(): void;
}

export function createTelemetry(): Telemetry {
  setGlobals();
  const exporter = new InMemorySpanExporter();
  const counter = new OpenSpanCounter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter }), counter],
  });
  let reader = newReader();
  let meterProvider = new MeterProvider({ readers: [reader] });

  const telemetry: Telemetry = {
    tracerProvider,
    get meterProvider() {
      return meterProvider;
    },
    spans: () => exporter.getFinishedSpans(),
    span(name) {
      const found = exporter.getFinishedSpans().filter((span) => span.name === name);
      if (found.length !== 1) {
        const names = exporter.getFinishedSpans().map((span) => span.name);
        throw new Error(`expected one span named "${name}", found ${found.length} among [${names.join(', ')}]`);
      }
      return found[0] as ReadableSpan;
    },
    spansOfKind: (kind) => exporter.getFinishedSpans().filter((span) => span.kind === kind),
    openSpans: () => counter.open.size,
    async points(metric) {
      const { resourceMetrics } = await reader.collect();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const data of scope.metrics) {
          if (data.descriptor.name === metric) return data.dataPoints as DataPoint<unknown>[];
        }
      }
      return [];
    },
    async count(metric, match = {}) {
      const points = await telemetry.points(metric);
      return points
        .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
        .reduce((sum, point) => sum + (typeof point.value === 'number' ? point.value : 0), 0);
    },
    reset() {
      exporter.reset();
      counter.open.clear();
      reader = newReader();
      meterProvider = new MeterProvider({ readers: [reader] });
    },
  };
  return telemetry;
}

function newReader(): PeriodicExportingMetricReader {
  return new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
}

export { SpanKind };
