import { type Attributes, createNoopMeter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  AggregationType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  MetricReader,
  PeriodicExportingMetricReader,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AggregatedHistogram, HistogramSeries } from './histogram-aggregate';
import { type MqtrailMetricProducer, mqtrailMetricProducer } from './metric-producer';
import { DURATION_BUCKETS, LATENCY_BUCKETS, MessagingMetrics, type MetricLabels } from './metrics';
import { type SemconvMode, semconvNames } from './semconv-stability';

/** A reader collected on demand. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

type ReaderOptions = ConstructorParameters<typeof MetricReader>[0];

function reader(producers: MqtrailMetricProducer[] = [], options: ReaderOptions = {}): TestReader {
  return new TestReader({ ...options, metricProducers: producers });
}

function provider(readers: MetricReader[], views: ViewOptions[] = []): MeterProvider {
  return new MeterProvider({ readers, views });
}

const SCOPE = ['@mqtrail/instrumentation-kafkajs', '0.1.0'] as const;

const HISTOGRAM_NAMES = [
  'messaging.client.operation.duration',
  'messaging.process.duration',
  'mqtrail.delivery.latency',
  'mqtrail.chain.latency',
];

/** Which scope entries of a collection hold each metric: `scope name#entry index`. */
function whereIs(result: CollectionResult): Map<string, string[]> {
  const where = new Map<string, string[]>();
  result.resourceMetrics.scopeMetrics.forEach(({ scope, metrics }, index) => {
    for (const metric of metrics) {
      where.set(metric.descriptor.name, [...(where.get(metric.descriptor.name) ?? []), `${scope.name}#${index}`]);
    }
  });
  return where;
}

function histogramPoints(result: CollectionResult, name: string): DataPoint<Histogram>[] {
  return result.resourceMetrics.scopeMetrics.flatMap(({ metrics }) =>
    metrics
      .filter((metric) => metric.descriptor.name === name)
      .flatMap((metric) => metric.dataPoints as DataPoint<Histogram>[]),
  );
}

/** One point on every histogram. */
function recordEveryHistogram(metrics: MessagingMetrics, labels: MetricLabels): void {
  metrics.startOperation(labels)();
  metrics.startProcess(labels)();
  metrics.recordDeliveryLatency(labels, 1_000, 3_000);
  metrics.recordChainLatency(labels, 0, 3_000);
}

const labels: MetricLabels = { system: 'kafka', operation: 'process', destination: 'orders', consumerGroup: 'g' };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('HistogramSeries', () => {
  const boundaries = [0.005, 0.01, 0.025];

  it('counts a value equal to a boundary in that boundary’s bucket, as the SDK does', async () => {
    const values = [0, 0.005, 0.0050001, 0.01, 0.025, 0.0250001, 7];
    const series = new HistogramSeries({}, boundaries);
    for (const value of values) series.record(value);
    expect(series.point([...boundaries], [0, 0]).value).toEqual({
      buckets: { boundaries, counts: [2, 2, 1, 2] },
      count: 7,
      sum: values.reduce((a, b) => a + b, 0),
      min: 0,
      max: 7,
    });

    // The SDK's own aggregation of the same values, bucket for bucket.
    const sdkReader = reader();
    const histogram = provider([sdkReader])
      .getMeter('edges')
      .createHistogram('edges', { advice: { explicitBucketBoundaries: boundaries } });
    for (const value of values) histogram.record(value);
    const [point] = histogramPoints(await sdkReader.collect(), 'edges');
    expect(point?.value.buckets.counts).toEqual([2, 2, 1, 2]);
  });

  it('drops negative values and ignores NaN, as the SDK does', () => {
    const series = new HistogramSeries({}, boundaries);
    series.record(-1);
    series.record(Number.NaN);
    expect(series.point([...boundaries], [0, 0]).value).toEqual({
      buckets: { boundaries, counts: [0, 0, 0, 0] },
      count: 0,
      sum: 0,
      min: undefined,
      max: undefined,
    });
  });

  it('copies the counts when collected, so later points do not change an export in flight', () => {
    const series = new HistogramSeries({}, boundaries);
    series.record(0.001);
    const point = series.point([...boundaries], [0, 0]);
    series.record(0.001);
    expect(point.value.count).toBe(1);
    expect(point.value.buckets.counts).toEqual([1, 0, 0, 0]);
  });
});

