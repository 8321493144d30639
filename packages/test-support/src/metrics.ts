import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  type MetricData,
  type MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

/** A cumulative reader the test collects from on demand; its hourly export never comes during a test. */
export function createMetricReader(): MetricReader {
  return new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
}

/** What `reader` holds now, by OpenTelemetry instrument name. */
export async function collectMetrics(reader: MetricReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  }
  return byName;
}

/**
 * Sum of a counter's points whose attributes include `match`; for a histogram, the sum of the
 * matching points' counts.
 */
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
