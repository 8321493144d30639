/**
 * What the orchestrator (run.ts) asks of one child process, and what the child answers. Every job
 * runs in a fresh process: instrumentations patch the same modules, so two never share one.
 */

export type Client = 'kafkajs' | 'amqplib';
export const CLIENTS: readonly Client[] = ['kafkajs', 'amqplib'];

/**
 * `sdk` installs the SDK and the context manager but no instrumentation. `floor` adds the least a
 * span-per-message instrumentation does (floor.ts): what the SDK costs any instrumentation.
 * `shape` is the floor whose spans carry what mqtrail's do (floor-shape.ts): what mqtrail's spans
 * alone cost, at 100%.
 * No suffix samples 100%; `-1%` is production's head sampling, `ParentBased(TraceIdRatioBased(0.01))`;
 * `-0%` samples nothing (`ParentBased(TraceIdRatioBased(0))`).
 */
export type VariantName =
  | 'none'
  | 'sdk'
  | 'floor'
  | 'floor-1%'
  | 'shape'
  | 'contrib'
  | 'contrib-1%'
  | 'contrib-0%'
  | 'mqtrail'
  | 'mqtrail-1%'
  | 'mqtrail-0%';
export const VARIANTS: readonly VariantName[] = [
  'none',
  'sdk',
  'floor',
  'floor-1%',
  'shape',
  'contrib',
  'contrib-1%',
  'contrib-0%',
  'mqtrail',
  'mqtrail-1%',
  'mqtrail-0%',
];

/** The root sampler's ratio of a variant: 1, 0.01 or 0 (`none` and `sdk` make no spans anyway). */
export function samplingRatio(variant: VariantName): number {
  if (variant.endsWith('-0%')) return 0;
  if (variant.endsWith('-1%')) return 0.01;
  return 1;
}

interface JobBase {
  client: Client;
  variant: VariantName;
  /** Unique per run: names topics, queues and consumer groups so runs never share state. */
  runId: string;
  rep: number;
}

/** Per-message cost with the network replaced by in-memory fakes (see hot/*.ts). */
export interface HotJob extends JobBase {
  kind: 'hot';
  /** Messages per operation, timed. */
  messages: number;
  /** Messages per operation run first, untimed, so every variant is measured JIT-warm. */
  warmup: number;
  /** Messages per kafkajs `send` / fetched batch, and per amqplib confirm batch. */
  batch: number;
}

/** Real brokers on 127.0.0.1. */
export interface BrokerJob extends JobBase {
  kind: 'broker';
  /** amqplib only: publish on a plain channel or on a confirm channel. */
  mode: 'plain' | 'confirm' | 'default';
  messages: number;
  warmup: number;
  batch: number;
  prefetch: number;
}

/** Heap after GC sampled while a million hot-path messages go through one variant. */
export interface SoakJob extends JobBase {
  kind: 'soak';
  messages: number;
  sampleEvery: number;
  batch: number;
}

/**
 * A micro-benchmark (src/micro/) run in its own process like every job, with the `sdk` variant's
 * set-up: `metric-point` times one histogram point recorded through the SDK's synchronous
 * `Histogram.record` and through mqtrail's `MessagingMetrics` (see micro/metric-point.ts).
 */
export interface MicroJob extends JobBase {
  kind: 'micro';
  name: 'metric-point';
  /** Timed calls per round and approach. */
  calls: number;
  /** Alternating rounds; each approach's figure is its median over the rounds. */
  rounds: number;
}

export type Job = HotJob | BrokerJob | SoakJob | MicroJob;

/** The label sets metric-point times: a RabbitMQ consumer's, a Kafka consumer's. */
export const METRIC_POINT_LABEL_SETS = ['rabbitmq', 'kafka'] as const;
export type MetricPointLabelSet = (typeof METRIC_POINT_LABEL_SETS)[number];

/**
 * A metric-point measurement: `<recording>.<label set>.<approach>.nsPerPoint`, e.g.
 * `latency.kafka.mqtrail.nsPerPoint`. `latency` is the target's point (a delivery latency), `process`
 * the informational process duration with its clock reads.
 */
export function metricPointKey(
  recording: 'latency' | 'process',
  labelSet: MetricPointLabelSet,
  approach: 'sdk' | 'mqtrail' | 'floor',
): string {
  return `${recording}.${labelSet}.${approach}.nsPerPoint`;
}

/** Named measurements of one job, e.g. `produce.nsPerMessage` or `send.messagesPerSecond`. */
export type Measurements = Record<string, number>;

export interface TelemetryCounts {
  /** Spans the exporter received (after a flush at the end of the job). */
  spans: number;
  /** Metric data points in the last collection. */
  metricPoints: number;
}

export interface JobResult {
  job: Job;
  ok: boolean;
  /** Why the job produced nothing (instrumentation not built yet, broker down, ...). */
  error?: string;
  measurements: Measurements;
  telemetry?: TelemetryCounts;
  /** Soak only: [messages, heapUsed bytes after GC] pairs. */
  heapSamples?: [number, number][];
  durationMs: number;
}
