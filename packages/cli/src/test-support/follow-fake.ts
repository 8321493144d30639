import type { JaegerTrace } from '../jaeger/types';
import { CLOCK_KEY, type FindingRecord, type InRecord, JoinTask, type OutRecord, spansToFacts } from '../follow/tasks';
import { toOtlp } from './otlp';

export interface FakeFollowOptions {
  graceUs: number;
  slowUs?: number;
  partitions?: number;
  /** Facts per stage-2 batch. */
  batchSize?: number;
  /** Order the span records reach stage 1 in. */
  order?: 'as-is' | 'reversed';
  /** Crash stage 2 (drop its state and the transaction in hand) before every n-th commit. */
  crashEvery?: number;
  /** Wall time of the final tick, epoch ms (default: far after every span). */
  finalMs?: number;
}

function partitionOf(key: string, partitions: number): number {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(hash) % partitions;
}

/**
 * `audit --follow` on in-memory topics: stage 1 over the traces' spans as OTLP/JSON records, the
 * facts re-keyed onto `partitions` partitions, stage 2 per partition in batches with transactions
 * simulated — a commit appends a batch's output to the topics and moves the offset; a crash drops
 * the task and the batch's output, restores a new task from the committed changelog and replays
 * from the committed offset. Returns the committed findings topic.
 */
export function runFakeFollow(traces: JaegerTrace[], options: FakeFollowOptions): FindingRecord[] {
  const partitions = options.partitions ?? 3;
  const batchSize = options.batchSize ?? 4;
  const joinOptions = { graceUs: options.graceUs, ...(options.slowUs === undefined ? {} : { slowUs: options.slowUs }) };
  const spanRecords: InRecord[] = traces.flatMap(toOtlp).map((request) => ({ key: null, value: JSON.stringify(request) }));
  if (options.order === 'reversed') spanRecords.reverse();

  const facts: InRecord[][] = Array.from({ length: partitions }, () => []);
  const changelog: { key: string; value: string | null }[][] = Array.from({ length: partitions }, () => []);
  const findings: FindingRecord[] = [];
  const append = (records: OutRecord[], partition: number) => {
    for (const record of records) {
      if (record.topic === 'facts') facts[partitionOf(record.key, partitions)]?.push(record);
      else if (record.topic === 'changelog') changelog[record.partition ?? partition]?.push(record);
      else findings.push(JSON.parse(record.value ?? 'null') as FindingRecord);
    }
  };

  // Stage 1, one span record per batch: stateless, so its output is appended as it comes.
  for (const record of spanRecords) append(spansToFacts([record], () => true, { chains: options.slowUs !== undefined }).records, 0);

  const restore = (partition: number) => {
    const task = new JoinTask(partition, joinOptions, 0);
    for (const record of changelog[partition] ?? []) task.restore(record.key, record.value);
    return task;
  };
  const tasks = Array.from({ length: partitions }, (_, partition) => restore(partition));
  const offsets = new Array<number>(partitions).fill(0);
  let commits = 0;
  const commit = (partition: number, records: OutRecord[]): boolean => {
    commits++;
    if (options.crashEvery !== undefined && commits % options.crashEvery === 0) {
      tasks[partition] = restore(partition);
      return false;
    }
    append(records, partition);
    return true;
  };

  for (let progress = true; progress; ) {
    progress = false;
    for (let partition = 0; partition < partitions; partition++) {
      const input = facts[partition] ?? [];
      const offset = offsets[partition] ?? 0;
      if (offset >= input.length) continue;
      progress = true;
      const batch = input.slice(offset, offset + batchSize);
      const task = tasks[partition] as JoinTask;
      task.facts(batch, 0);
      if (commit(partition, task.take().records)) offsets[partition] = offset + batch.length;
    }
  }
  // The wall clock moves on with no facts: every partition judges what is left.
  for (let partition = 0; partition < partitions; partition++) {
    for (;;) {
      const task = tasks[partition] as JoinTask;
      task.tick(options.finalMs ?? Number.MAX_SAFE_INTEGER / 1_000, 0);
      if (commit(partition, task.take().records)) break;
    }
  }
  return findings;
}

export { CLOCK_KEY };
