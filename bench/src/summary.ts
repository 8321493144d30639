/**
 * Turns the raw job results of a run into medians, ranges and ratios to `none`, and checks them
 * against the targets of issue #13.
 */
import {
  type Client,
  type Job,
  type JobResult,
  METRIC_POINT_LABEL_SETS,
  metricPointKey,
  type VariantName,
} from './protocol';
import { ratio, type Summary, steadyHeapTrend, summarize } from './stats';

/** `hot/kafkajs`, `broker/amqplib-confirm`, `soak/amqplib`, `micro/metric-point`, ... */
export function workloadOf(job: Job): string {
  if (job.kind === 'micro') return `micro/${job.name}`;
  const mode = job.kind === 'broker' && job.mode !== 'default' ? `-${job.mode}` : '';
  return `${job.kind}/${job.client}${mode}`;
}

export interface SummaryEntry extends Summary {
  workload: string;
  metric: string;
  variant: VariantName;
  /** Median over the `none` median; NaN for `none` itself or without a baseline. */
  ratioToNone: number;
  /** Median minus the `none` median (hot-path overhead in ns per message). */
  overNone: number;
}

export function summarizeResults(results: readonly JobResult[]): SummaryEntry[] {
  const groups = new Map<string, { workload: string; metric: string; variant: VariantName; values: number[] }>();
  for (const result of results) {
    if (!result.ok || result.job.kind === 'soak') continue;
    const workload = workloadOf(result.job);
    for (const [metric, value] of Object.entries(result.measurements)) {
      const key = `${workload}\u0000${metric}\u0000${result.job.variant}`;
      const group = groups.get(key) ?? { workload, metric, variant: result.job.variant, values: [] };
      group.values.push(value);
      groups.set(key, group);
    }
  }
  const entries: SummaryEntry[] = [...groups.values()].map(({ workload, metric, variant, values }) => ({
    workload,
    metric,
    variant,
    ...summarize(values),
    ratioToNone: Number.NaN,
    overNone: Number.NaN,
  }));
  for (const entry of entries) {
    if (entry.variant === 'none') continue;
    const baseline = entries.find(
      (e) => e.variant === 'none' && e.workload === entry.workload && e.metric === entry.metric,
    );
    if (baseline === undefined) continue;
    entry.ratioToNone = ratio(entry.median, baseline.median);
    entry.overNone = entry.median - baseline.median;
  }
  return entries;
}

export function find(
  entries: readonly SummaryEntry[],
  workload: string,
  metric: string,
  variant: VariantName,
): SummaryEntry | undefined {
  return entries.find((e) => e.workload === workload && e.metric === metric && e.variant === variant);
}

export interface SoakSummary {
  client: Client;
  variant: VariantName;
  messages: number;
  samples: [number, number][];
  /** Heap after the first sampling interval, when the bounded caches have filled. */
  heapAfterFirstInterval: number;
  heapEnd: number;
  growthAfterFirstInterval: number;
  /** Least-squares slope after the first interval, bytes per message. */
  slopeBytesPerMessage: number;
  flat: boolean;
}

/**
 * "Flat" means the heap trend after the first interval stays under one byte per message: a
 * retained span, message or map entry per message is hundreds of bytes, so anything below that is
 * GC noise and bounded caches settling.
 */
export const FLAT_BYTES_PER_MESSAGE = 1;

export function summarizeSoak(results: readonly JobResult[]): SoakSummary[] {
  return results
    .filter((result) => result.ok && result.job.kind === 'soak' && result.heapSamples !== undefined)
    .map((result) => {
      const samples = result.heapSamples ?? [];
      const interval = result.job.kind === 'soak' ? result.job.sampleEvery : 0;
      const { first, last, bytesPerMessage: perMessage } = steadyHeapTrend(samples, interval);
      return {
        client: result.job.client,
        variant: result.job.variant,
        messages: result.job.kind === 'soak' ? result.job.messages : 0,
        samples,
        heapAfterFirstInterval: first,
        heapEnd: last,
        growthAfterFirstInterval: last - first,
        slopeBytesPerMessage: perMessage,
        flat: Number.isFinite(perMessage) && perMessage < FLAT_BYTES_PER_MESSAGE,
      };
    });
}

