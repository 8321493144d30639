import { createTestTelemetry, sumOf } from '@mqtrail/test-support';
import type { SpanKind } from '@opentelemetry/api';
import type { DataPoint, MeterProvider } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, TracerProvider } from '@opentelemetry/sdk-trace';

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
  /** Forgets spans and starts metrics from zero with a new `meterProvider`. */
  reset(): void;
}

/** The shared in-memory set-up, read the way the amqplib suites assert. */
export function createTelemetry(): Telemetry {
  const telemetry = createTestTelemetry();
  return {
    tracerProvider: telemetry.tracerProvider,
    get meterProvider() {
      return telemetry.meterProvider;
    },
    spans: () => telemetry.exportedSpans(),
    span(name) {
      const spans = telemetry.exportedSpans();
      const found = spans.filter((span) => span.name === name);
      if (found.length !== 1) {
        const names = spans.map((span) => span.name);
        throw new Error(`expected one span named "${name}", found ${found.length} among [${names.join(', ')}]`);
      }
      return found[0] as ReadableSpan;
    },
    spansOfKind: (kind) => telemetry.spansOfKind(kind),
    openSpans: () => telemetry.counter.open.size,
    async points(metric) {
      return ((await telemetry.collectMetrics()).get(metric)?.dataPoints ?? []) as DataPoint<unknown>[];
    },
    async count(metric, match = {}) {
      return sumOf((await telemetry.collectMetrics()).get(metric), match);
    },
    reset() {
      telemetry.reset();
      telemetry.resetMetrics();
    },
  };
}