describe('AggregatedHistogram', () => {
  it('sends label sets past the cardinality limit to the overflow series, as the SDK does', () => {
    const histogram = new AggregatedHistogram({ name: 'h', description: '', unit: 's', boundaries: [1] }, 3);
    for (const key of ['a', 'b', 'c', 'd']) histogram.seriesOf(key, { key }).record(0.5);
    const points = histogram.collect([1, 0])?.dataPoints ?? [];
    expect(points.map((point) => [point.attributes, point.value.count])).toEqual([
      [{ key: 'a' }, 1],
      [{ key: 'b' }, 1],
      [{ 'otel.metric.overflow': true }, 2],
    ]);
  });
});

describe('MessagingMetrics with mqtrailMetricProducer()', () => {
  it('aggregates histograms when the only reader has the producer: the reader gets each histogram once, from the producer', async () => {
    const producer = mqtrailMetricProducer();
    const only = reader([producer]);
    const metrics = new MessagingMetrics(provider([only]).getMeter(...SCOPE));
    recordEveryHistogram(metrics, labels);
    metrics.recordConsumed(labels);

    const result = await only.collect();
    const where = whereIs(result);
    // The SDK's scope entry comes first (the counter), the producer's after it.
    expect(where.get('messaging.client.consumed.messages')).toEqual([`${SCOPE[0]}#0`]);
    for (const name of HISTOGRAM_NAMES) expect(where.get(name), name).toEqual([`${SCOPE[0]}#1`]);
    expect(result.resourceMetrics.scopeMetrics[1]?.scope).toEqual({ name: SCOPE[0], version: SCOPE[1] });
    // The producer alone reports the same, and nothing the SDK reports.
    const own = await producer.collect();
    expect(own.resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => m.descriptor.name))).toEqual(
      HISTOGRAM_NAMES,
    );
  });

  it('aggregates when every reader has its own producer, and each reader gets each point once', async () => {
    const first = reader([mqtrailMetricProducer()]);
    const second = reader([mqtrailMetricProducer()]);
    const metrics = new MessagingMetrics(provider([first, second]).getMeter(...SCOPE));
    recordEveryHistogram(metrics, labels);
    for (const each of [first, second]) {
      const result = await each.collect();
      expect(result.resourceMetrics.scopeMetrics).toHaveLength(1);
      for (const name of HISTOGRAM_NAMES) expect(histogramPoints(result, name).map((p) => p.value.count)).toEqual([1]);
    }
  });

  it.each<[string, () => { readers: MetricReader[]; views?: ViewOptions[] }]>([
    ['no reader has the producer', () => ({ readers: [reader()] })],
    ['one of two readers has no producer', () => ({ readers: [reader([mqtrailMetricProducer()]), reader()] })],
    ['a reader has two producers', () => ({ readers: [reader([mqtrailMetricProducer(), mqtrailMetricProducer()])] })],
    [
      'the reader selects delta temporality',
      () => ({
        readers: [
          reader([mqtrailMetricProducer()], { aggregationTemporalitySelector: () => AggregationTemporality.DELTA }),
        ],
      }),
    ],
    [
      'the reader selects exponential histograms',
      () => ({
        readers: [
          reader([mqtrailMetricProducer()], {
            aggregationSelector: () => ({ type: AggregationType.EXPONENTIAL_HISTOGRAM }),
          }),
        ],
      }),
    ],
    [
      'a View matches one of the histograms',
      () => ({
        readers: [reader([mqtrailMetricProducer()])],
        views: [
          {
            instrumentName: 'mqtrail.delivery.latency',
            aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [1, 2] } },
          },
        ],
      }),
    ],
  ])('falls back to SDK histograms when %s, and nothing is counted twice', async (_, setUp) => {
    const { readers, views } = setUp();
    const metrics = new MessagingMetrics(provider(readers, views).getMeter(...SCOPE));
    recordEveryHistogram(metrics, labels);
    for (const each of readers) {
      const result = await each.collect();
      // Only the SDK's scope entry: producers not serving this MeterProvider report nothing.
      expect(result.resourceMetrics.scopeMetrics).toHaveLength(1);
      for (const name of HISTOGRAM_NAMES) expect(histogramPoints(result, name), name).toHaveLength(1);
      const total = HISTOGRAM_NAMES.flatMap((name) => histogramPoints(result, name)).reduce(
        (sum, point) => sum + ('count' in point.value ? point.value.count : 0),
        0,
      );
      expect(total).toBe(4);
    }
  });

  it('aggregates when a View matches only other instruments', async () => {
    const only = reader([mqtrailMetricProducer()]);
    const meterProvider = provider([only], [{ instrumentName: 'messaging.client.sent.messages', name: 'renamed' }]);
    const metrics = new MessagingMetrics(meterProvider.getMeter(...SCOPE));
    recordEveryHistogram(metrics, labels);
    expect(whereIs(await only.collect()).get('mqtrail.chain.latency')).toEqual([`${SCOPE[0]}#0`]);
    expect((await only.collect()).resourceMetrics.scopeMetrics).toHaveLength(1);
  });

  it('serves one MeterProvider per producer: a second provider sharing it falls back', async () => {
    const shared = mqtrailMetricProducer();
    const firstReader = reader([shared]);
    const secondReader = reader([shared]);
    const first = new MessagingMetrics(provider([firstReader]).getMeter(...SCOPE));
    const second = new MessagingMetrics(provider([secondReader]).getMeter(...SCOPE));
    recordEveryHistogram(first, labels);
    recordEveryHistogram(second, labels);
    recordEveryHistogram(second, labels);
    // The first provider's reader: its histograms once, from the producer; none of the second's.
    const firstResult = await firstReader.collect();
    expect(histogramPoints(firstResult, 'mqtrail.chain.latency').map((p) => p.value.count)).toEqual([1]);
    // The second's: its own SDK histograms, and the producer's report of the first provider's.
    const secondResult = await secondReader.collect();
    expect(whereIs(secondResult).get('mqtrail.chain.latency')).toEqual([`${SCOPE[0]}#0`, `${SCOPE[0]}#1`]);
    expect(secondResult.resourceMetrics.scopeMetrics[0]?.metrics.map((m) => m.descriptor.name)).toEqual(
      HISTOGRAM_NAMES,
    );
  });

  it('records on the no-op meter without the SDK, as before', () => {
    const metrics = new MessagingMetrics(createNoopMeter());
    expect(() => recordEveryHistogram(metrics, labels)).not.toThrow();
  });

  it('shares series between instances on one meter and between label sets differing only in partition', async () => {
    const only = reader([mqtrailMetricProducer()]);
    const meterProvider = provider([only]);
    const first = new MessagingMetrics(meterProvider.getMeter(...SCOPE));
    const second = new MessagingMetrics(meterProvider.getMeter(...SCOPE));
    first.recordDeliveryLatency({ ...labels, partition: 0 }, 1_000, 2_000);
    second.recordDeliveryLatency({ ...labels, partition: 1 }, 1_000, 3_000);
    first.recordDeliveryLatency({ ...labels }, 1_000, 4_000);
    const points = histogramPoints(await only.collect(), 'mqtrail.delivery.latency');
    expect(points.map((p) => [p.value.count, p.value.sum])).toEqual([[3, 6]]);
  });

  it('keeps separate meters in separate scope entries, in the order they first recorded', async () => {
    const only = reader([mqtrailMetricProducer()]);
    const meterProvider = provider([only]);
    const amqp = new MessagingMetrics(meterProvider.getMeter('@mqtrail/instrumentation-amqplib', '0.1.0'));
    const kafka = new MessagingMetrics(meterProvider.getMeter(...SCOPE));
    recordEveryHistogram(amqp, { system: 'rabbitmq', operation: 'process', destination: 'q' });
    recordEveryHistogram(kafka, labels);
    const { scopeMetrics } = (await only.collect()).resourceMetrics;
    expect(scopeMetrics.map(({ scope }) => scope.name)).toEqual(['@mqtrail/instrumentation-amqplib', SCOPE[0]]);
  });
});

