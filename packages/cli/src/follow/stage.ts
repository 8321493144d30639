import type { Admin, Batch, Consumer, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { OutRecord } from './tasks';

/**
 * One consume–transform–produce stage with Kafka transactions, one transactional producer per
 * input partition (kafkajs speaks the protocol before KIP-447, so zombies are fenced by
 * transactional id, as Kafka Streams' `exactly_once` did):
 *
 * - A partition's task opens when the group assigns it: its producer, with transactional id
 *   `<prefix>-<partition>`, initialises — which fences any earlier owner of the partition and
 *   aborts that owner's open transaction — and only then does the task read the group's committed
 *   offset and (stage 2) restore its state. Nothing the earlier owner did can commit after that.
 * - Each batch is one transaction: its output records and the offset after the batch
 *   (`sendOffsets`) commit together or not at all. A crash replays from the committed offset,
 *   whose output was committed with it: no input is processed twice into committed output, and
 *   none is skipped.
 * - A batch fetched from before the task's committed position (a worker that lost the partition
 *   without noticing and read ahead of the rebalance) is not processed: the consumer is moved back
 *   to the position and the batch dropped.
 * - A failed transaction (fenced, broker error) aborts; the task is dropped with its in-memory
 *   state and opened again (fencing, offset, restore) before the partition is used again.
 */

export interface StageTopics {
  input: string;
  facts: string;
  findings: string;
  changelog: string;
}

export interface StageTask<S> {
  partition: number;
  producer: Producer;
  state: S;
  /** Offset of the next record to process, as committed; undefined before the first commit. */
  position: bigint | undefined;
  /** Serialises batches and ticks of this partition. */
  queue: Promise<unknown>;
}

export interface StageHandlers<S> {
  /** Builds the partition's state once its producer fenced earlier owners (e.g. restores it). */
  open(partition: number): Promise<S>;
  /** Processes one batch; returns what to write with it. */
  batch(task: StageTask<S>, messages: KafkaMessage[], batch: Batch): OutRecord[];
  /** After a transaction committed (metrics, stdout). */
  committed?(task: StageTask<S>): void;
  /** After a transaction failed: the state is thrown away. */
  failed?(task: StageTask<S>, error: unknown): void;
}

export interface StageOptions {
  name: string;
  groupId: string;
  transactionalIdPrefix: string;
  topics: StageTopics;
  sessionTimeoutMs: number;
  transactionTimeoutMs: number;
  log: (line: string) => void;
}

const REOPEN_BACKOFF_MS = 2_000;
const PARTITIONS_CONCURRENTLY = 4;

export class TransactionalStage<S> {
  readonly consumer: Consumer;
  private readonly tasks = new Map<number, Promise<StageTask<S> | undefined>>();
  private readonly ready = new Map<number, StageTask<S>>();
  private assigned = new Set<number>();
  private readonly failedAt = new Map<number, number>();
  /**
   * Partitions whose producer was fenced, and when: another worker owns them, until the group
   * assigns them again — or, should no rebalance come (the broker expired our own transaction,
   * which reads the same), until two session timeouts have passed: by then a worker that really
   * lost the partition has heard so from the group.
   */
  private readonly fenced = new Map<number, number>();
  private stopping = false;
  /** Per partition: lag in records after the last batch, and the timestamp of its last record. */
  readonly lag = new Map<number, { records: number; lastTimestampMs: number }>();

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly options: StageOptions,
    private readonly handlers: StageHandlers<S>,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 5)),
      rebalanceTimeout: Math.max(options.sessionTimeoutMs, 30_000),
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const partitions = event.payload.memberAssignment[options.topics.input] ?? [];
      this.assign(new Set(partitions));
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topics.input, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Each partition has its own producer and transaction, so partitions need not wait for one
      // another's round trips (a batch's transaction is five of them).
      partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const task = await this.task(batch.partition);
        if (task === undefined) {
          // Not ours (any more), or failing: leave the offset where it is for the owner.
          await sleep(200);
          return;
        }
        const fetched = BigInt((batch as Batch & { fetchedOffset: string }).fetchedOffset);
        if (task.position !== undefined && fetched < task.position) {
          this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: task.position.toString() });
          return;
        }
        const next = BigInt(batch.lastOffset()) + 1n;
        const ok = await this.transact(task, (records) => {
          records.push(...this.handlers.batch(task, batch.messages, batch));
          return [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next.toString() }] }];
        });
        if (!ok) return;
        task.position = next;
        const last = batch.messages.at(-1);
        this.lag.set(batch.partition, {
          records: Number(batch.offsetLag()),
          lastTimestampMs: last === undefined ? Date.now() : Number(last.timestamp),
        });
        resolveOffset(batch.lastOffset());
        await heartbeat();
      },
    });
  }

  /** Runs `work` on every open task of this worker, each in its own transaction (stage 2's clock). */
  async forEachTask(work: (task: StageTask<S>) => OutRecord[] | undefined): Promise<void> {
    for (const partition of this.assigned) {
      const task = await this.task(partition);
      if (task === undefined) continue;
      let produced: OutRecord[] | undefined;
      await this.transact(
        task,
        (records) => {
          produced = work(task);
          if (produced !== undefined) records.push(...produced);
          return undefined;
        },
        () => produced !== undefined && produced.length > 0,
      );
    }
  }

  /** The tasks open now (not those still opening). */
  openTasksNow(): StageTask<S>[] {
    return [...this.ready.values()];
  }

  /** Partitions with an open task. */
  openTasks(): Promise<StageTask<S>[]> {
    return Promise.all([...this.tasks.values()]).then((tasks) => tasks.filter((task) => task !== undefined));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // Lets the batch in hand commit, then leaves the group.
    await this.consumer.disconnect().catch(() => {});
    const tasks = await this.openTasks();
    await Promise.all(tasks.map((task) => task.queue.catch(() => {})));
    await Promise.all(tasks.map((task) => task.producer.disconnect().catch(() => {})));
    this.tasks.clear();
    this.ready.clear();
  }

  private assign(partitions: Set<number>): void {
    this.assigned = partitions;
    for (const partition of [...this.tasks.keys()]) {
      if (!partitions.has(partition)) this.close(partition);
    }
    this.failedAt.clear();
    this.fenced.clear();
    for (const partition of partitions) void this.task(partition);
    this.options.log(`${this.options.name}: assigned partitions [${[...partitions].sort((a, b) => a - b).join(', ')}]`);
  }

  private task(partition: number): Promise<StageTask<S> | undefined> {
    if (this.stopping || !this.assigned.has(partition)) return Promise.resolve(undefined);
    const fencedAt = this.fenced.get(partition);
    if (fencedAt !== undefined && Date.now() - fencedAt < 2 * this.options.sessionTimeoutMs)
      return Promise.resolve(undefined);
    const open = this.tasks.get(partition);
    if (open !== undefined) return open;
    const failedAt = this.failedAt.get(partition);
    if (failedAt !== undefined && Date.now() - failedAt < REOPEN_BACKOFF_MS) return Promise.resolve(undefined);
    const opening = this.open(partition)
      .then((task) => {
        if (this.tasks.get(partition) === opening) this.ready.set(partition, task);
        return task;
      })
      .catch((error: unknown) => {
        this.options.log(`${this.options.name}: partition ${partition} could not open: ${errorText(error)}`);
        this.tasks.delete(partition);
        this.failedAt.set(partition, Date.now());
        return undefined;
      });
    this.tasks.set(partition, opening);
    return opening;
  }

  private async open(partition: number): Promise<StageTask<S>> {
    const producer = this.kafka.producer({
      transactionalId: `${this.options.transactionalIdPrefix}-${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs,
      allowAutoTopicCreation: false,
    });
    try {
      // Initialising the transactional id fences the partition's earlier owner: from here on,
      // what it has not committed never will be, and the offset read next is final.
      await producer.connect();
      const [offsets] = await this.admin.fetchOffsets({
        groupId: this.options.groupId,
        topics: [this.options.topics.input],
      });
      const committed = offsets?.partitions.find((entry) => entry.partition === partition)?.offset;
      const state = await this.handlers.open(partition);
      return {
        partition,
        producer,
        state,
        position: committed === undefined || BigInt(committed) < 0n ? undefined : BigInt(committed),
        queue: Promise.resolve(),
      };
    } catch (error) {
      await producer.disconnect().catch(() => {});
      throw error;
    }
  }

  private close(partition: number): void {
    const task = this.tasks.get(partition);
    this.tasks.delete(partition);
    this.ready.delete(partition);
    this.lag.delete(partition);
    void task?.then(async (open) => {
      if (open === undefined) return;
      await open.queue.catch(() => {});
      await open.producer.disconnect().catch(() => {});
    });
  }

  /**
   * One transaction on the task's producer, after the task's earlier work: `fill` adds the records
   * and returns the offsets to commit with them. Resolves false (and drops the task) on failure.
   */
  private transact(
    task: StageTask<S>,
    fill: (
      records: OutRecord[],
    ) => { topic: string; partitions: { partition: number; offset: string }[] }[] | undefined,
    worthIt: () => boolean = () => true,
  ): Promise<boolean> {
    const run = task.queue.then(async () => {
      if (this.tasks.get(task.partition) === undefined) return false;
      const records: OutRecord[] = [];
      let transaction: Awaited<ReturnType<Producer['transaction']>> | undefined;
      try {
        const offsets = fill(records);
        if (offsets === undefined && !worthIt()) return true;
        transaction = await task.producer.transaction();
        const topicMessages = this.topicMessages(records);
        if (topicMessages.length > 0) await transaction.sendBatch({ topicMessages });
        if (offsets !== undefined)
          await transaction.sendOffsets({ consumerGroupId: this.options.groupId, topics: offsets });
        await transaction.commit();
        this.handlers.committed?.(task);
        return true;
      } catch (error) {
        await transaction?.abort().catch(() => {});
        const fenced = isFenced(error);
        this.options.log(
          `${this.options.name}: partition ${task.partition} transaction failed, ${fenced ? 'fenced: another worker owns it now, waiting for the group' : 'reopening'}: ${errorText(error)}`,
        );
        this.handlers.failed?.(task, error);
        if ((await this.tasks.get(task.partition)) === task) {
          this.tasks.delete(task.partition);
          this.ready.delete(task.partition);
          this.failedAt.set(task.partition, Date.now());
          // Reopening would fence the new owner in turn: only a new assignment gives it back.
          if (fenced) this.fenced.set(task.partition, Date.now());
        }
        await task.producer.disconnect().catch(() => {});
        return false;
      }
    });
    task.queue = run.catch(() => {});
    return run;
  }

  private topicMessages(records: OutRecord[]): { topic: string; messages: Message[] }[] {
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const topic = this.options.topics[record.topic];
      let messages = byTopic.get(topic);
      if (messages === undefined) {
        messages = [];
        byTopic.set(topic, messages);
      }
      const message: Message = { key: record.key, value: record.value };
      if (record.partition !== undefined) message.partition = record.partition;
      messages.push(message);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }
}

/** The producer lost its transactional id to a newer producer (a new owner of the partition). */
function isFenced(error: unknown): boolean {
  const type = (error as { type?: unknown }).type;
  if (type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED') return true;
  return /old epoch|fenced/i.test(errorText(error));
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
