/**
 * Micro-benchmark `metric-point`: what recording one histogram point costs on mqtrail's hot path,
 * against the SDK's synchronous `Histogram.record` of the same point (issue #13, target 3: ≤ 10%).
 * It runs in every `pnpm bench` repetition (a `micro` job, with the `sdk` variant's set-up from
 * src/telemetry.ts) and on its own:
 *
 *   node --expose-gc bench/dist/micro/metric-point.js
 *
 * The same point three ways, for two realistic label sets (a RabbitMQ consumer's, a Kafka
 * consumer's with partition and consumer group):
 *
 * - `sdk`: `Histogram.record(seconds, attributes)` on an SDK histogram with mqtrail's name, unit and
 *   buckets, the attributes being exactly those mqtrail's point carries;
 * - `mqtrail`: `MessagingMetrics#recordDeliveryLatency(labels, sentAtMs, nowMs)` with one labels
 *   object per subscription, as the instrumentations keep it. Only the public method is called, so
 *   however MessagingMetrics records (SDK instruments, or aggregates handed to the SDK through a
 *   MetricProducer) this measures it without edits;
 * - `floor`: the least any recording can do — find the series by the labels object (WeakMap), the
 *   bucket by a linear scan, add to count, sum, min, max — the cost of pre-aggregation itself.
 *
 * Informational, not a target: a process duration (`startProcess(labels)` then its end function)
 * against `performance.now()` twice and `Histogram.record`: the clock reads and the closure included.
 *
 * Approaches run in alternating rounds, their order rotated per round; each figure is the median
 * of its rounds, in ns per point.
 */
import {
  DURATION_BUCKETS,
  LATENCY_BUCKETS,
  MessagingMetrics,
  type MetricLabels,
  metricAttributes,
} from '@mqtrail/core';
import { type Attributes, type Histogram, metrics } from '@opentelemetry/api';
import { METRIC_POINT_LABEL_SETS, type Measurements, type MetricPointLabelSet, metricPointKey } from '../protocol';
import { median } from '../stats';
import { setUpTelemetry } from '../telemetry';

export interface MetricPointOptions {
  /** Timed calls per round and approach. */
  calls: number;
  /** Untimed calls per approach before the first round. */
  warmup: number;
  rounds: number;
}

export const METRIC_POINT_DEFAULTS: MetricPointOptions = { calls: 200_000, warmup: 50_000, rounds: 5 };

/** The label sets timed, by the name used in the measurement keys. */
export const LABEL_SETS: Record<MetricPointLabelSet, MetricLabels> = {
  rabbitmq: { system: 'rabbitmq', operation: 'process', destination: 'orders' },
  kafka: { system: 'kafka', operation: 'process', destination: 'orders', partition: 0, consumerGroup: 'shipping' },
};

/** The attributes of mqtrail's histogram point: its metric labels without the partition. */
function pointAttributes(labels: MetricLabels): Attributes {
  const attributes = { ...metricAttributes(labels) };
  delete attributes['messaging.destination.partition.id'];
  return attributes;
}

/** The least pre-aggregation does per point: an explicit-bucket histogram in plain numbers. */
class HistogramCells {
  readonly counts: Float64Array;
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  constructor(private readonly boundaries: readonly number[]) {
    this.counts = new Float64Array(boundaries.length + 1);
  }

  record(value: number): void {
    const { boundaries } = this;
    let bucket = 0;
    while (bucket < boundaries.length && value > (boundaries[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

/** Delivery latencies in seconds, log-uniform from 0.5 ms to 5 s (deterministic), so every bucket is hit. */
function latencies(count: number): Float64Array {
  const values = new Float64Array(count);
  let state = 0x2545f491;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    values[i] = 0.0005 * 10_000 ** (state / 2 ** 32);
  }
  return values;
}

type Call = (i: number) => void;

function timeCalls(call: Call, calls: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) call(i);
  return Number(process.hrtime.bigint() - started) / calls;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Times every approach, interleaved; returns ns per point by measurement key. */
export function measureMetricPoint(options: MetricPointOptions = METRIC_POINT_DEFAULTS): Measurements {
  const sdkMeter = metrics.getMeter('mqtrail-bench-metric-point-sdk');
  const latencyHistogram: Histogram = sdkMeter.createHistogram('mqtrail.delivery.latency', {
    description: 'Time from a message being sent to the start of its processing.',
    unit: 's',
    advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
  });
  const processHistogram: Histogram = sdkMeter.createHistogram('messaging.process.duration', {
    description: 'Duration of processing operation.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const messagingMetrics = new MessagingMetrics(metrics.getMeter('mqtrail-bench-metric-point'));
  const floorSeries = new WeakMap<MetricLabels, HistogramCells>();
  const values = latencies(1024);
  const nowMs = Date.now();
  const sentAtMs = Float64Array.from(values, (seconds) => nowMs - seconds * 1000);

  const calls: [string, Call][] = [];
  for (const name of METRIC_POINT_LABEL_SETS) {
    const labels = LABEL_SETS[name];
    const attributes = pointAttributes(labels);
    floorSeries.set(labels, new HistogramCells(LATENCY_BUCKETS));
    calls.push(
      [metricPointKey('latency', name, 'sdk'), (i) => latencyHistogram.record(values[i & 1023] as number, attributes)],
      [
        metricPointKey('latency', name, 'mqtrail'),
        (i) => messagingMetrics.recordDeliveryLatency(labels, sentAtMs[i & 1023] as number, nowMs),
      ],
      [metricPointKey('latency', name, 'floor'), (i) => floorSeries.get(labels)?.record(values[i & 1023] as number)],
      [
        metricPointKey('process', name, 'sdk'),
        () => {
          const start = performance.now();
          processHistogram.record((performance.now() - start) / 1000, attributes);
        },
      ],
      [metricPointKey('process', name, 'mqtrail'), () => messagingMetrics.startProcess(labels)()],
    );
  }

  for (const [, call] of calls) for (let i = 0; i < options.warmup; i++) call(i);
  const perRound = new Map<string, number[]>(calls.map(([key]) => [key, []]));
  for (let round = 0; round < options.rounds; round++) {
    const shift = round % calls.length;
    for (const [key, call] of [...calls.slice(shift), ...calls.slice(0, shift)]) {
      collectGarbage();
      perRound.get(key)?.push(timeCalls(call, options.calls));
    }
  }
  const measurements: Measurements = {};
  for (const [key, rounds] of perRound) measurements[key] = median(rounds);
  // The floor's cells are read, so no compiler could drop the work.
  let recorded = 0;
  for (const labels of Object.values(LABEL_SETS)) recorded += floorSeries.get(labels)?.count ?? 0;
  if (recorded === 0) throw new Error('the floor recorded nothing');
  return measurements;
}

async function main(): Promise<void> {
  const telemetry = setUpTelemetry('sdk', 'amqplib');
  const measurements = measureMetricPoint();
  for (const [key, ns] of Object.entries(measurements)) {
    process.stdout.write(`${key.padEnd(40)} ${ns.toFixed(1).padStart(8)} ns\n`);
  }
  for (const name of METRIC_POINT_LABEL_SETS) {
    const share =
      (measurements[metricPointKey('latency', name, 'mqtrail')] ?? Number.NaN) /
      (measurements[metricPointKey('latency', name, 'sdk')] ?? Number.NaN);
    process.stdout.write(`${name}: mqtrail ÷ SDK Histogram.record = ${(share * 100).toFixed(1)}% (target ≤ 10%)\n`);
  }
  await telemetry.shutdown();
}

if (require.main === module) void main();
