import {
  AggregationTemporality,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { beforeEach, describe, expect, it } from 'vitest';
import { mqtrailMetricProducer } from './metric-producer';
import { DURATION_BUCKETS, MessagingMetrics, metricAttributes } from './metrics';
import { type SemconvMode, semconvNames } from './semconv-stability';

async function collect(reader: PeriodicExportingMetricReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  const byName = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  return byName;
}

function histogramOf(metric: MetricData | undefined): Histogram {
  const value = metric?.dataPoints[0]?.value;
  if (typeof value !== 'object' || !('buckets' in value))
    throw new Error(`no histogram point in ${metric?.descriptor.name}`);
  return value;
}

/** A cumulative reader; with `aggregated`, mqtrail's producer on it, so histograms are aggregated in mqtrail. */
function createReader(aggregated: boolean): PeriodicExportingMetricReader {
  return new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 60_000,
    metricProducers: aggregated ? [mqtrailMetricProducer()] : [],
  });
}

describe.each([
  ['SDK histograms', false],
  ['histograms aggregated by mqtrail', true],
])('MessagingMetrics, %s', (_, aggregated) => {
  let reader: PeriodicExportingMetricReader;
  let metrics: MessagingMetrics;
  const labels = { system: 'kafka', operation: 'send', destination: 'orders' } as const;

  beforeEach(() => {
    reader = createReader(aggregated);
    const provider = new MeterProvider({ readers: [reader] });
    metrics = new MessagingMetrics(provider.getMeter('test'));
  });

  it('counts sent and consumed messages with semconv names and units', async () => {
    metrics.recordSent(labels, 3);
    metrics.recordConsumed({ ...labels, operation: 'process', consumerGroup: 'g' });
    const byName = await collect(reader);
    const sent = byName.get('messaging.client.sent.messages');
    expect(sent?.descriptor.unit).toBe('{message}');
    expect(sent?.dataPoints[0]?.value).toBe(3);
    expect(sent?.dataPoints[0]?.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'orders',
    });
    expect(byName.get('messaging.client.consumed.messages')?.dataPoints[0]?.attributes).toMatchObject({
      'messaging.consumer.group.name': 'g',
    });
  });

  it('times operations and processing in seconds with the advisory buckets', async () => {
    metrics.startOperation(labels)();
    metrics.startProcess({ ...labels, operation: 'process' })('TypeError');
    const byName = await collect(reader);
    for (const name of ['messaging.client.operation.duration', 'messaging.process.duration']) {
      const metric = byName.get(name);
      expect(metric?.descriptor.unit).toBe('s');
      expect(histogramOf(metric).buckets.boundaries).toEqual(DURATION_BUCKETS);
      expect(histogramOf(metric).count).toBe(1);
    }
    expect(byName.get('messaging.process.duration')?.dataPoints[0]?.attributes['error.type']).toBe('TypeError');
  });

  it('records delivery and chain latency, dropping negative skew', async () => {
    metrics.recordDeliveryLatency(labels, 1000, 3000);
    metrics.recordDeliveryLatency(labels, 5000, 3000);
    metrics.recordChainLatency(labels, 0, 10_000);
    const byName = await collect(reader);
    const delivery = histogramOf(byName.get('mqtrail.delivery.latency'));
    expect(delivery.count).toBe(1);
    expect(delivery.sum).toBe(2);
    expect(histogramOf(byName.get('mqtrail.chain.latency')).sum).toBe(10);
  });

  it('keeps outcomes and error types apart when one labels object is reused, and sums equal labels', async () => {
    const shared = { system: 'rabbitmq', operation: 'process', destination: 'q' } as const;
    for (let i = 0; i < 3; i++) metrics.recordSettled(shared, 'ack');
    metrics.recordSettled(shared, 'drop');
    metrics.recordSettled({ ...shared }, 'ack');
    metrics.recordConsumed(shared);
    metrics.recordConsumed({ ...shared });
    metrics.startProcess(shared)('TypeError');
    metrics.startProcess(shared)();
    const byName = await collect(reader);
    const settled = byName.get('mqtrail.settled.messages')?.dataPoints ?? [];
    expect(settled.map((p) => [p.attributes['mqtrail.settle.outcome'], p.value]).sort()).toEqual([
      ['ack', 4],
      ['drop', 1],
    ]);
    expect(byName.get('messaging.client.consumed.messages')?.dataPoints.map((p) => p.value)).toEqual([2]);
    const durations = byName.get('messaging.process.duration')?.dataPoints ?? [];
    expect(durations.map((p) => p.attributes['error.type']).sort()).toEqual(['TypeError', undefined]);
  });

  it('keeps the partition on counters and the lag gauge, not on duration and latency histograms', async () => {
    const partitioned = {
      system: 'kafka' as const,
      operation: 'process',
      destination: 'orders',
      partition: 3,
      consumerGroup: 'g',
    };
    metrics.recordConsumed(partitioned);
    metrics.startProcess(partitioned)();
    metrics.recordDeliveryLatency(partitioned, Date.now() - 10);
    metrics.recordChainLatency(partitioned, Date.now() - 10);
    metrics.recordConsumerLag(partitioned, 7);
    const byName = await collect(reader);
    const partitionOf = (name: string) =>
      byName.get(name)?.dataPoints[0]?.attributes['messaging.destination.partition.id'] ?? 'none';
    expect(partitionOf('messaging.client.consumed.messages')).toBe('3');
    expect(partitionOf('mqtrail.kafka.consumer.lag')).toBe('3');
    for (const name of ['messaging.process.duration', 'mqtrail.delivery.latency', 'mqtrail.chain.latency']) {
      expect(partitionOf(name)).toBe('none');
      expect(byName.get(name)?.dataPoints[0]?.attributes['messaging.consumer.group.name']).toBe('g');
    }
  });

  it('counts settle outcomes, redeliveries, duplicates, returns and lag', async () => {
    metrics.recordSettled(labels, 'ack', 2);
    metrics.recordSettled(labels, 'requeue');
    metrics.recordRedelivered(labels);
    metrics.recordDuplicate(labels);
    metrics.recordReturned(labels);
    metrics.recordConsumerLag({ ...labels, partition: 0, consumerGroup: 'g' }, 42);
    const byName = await collect(reader);
    const outcomes = byName
      .get('mqtrail.settled.messages')
      ?.dataPoints.map((p) => [p.attributes['mqtrail.settle.outcome'], p.value]);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        ['ack', 2],
        ['requeue', 1],
      ]),
    );
    for (const name of ['mqtrail.redelivered.messages', 'mqtrail.duplicate.messages', 'mqtrail.returned.messages']) {
      expect(byName.get(name)?.dataPoints[0]?.value).toBe(1);
    }
    const lag = byName.get('mqtrail.kafka.consumer.lag')?.dataPoints[0];
    expect(lag?.value).toBe(42);
    expect(lag?.attributes['messaging.destination.partition.id']).toBe('0');
  });
});

