import { CLOCK_KEY, type FindingRecord, type InRecord, JoinTask, type OutRecord, SpanTask } from '../follow/tasks';
import type { JaegerTrace } from '../jaeger/types';
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
  const spanRecords: InRecord[] = traces
    .flatMap(toOtlp)
    .map((request) => ({ key: null, value: JSON.stringify(request) }));
  if (options.order === 'reversed') spanRecords.reverse();

  const facts: InRecord[][] = Array.from({ length: partitions }, () => []);
  const changelog: { key: string; value: string | null }[][] = Array.from({ length: partitions }, () => []);
  const findings: FindingRecord[] = [];
  const append = (records: OutRecord[], partition: number) => {
    for (const record of records) {
      if (record.topic === 'facts') facts[record.partition ?? partitionOf(record.key, partitions)]?.push(record);
      else if (record.topic === 'changelog') changelog[record.partition ?? partition]?.push(record);
      else findings.push(JSON.parse(record.value ?? 'null') as FindingRecord);
    }
  };

  // Stage 1 over two span partitions, one record per batch; it keeps no state but its watermark,
  // so its output is appended as it comes.
  const SOURCES = 2;
  const spanTasks = Array.from({ length: SOURCES }, (_, source) => new SpanTask(source, partitions));
  spanRecords.forEach((record, index) => {
    const task = spanTasks[index % SOURCES] as SpanTask;
    append(task.batch([record], () => true, { chains: options.slowUs !== undefined }).records, 0);
  });

  const restore = (partition: number) => {
    const task = new JoinTask(partition, joinOptions, SOURCES);
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

  const drain = () => {
    for (let progress = true; progress; ) {
      progress = false;
      for (let partition = 0; partition < partitions; partition++) {
        const input = facts[partition] ?? [];
        const offset = offsets[partition] ?? 0;
        if (offset >= input.length) continue;
        progress = true;
        const batch = input.slice(offset, offset + batchSize);
        const task = tasks[partition] as JoinTask;
        task.facts(batch);
        if (commit(partition, task.take().records)) offsets[partition] = offset + batch.length;
      }
    }
  };
  drain();
  // Then every span partition is caught up, and the wall clock moves on: their watermarks too.
  for (const task of spanTasks) append(task.idle(true, options.finalMs ?? Number.MAX_SAFE_INTEGER / 1_000, 0), 0);
  drain();
  return findings;
}

export { CLOCK_KEY };
