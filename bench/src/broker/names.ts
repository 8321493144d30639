import { epochMs } from '../messages';
import type { BrokerJob } from '../protocol';
import { settledHeapUsed } from '../timing';
import type { DeliverySink } from './sink';

/** Topic, queue and group names unique to one run, variant, repetition and mode. */
export function destinationName(job: BrokerJob): string {
  const variant = job.variant.replace('%', 'pct');
  const mode = job.mode === 'default' ? '' : `-${job.mode}`;
  return `mqtrail-bench-${job.runId}-${variant}-r${job.rep}${mode}`;
}

/**
 * The measured phase every broker workload shares: send `job.messages`, wait until the sink has
 * seen them all (warm-up included), and report throughput, latency and heap growth in the units
 * of the report.
 */
export async function measureBrokerRun(
  job: BrokerJob,
  sink: DeliverySink,
  sendAll: (count: number) => Promise<void>,
): Promise<Record<string, number>> {
  const heapBefore = settledHeapUsed();
  const startedAt = epochMs();
  await sendAll(job.messages);
  const sentAt = epochMs();
  await sink.until(job.warmup + job.messages, 300_000);
  const heapAfter = settledHeapUsed();
  const latency = sink.latencyPercentiles();
  return {
    'send.messagesPerSecond': job.messages / ((sentAt - startedAt) / 1000),
    'e2e.messagesPerSecond': job.messages / ((sink.lastMeasuredAt - startedAt) / 1000),
    'latency.p50Ms': latency.p50,
    'latency.p99Ms': latency.p99,
    'heap.growthBytesPer100k': ((heapAfter - heapBefore) * 100_000) / job.messages,
  };
}