/**
 * `unreachable`: mqtrail misses the target and so does the floor (the `floor` / `floor-1%` variant,
 * the least any span-per-message instrumentation does on the same SDK; for full sampling, `shape`,
 * the same with mqtrail's span content; for the metrics cost, the least any pre-aggregation does):
 * no implementation could meet it on this SDK (for full sampling: none whose spans show what
 * mqtrail's show).
 */
export type TargetStatus = 'met' | 'missed' | 'unreachable' | 'not measured';

/** Issue #13's targets the bench measures (4, the unsampled fast path, is a property of the code). */
export type TargetNumber = 1 | 2 | 3 | 5;

export const TARGET_TITLES: Record<TargetNumber, string> = {
  1: 'Production configuration: `ParentBased(TraceIdRatioBased(0.01))`, every mqtrail metric on',
  2: 'Full sampling',
  3: 'Metrics cost: one histogram point ≤ 10% of the SDK’s `Histogram.record`',
  5: 'Heap flat over 1,000,000 messages, at 100% and at 1%',
};

export interface TargetCheck {
  target: TargetNumber;
  /** What is checked, e.g. "mqtrail-1% overhead ≤ ½ of contrib-1%’s". */
  check: string;
  workload: string;
  /** The figure compared with the threshold, e.g. "0.42×". */
  value: string;
  /** What the value is computed from: medians (min–max) of each side. */
  figures: string;
  /** The same figure for the floor, when it ran. */
  floor: string;
  status: TargetStatus;
}

function status(value: number, floor: number, meets: (value: number) => boolean): TargetStatus {
  if (!Number.isFinite(value)) return 'not measured';
  if (meets(value)) return 'met';
  return Number.isFinite(floor) && !meets(floor) ? 'unreachable' : 'missed';
}

const fixed2 = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');
const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '—');
const percent = (value: number) => (Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '—');
const integer = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const signed = (value: number) => (Number.isFinite(value) && value >= 0 ? `+${integer(value)}` : integer(value));
const mib = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(2) : 'n/a');

/** "12,345 (12,000–12,900)": a median with its range, when there is more than one sample. */
export function medianRange(entry: SummaryEntry | undefined, format: (value: number) => string = integer): string {
  if (entry === undefined) return 'n/a';
  const range = entry.n > 1 ? ` (${format(entry.min)}–${format(entry.max)})` : '';
  return `${format(entry.median)}${range}`;
}

const HOT_OPERATIONS = (entries: readonly SummaryEntry[]) =>
  entries.filter((e) => e.workload.startsWith('hot/') && e.variant === 'none' && e.metric.endsWith('.nsPerMessage'));

const operationName = (entry: SummaryEntry) => `${entry.workload} ${entry.metric.split('.')[0]}`;

const notMeasured = (target: TargetNumber, check: string, workload: string, how: string): TargetCheck => ({
  target,
  check,
  workload,
  value: '—',
  figures: how,
  floor: '—',
  status: 'not measured',
});

/** "not run: mqtrail-1%" when a variant a check needs has no figure; undefined when all ran. */
function notRun(sides: Record<string, SummaryEntry | undefined>): string | undefined {
  const missing = Object.entries(sides)
    .filter(([, entry]) => entry === undefined || !Number.isFinite(entry.median))
    .map(([variant]) => variant);
  return missing.length === 0 ? undefined : `not run: ${missing.join(', ')}`;
}

/**
 * Hot path: `variant`'s overhead over none as a share of `reference`'s, on one operation; the floor
 * is `floorVariant`'s share. Met when the share is at most `most`.
 */