/**
 * What OTLP exporters serialize is the MetricData itself: everything but the times must be what
 * the SDK reports for the same recordings (its descriptor included).
 */
describe('aggregated histograms report what SDK histograms report', () => {
  const recordings = (metrics: MessagingMetrics, clock: { now: number }) => {
    const rabbit: MetricLabels = { system: 'rabbitmq', operation: 'process', destination: 'orders' };
    const temporary: MetricLabels = { system: 'rabbitmq', operation: 'process', destination: 'amq.gen-x1' };
    const kafka = [0, 1, 2].map((partition) => ({ ...labels, partition }));
    // Every boundary exactly, a little above each, zero, and beyond the last.
    const latencies = [0, ...LATENCY_BUCKETS, ...LATENCY_BUCKETS.map((b) => b + 0.0001), 1_000];
    latencies.forEach((seconds, i) => {
      metrics.recordDeliveryLatency(kafka[i % 3] as MetricLabels, 1_000_000, 1_000_000 + seconds * 1000);
      metrics.recordChainLatency(i % 2 === 0 ? rabbit : temporary, 1_000_000, 1_000_000 + seconds * 1000);
    });
    for (const [i, seconds] of [0, ...DURATION_BUCKETS, 0.0123, 42].entries()) {
      const end = metrics.startProcess(i % 2 === 0 ? rabbit : (kafka[0] as MetricLabels));
      const operation = metrics.startOperation({ ...rabbit, operation: 'ack' });
      clock.now += seconds * 1000;
      end(i % 3 === 0 ? 'TypeError' : undefined);
      operation(i % 4 === 0 ? 'ChannelClosed' : undefined);
    }
  };

  /** Times differ between two providers; everything else must not. */
  function withoutTimes(metrics: MetricData[]): unknown {
    return metrics.map((metric) => ({
      ...metric,
      dataPoints: metric.dataPoints.map(({ startTime: _s, endTime: _e, ...point }) => point),
    }));
  }

  it.each<SemconvMode>(['old', 'new', 'dup'])('semconv %s', async (mode) => {
    const clock = { now: 5_000 };
    vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
    const sdkReader = reader();
    const ownReader = reader([mqtrailMetricProducer()]);
    const sdk = new MessagingMetrics(provider([sdkReader]).getMeter(...SCOPE), semconvNames(mode));
    const own = new MessagingMetrics(provider([ownReader]).getMeter(...SCOPE), semconvNames(mode));
    recordings(sdk, clock);
    clock.now = 5_000;
    recordings(own, clock);

    const sdkResult = await sdkReader.collect();
    const ownResult = await ownReader.collect();
    expect(sdkResult.resourceMetrics.scopeMetrics).toHaveLength(1);
    expect(ownResult.resourceMetrics.scopeMetrics).toHaveLength(1);
    const [sdkScope] = sdkResult.resourceMetrics.scopeMetrics;
    const [ownScope] = ownResult.resourceMetrics.scopeMetrics;
    expect(ownScope?.scope).toEqual(sdkScope?.scope);
    expect(ownScope?.metrics.map((m) => m.descriptor.name)).toEqual(HISTOGRAM_NAMES);
    expect(withoutTimes(ownScope?.metrics ?? [])).toEqual(withoutTimes(sdkScope?.metrics ?? []));
    // Start times are each series' first point, end times the collection: both well formed.
    for (const metric of ownScope?.metrics ?? []) {
      for (const point of metric.dataPoints) {
        expect(point.startTime[0]).toBeGreaterThan(1_600_000_000);
        expect(point.endTime[0]).toBeGreaterThanOrEqual(point.startTime[0]);
      }
    }
  });
});

describe('attributes of aggregated points', () => {
  it('are the label set’s histogram attributes, partition left out', async () => {
    const only = reader([mqtrailMetricProducer()]);
    const metrics = new MessagingMetrics(provider([only]).getMeter(...SCOPE));
    metrics.recordChainLatency({ ...labels, partition: 4 }, 0, 1_000);
    const [point] = histogramPoints(await only.collect(), 'mqtrail.chain.latency');
    expect(point?.attributes).toEqual<Attributes>({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'orders',
      'messaging.consumer.group.name': 'g',
    });
  });
});

describe('PeriodicExportingMetricReader', () => {
  it('exports the aggregated histograms with the SDK’s metrics', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const periodic = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: 3_600_000,
      metricProducers: [mqtrailMetricProducer()],
    });
    const meterProvider = provider([periodic]);
    const metrics = new MessagingMetrics(meterProvider.getMeter(...SCOPE));
    recordEveryHistogram(metrics, labels);
    metrics.recordSent(labels);
    await meterProvider.forceFlush();
    const names = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => m.descriptor.name)));
    expect(names.sort()).toEqual(['messaging.client.sent.messages', ...HISTOGRAM_NAMES].sort());
    await meterProvider.shutdown();
  });
});
