import type { BrokerJob } from '../protocol';

/** Topic, queue and group names unique to one run, variant, repetition and mode. */
export function destinationName(job: BrokerJob): string {
  const variant = job.variant.replace('%', 'pct');
  const mode = job.mode === 'default' ? '' : `-${job.mode}`;
  return `mqtrail-bench-${job.runId}-${variant}-r${job.rep}${mode}`;
}

/** Everything a broker workload reports, in the units of the report. */
export function brokerMeasurements(input: {
  messages: number;
  startedAt: number;
  sentAt: number;
  lastConsumedAt: number;
  latency: { p50: number; p99: number };
  heapBefore: number;
  heapAfter: number;
}): Record<string, number> {
  const { messages } = input;
  return {
    'send.messagesPerSecond': messages / ((input.sentAt - input.startedAt) / 1000),
    'e2e.messagesPerSecond': messages / ((input.lastConsumedAt - input.startedAt) / 1000),
    'latency.p50Ms': input.latency.p50,
    'latency.p99Ms': input.latency.p99,
    'heap.growthBytesPer100k': ((input.heapAfter - input.heapBefore) * 100_000) / messages,
  };
}