function hotShare(
  entries: readonly SummaryEntry[],
  none: SummaryEntry,
  target: TargetNumber,
  check: string,
  variants: { ours: VariantName; reference: VariantName; floor: VariantName },
  most: number,
): TargetCheck {
  const ours = find(entries, none.workload, none.metric, variants.ours);
  const reference = find(entries, none.workload, none.metric, variants.reference);
  const floor = find(entries, none.workload, none.metric, variants.floor);
  const share = ratio(ours?.overNone ?? Number.NaN, reference?.overNone ?? Number.NaN);
  const floorShare = ratio(floor?.overNone ?? Number.NaN, reference?.overNone ?? Number.NaN);
  return {
    target,
    check,
    workload: operationName(none),
    value: times(share),
    figures:
      notRun({ [variants.ours]: ours, [variants.reference]: reference }) ??
      `${signed(ours?.overNone ?? Number.NaN)} vs ${signed(reference?.overNone ?? Number.NaN)} ns/msg over none; ` +
        `${variants.ours} ${medianRange(ours)}, ${variants.reference} ${medianRange(reference)}, none ${medianRange(none)}`,
    floor: times(floorShare),
    status: status(share, floorShare, (value) => value <= most),
  };
}

/** Real brokers: end-to-end msg/s of `ours` over `reference`'s; the floor is `floorVariant`'s over it. */
function brokerRatio(
  entries: readonly SummaryEntry[],
  workload: string,
  target: TargetNumber,
  check: string,
  variants: { ours: VariantName; reference: VariantName; floor: VariantName },
  least: number,
): TargetCheck {
  const metric = 'e2e.messagesPerSecond';
  const ours = find(entries, workload, metric, variants.ours);
  const reference = find(entries, workload, metric, variants.reference);
  const floor = find(entries, workload, metric, variants.floor);
  const value = ratio(ours?.median ?? Number.NaN, reference?.median ?? Number.NaN);
  const floorValue = ratio(floor?.median ?? Number.NaN, reference?.median ?? Number.NaN);
  return {
    target,
    check,
    workload,
    value: times(value),
    figures:
      notRun({ [variants.ours]: ours, [variants.reference]: reference }) ??
      `end-to-end msg/s: ${variants.ours} ${medianRange(ours)} vs ${variants.reference} ${medianRange(reference)}`,
    floor: times(floorValue),
    status: status(value, floorValue, (v) => v >= least),
  };
}

