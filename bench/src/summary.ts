/**
 * Turns the raw job results of a run into medians, ranges and ratios to `none`, and checks them
 * against the targets of issue #8.
 */
import type { Client, Job, JobResult, VariantName } from './protocol';
import { ratio, type Summary, steadyHeapTrend, summarize } from './stats';

/** `hot/kafkajs`, `broker/amqplib-confirm`, `soak/amqplib`, ... */
export function workloadOf(job: Job): string {
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
 * `unreachable`: mqtrail misses the target and so does the `floor` variant, the least any
 * span-per-message instrumentation does on the same SDK: no instrumentation could meet it.
 */
export type TargetStatus = 'met' | 'missed' | 'unreachable' | 'not measured';

export interface TargetCheck {
  target: string;
  workload: string;
  value: string;
  /** The same figure for the `floor` variant, when it ran. */
  floor: string;
  status: TargetStatus;
}

function status(value: number, floor: number, meets: (value: number) => boolean): TargetStatus {
  if (!Number.isFinite(value)) return 'not measured';
  if (meets(value)) return 'met';
  return Number.isFinite(floor) && !meets(floor) ? 'unreachable' : 'missed';
}

const fixed2 = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');

export function checkTargets(entries: readonly SummaryEntry[], soak: readonly SoakSummary[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const brokerWorkloads = [...new Set(entries.map((e) => e.workload).filter((w) => w.startsWith('broker/')))];
  for (const workload of brokerWorkloads) {
    for (const metric of ['send.messagesPerSecond', 'e2e.messagesPerSecond']) {
      const value = find(entries, workload, metric, 'mqtrail')?.ratioToNone ?? Number.NaN;
      const floor = find(entries, workload, metric, 'floor')?.ratioToNone ?? Number.NaN;
      checks.push({
        target: `throughput at 100% sampling ≥ 0.95× none (${metric.startsWith('send') ? 'send' : 'end-to-end'})`,
        workload,
        value: `${fixed2(value)}×`,
        floor: Number.isFinite(floor) ? `${fixed2(floor)}×` : '—',
        status: status(value, floor, (ratioToNone) => ratioToNone >= 0.95),
      });
    }
  }
  const hotMetrics = entries.filter(
    (e) => e.workload.startsWith('hot/') && e.variant === 'mqtrail' && e.metric.endsWith('.nsPerMessage'),
  );
  for (const mqtrail of hotMetrics) {
    const contrib = find(entries, mqtrail.workload, mqtrail.metric, 'contrib');
    const floor = find(entries, mqtrail.workload, mqtrail.metric, 'floor');
    const share = contrib === undefined ? Number.NaN : ratio(mqtrail.overNone, contrib.overNone);
    const floorShare =
      contrib === undefined || floor === undefined ? Number.NaN : ratio(floor.overNone, contrib.overNone);
    checks.push({
      target: 'hot-path overhead < ½ of contrib’s',
      workload: `${mqtrail.workload} ${mqtrail.metric.split('.')[0]}`,
      value: `${fixed2(share)}× contrib’s overhead`,
      floor: Number.isFinite(floorShare) ? `${fixed2(floorShare)}×` : '—',
      status: status(share, floorShare, (shareOfContrib) => shareOfContrib < 0.5),
    });
  }
  const soakRuns = soak.filter((s) => s.variant === 'mqtrail');
  if (soakRuns.length === 0) {
    checks.push({
      target: 'heap flat over 1,000,000 messages',
      workload: 'soak',
      value: 'run `pnpm bench --soak`',
      floor: '—',
      status: 'not measured',
    });
  }
  for (const run of soakRuns) {
    checks.push({
      target: `heap flat over ${run.messages.toLocaleString('en-US')} messages`,
      workload: `soak/${run.client}`,
      value: `${fixed2(run.slopeBytesPerMessage)} B/message after the first interval`,
      floor: '—',
      status: run.flat ? 'met' : 'missed',
    });
  }
  return checks;
}