describe('metricAttributes', () => {
  it('folds temporary destinations so labels stay bounded', () => {
    expect(metricAttributes({ system: 'rabbitmq', operation: 'process', destination: 'amq.gen-123' })).toEqual({
      'messaging.system': 'rabbitmq',
      'messaging.operation.name': 'process',
      'messaging.destination.name': '(temporary)',
    });
  });
});

describe('metric labels under OTEL_SEMCONV_STABILITY_OPT_IN', () => {
  const labels = { system: 'kafka', operation: 'process', destination: 'orders', partition: 1 } as const;

  it.each<[SemconvMode, Record<string, string>]>([
    ['old', { 'messaging.system': 'kafka' }],
    ['new', { 'messaging.system.name': 'kafka' }],
    ['dup', { 'messaging.system': 'kafka', 'messaging.system.name': 'kafka' }],
  ])('%s: the system under %j, every other label unchanged', (mode, system) => {
    expect(metricAttributes(labels, semconvNames(mode))).toEqual({
      ...system,
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '1',
    });
  });

  it.each<[SemconvMode, string[], boolean]>([
    ['old', ['messaging.system'], false],
    ['new', ['messaging.system.name'], false],
    ['dup', ['messaging.system', 'messaging.system.name'], false],
    ['old', ['messaging.system'], true],
    ['new', ['messaging.system.name'], true],
    ['dup', ['messaging.system', 'messaging.system.name'], true],
  ])(
    '%s: every instrument records the system under %j (histograms aggregated: %s)',
    async (mode, names, aggregated) => {
      const reader = createReader(aggregated);
      const metrics = new MessagingMetrics(
        new MeterProvider({ readers: [reader] }).getMeter('test'),
        semconvNames(mode),
      );
      metrics.recordSent({ ...labels, operation: 'send' });
      metrics.recordConsumed(labels);
      metrics.startOperation(labels)('TypeError');
      metrics.startProcess(labels)();
      metrics.recordDeliveryLatency(labels, Date.now() - 5);
      metrics.recordChainLatency(labels, Date.now() - 5);
      metrics.recordSettled(labels, 'commit');
      metrics.recordRedelivered(labels);
      metrics.recordDuplicate(labels);
      metrics.recordReturned(labels);
      metrics.recordConsumerLag(labels, 3);
      const byName = await collect(reader);
      expect(byName.size).toBe(11);
      for (const [name, metric] of byName) {
        const systemKeys = Object.keys(metric.dataPoints[0]?.attributes ?? {}).filter((key) =>
          key.startsWith('messaging.system'),
        );
        expect(systemKeys, name).toEqual(names);
      }
    },
  );
});