/** Issue #13's targets, one check per operation, workload, label set or soak run. */
export function checkTargets(entries: readonly SummaryEntry[], soak: readonly SoakSummary[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const hotOperations = HOT_OPERATIONS(entries);
  const brokerWorkloads = [...new Set(entries.map((e) => e.workload).filter((w) => w.startsWith('broker/')))];

  // 1. Production configuration.
  const HOT_1 = 'hot path: mqtrail-1% overhead ≤ ½ of contrib-1%’s';
  const E2E_1 = 'real broker: mqtrail-1% ≥ 0.85× none end to end';
  const VS_1 = 'real broker: mqtrail-1% never below contrib-1% end to end';
  for (const none of hotOperations) {
    checks.push(
      hotShare(entries, none, 1, HOT_1, { ours: 'mqtrail-1%', reference: 'contrib-1%', floor: 'floor-1%' }, 0.5),
    );
  }
  if (hotOperations.length === 0) checks.push(notMeasured(1, HOT_1, 'hot', 'run without --no-hot'));
  for (const workload of brokerWorkloads) {
    checks.push(
      brokerRatio(entries, workload, 1, E2E_1, { ours: 'mqtrail-1%', reference: 'none', floor: 'floor-1%' }, 0.85),
      brokerRatio(entries, workload, 1, VS_1, { ours: 'mqtrail-1%', reference: 'contrib-1%', floor: 'floor-1%' }, 1),
    );
  }
  if (brokerWorkloads.length === 0) {
    checks.push(
      notMeasured(1, E2E_1, 'broker', 'run without --no-broker'),
      notMeasured(1, VS_1, 'broker', 'run without --no-broker'),
    );
  }

  // 2. Full sampling. The floor carries mqtrail's span content (floor-shape.ts): at 100% every
  // message's span is built, and the issue rules out changing what it shows.
  const SHAPE = { ours: 'mqtrail', reference: 'contrib', floor: 'shape' } as const;
  const E2E_2 = 'real broker: mqtrail ≥ contrib end to end';
  const HOT_2 = 'hot path: mqtrail overhead ≤ contrib’s';
  for (const workload of brokerWorkloads) {
    checks.push(brokerRatio(entries, workload, 2, E2E_2, SHAPE, 1));
  }
  if (brokerWorkloads.length === 0) checks.push(notMeasured(2, E2E_2, 'broker', 'run without --no-broker'));
  for (const none of hotOperations) {
    checks.push(hotShare(entries, none, 2, HOT_2, SHAPE, 1));
  }
  if (hotOperations.length === 0) checks.push(notMeasured(2, HOT_2, 'hot', 'run without --no-hot'));

  // 3. Metrics cost.
  const MICRO = 'micro/metric-point';
  const POINT_3 = 'one histogram point: mqtrail ≤ 10% of the SDK’s Histogram.record';
  if (!entries.some((e) => e.workload === MICRO)) {
    checks.push(notMeasured(3, POINT_3, MICRO, 'run without --no-micro'));
  } else {
    for (const labelSet of METRIC_POINT_LABEL_SETS) {
      const of = (approach: 'sdk' | 'mqtrail' | 'floor') =>
        entries.find((e) => e.workload === MICRO && e.metric === metricPointKey('latency', labelSet, approach));
      const [sdk, mqtrail, floor] = [of('sdk'), of('mqtrail'), of('floor')];
      const share = ratio(mqtrail?.median ?? Number.NaN, sdk?.median ?? Number.NaN);
      const floorShare = ratio(floor?.median ?? Number.NaN, sdk?.median ?? Number.NaN);
      checks.push({
        target: 3,
        check: POINT_3,
        workload: `${MICRO} (${labelSet} consumer labels)`,
        value: percent(share),
        figures: `ns per point: MessagingMetrics ${medianRange(mqtrail)} vs SDK Histogram.record ${medianRange(sdk)}`,
        floor: percent(floorShare),
        status: status(share, floorShare, (value) => value <= 0.1),
      });
    }
  }

  // 5. Heap flat over the soak, at 100% and at 1%.
  const soakRuns = soak.filter((run) => run.variant === 'mqtrail' || run.variant === 'mqtrail-1%');
  if (soakRuns.length === 0) {
    checks.push(notMeasured(5, 'heap flat after the first interval', 'soak', 'run without --no-soak'));
  }
  for (const run of soakRuns) {
    checks.push({
      target: 5,
      check: `heap flat over ${run.messages.toLocaleString('en-US')} messages (trend < ${FLAT_BYTES_PER_MESSAGE} B/message)`,
      workload: `soak/${run.client} ${run.variant}`,
      value: `${fixed2(run.slopeBytesPerMessage)} B/message`,
      figures: `heapUsed after GC ${mib(run.heapAfterFirstInterval)} → ${mib(run.heapEnd)} MiB after the first interval`,
      floor: '—',
      status: run.flat ? 'met' : 'missed',
    });
  }
  return checks;
}

export interface TargetRollUp {
  target: TargetNumber;
  met: number;
  total: number;
  status: TargetStatus;
}

/**
 * One line per target: missed when any check is missed; else not measured when any check was not
 * measured; else unreachable when any check is; met when every check is.
 */
export function rollUpTargets(checks: readonly TargetCheck[]): TargetRollUp[] {
  const numbers = [...new Set(checks.map((check) => check.target))].sort((a, b) => a - b);
  return numbers.map((target) => {
    const mine = checks.filter((check) => check.target === target);
    const met = mine.filter((check) => check.status === 'met').length;
    const open = mine.filter((check) => check.status !== 'met');
    let overall: TargetStatus = 'met';
    if (open.some((check) => check.status === 'missed')) overall = 'missed';
    else if (open.some((check) => check.status === 'not measured')) overall = 'not measured';
    else if (open.length > 0) overall = 'unreachable';
    return { target, met, total: mine.length, status: overall };
  });
}
