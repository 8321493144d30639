import { type Admin, type ITopicConfig, Kafka, logLevel } from 'kafkajs';
import type { MessagingSpan } from '../spans/messaging-span';
import { FollowMetrics } from './metrics';
import { restorePartition } from './restore';
import { errorText, TransactionalStage } from './stage';
import { type FindingRecord, type FollowScope, JoinTask, SpanTask, scopeTest } from './tasks';

/**
 * `mqtrail audit --follow`: two stages joined through Kafka, both in every worker, each a
 * consumer group of its own so workers scale out by partitions:
 *
 *   span topic (OTLP/JSON, keyed by trace)                 group <group>.spans
 *     └─ stage 1: spans → per-message facts, keyed by message identity (`<traceId>:<spanId>`,
 *        the send span's ids, which every consume span of the message names) or chain
 *        (`trace:<traceId>`)
 *   facts topic <group>.facts                              group <group>.join
 *     └─ stage 2: join per key (join.ts) → findings; hops of chains go back onto the facts topic
 *   findings topic (compacted, keyed by finding)           read read_committed by users
 *   changelog <group>.join-changelog (compacted)           stage 2's state, partition p = facts partition p
 *
 * A send and its consume can be recorded in different traces (links-mode consumers), so in
 * different span partitions and workers: re-keying by identity brings them to the same stage-2
 * partition. Nothing is shared between workers but Kafka.
 */

export interface FollowOptions extends FollowScope {
  brokers: string[];
  spansTopic: string;
  findingsTopic: string;
  group: string;
  graceMs: number;
  slowMs?: number;
  metricsPort?: number;
  metricsHost?: string;
  /** Partitions of the facts topic and the changelog when this worker creates them. Default: the span topic's. */
  partitions?: number;
  sessionTimeoutMs?: number;
  /** Called with each finding once its transaction committed. */
  onFinding?: (record: FindingRecord) => void;
  log: (line: string) => void;
}

const TICK_MS = 1_000;

export class FollowWorker {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private spans: TransactionalStage<SpanTask> | undefined;
  private join: TransactionalStage<JoinTask> | undefined;
  private metrics: FollowMetrics | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private readonly inScope: (span: MessagingSpan) => boolean;

  constructor(private readonly options: FollowOptions) {
    this.kafka = new Kafka({
      clientId: `mqtrail-audit-${options.group}`,
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
    });
    this.inScope = scopeTest(options);
  }

  get topics() {
    const { group } = this.options;
    return {
      spans: this.options.spansTopic,
      facts: `${group}.facts`,
      changelog: `${group}.join-changelog`,
      findings: this.options.findingsTopic,
    };
  }

  async start(): Promise<void> {
    const { options } = this;
    if (options.metricsPort !== undefined) {
      this.metrics = new FollowMetrics(options.metricsPort, options.metricsHost, {
        openMessages: () => this.joinTasks().reduce((sum, task) => sum + task.state.openMessages, 0),
        oldestOpenAgeSeconds: () => {
          let oldest: number | undefined;
          for (const task of this.joinTasks()) {
            const first = task.state.oldestOpenUs();
            if (first !== undefined && (oldest === undefined || first < oldest)) oldest = first;
          }
          return oldest === undefined ? 0 : Math.max(0, (Date.now() * 1_000 - oldest) / 1_000_000);
        },
        lagSeconds: () => [
          { stage: 'spans', seconds: lagSeconds(this.spans) },
          { stage: 'join', seconds: lagSeconds(this.join) },
        ],
      });
      await this.metrics.start();
    }
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const { spansPartitions, factsPartitions } = await this.createTopics(this.admin);

    const topics = this.topics;
    const common = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      transactionTimeoutMs: 30_000,
      log: options.log,
    };
    const slowUs = options.slowMs === undefined ? undefined : options.slowMs * 1_000;
    this.spans = new TransactionalStage<SpanTask>(
      this.kafka,
      this.admin,
      {
        ...common,
        name: 'spans',
        groupId: `${options.group}.spans`,
        transactionalIdPrefix: `${options.group}.spans`,
        topics: { input: topics.spans, facts: topics.facts, findings: topics.findings, changelog: topics.changelog },
      },
      {
        open: async (partition) => new SpanTask(partition, factsPartitions),
        batch: (task, messages) => {
          const result = task.state.batch(messages, this.inScope, { chains: slowUs !== undefined });
          if (result.unreadable > 0)
            options.log(`spans: skipped ${result.unreadable} record(s) that are not OTLP/JSON trace requests`);
          pendingSpans.set(task.partition, result.spans);
          return result.records;
        },
        committed: (task) => {
          this.metrics?.spansConsumed(pendingSpans.get(task.partition) ?? 0);
          pendingSpans.delete(task.partition);
        },
      },
    );
    const pendingSpans = new Map<number, number>();
    const pendingFindings = new Map<number, FindingRecord[]>();
    const admin = this.admin;
    this.join = new TransactionalStage<JoinTask>(
      this.kafka,
      admin,
      {
        ...common,
        name: 'join',
        groupId: `${options.group}.join`,
        transactionalIdPrefix: `${options.group}.join`,
        topics: { input: topics.facts, facts: topics.facts, findings: topics.findings, changelog: topics.changelog },
      },
      {
        open: async (partition) => {
          const task = new JoinTask(
            partition,
            { graceUs: options.graceMs * 1_000, ...(slowUs === undefined ? {} : { slowUs }) },
            spansPartitions,
          );
          const restored = await restorePartition(this.kafka, admin, topics.changelog, partition, (key, value) =>
            task.restore(key, value),
          );
          options.log(
            `join: partition ${partition} restored ${restored} changelog record(s): ${task.state.openMessages} open message(s)`,
          );
          return task;
        },
        batch: (task, messages) => {
          task.state.facts(messages);
          return this.take(task.state, pendingFindings);
        },
        committed: (task) => this.published(pendingFindings.get(task.partition), pendingFindings, task.partition),
        failed: (task) => pendingFindings.delete(task.partition),
      },
    );
    await this.spans.start();
    await this.join.start();
    // Span partitions with nothing left to read vouch for the wall clock (less a grace period),
    // so stage 2's clock moves while no spans come.
    this.ticker = setInterval(() => {
      this.ticking = this.ticking.then(async () => {
        const spans = this.spans;
        if (spans === undefined) return;
        try {
          const ends = await admin.fetchTopicOffsets(topics.spans);
          await spans.forEachTask((task) => {
            const end = ends.find((offset) => offset.partition === task.partition);
            if (end === undefined) return undefined;
            const caughtUp = (task.position ?? BigInt(end.low)) >= BigInt(end.high);
            return task.state.idle(caughtUp, Date.now(), options.graceMs);
          });
        } catch (error) {
          options.log(`spans: watermark tick failed: ${errorText(error)}`);
        }
      });
    }, TICK_MS);
  }

  /** Commits what is in hand, leaves both groups, closes the producers and the metrics port. */
  async stop(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    await this.ticking.catch(() => {});
    await this.spans?.stop();
    await this.join?.stop();
    await this.admin?.disconnect().catch(() => {});
    await this.metrics?.stop();
  }

  private joinTasks(): JoinTask[] {
    return this.join?.openTasksNow().map((task) => task.state) ?? [];
  }

  private take(task: JoinTask, pending: Map<number, FindingRecord[]>) {
    const { records, findings } = task.take();
    if (findings.length > 0) pending.set(task.partition, [...(pending.get(task.partition) ?? []), ...findings]);
    return records;
  }

  private published(findings: FindingRecord[] | undefined, pending: Map<number, FindingRecord[]>, partition: number) {
    pending.delete(partition);
    for (const finding of findings ?? []) {
      this.metrics?.finding(finding.kind, finding.destination);
      this.options.onFinding?.(finding);
    }
  }

  /**
   * Creates the facts topic and the changelog (as many partitions as the span topic, or
   * --partitions) and the findings topic, unless they exist. The changelog and the findings are
   * compacted: one record per key is what either needs.
   */
  private async createTopics(admin: Admin): Promise<{ spansPartitions: number; factsPartitions: number }> {
    const { spans, facts, changelog, findings } = this.topics;
    let spansPartitions = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [spans] });
        spansPartitions = metadata.topics[0]?.partitions.length ?? 0;
        if (spansPartitions > 0) break;
      } catch (error) {
        if (attempt % 10 === 0) this.options.log(`waiting for the span topic ${spans}: ${errorText(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const partitions = this.options.partitions ?? spansPartitions;
    const compacted: ITopicConfig['configEntries'] = [
      { name: 'cleanup.policy', value: 'compact' },
      { name: 'min.cleanable.dirty.ratio', value: '0.1' },
      { name: 'segment.ms', value: '600000' },
      { name: 'delete.retention.ms', value: '600000' },
    ];
    const existing = new Set(await admin.listTopics());
    const wanted: ITopicConfig[] = [
      { topic: facts, numPartitions: partitions },
      { topic: changelog, numPartitions: partitions, configEntries: compacted },
      { topic: findings, numPartitions: partitions, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ].filter((topic) => !existing.has(topic.topic));
    if (wanted.length > 0) {
      await admin.createTopics({ topics: wanted, waitForLeaders: true }).catch((error: unknown) => {
        // Another worker created them at the same time.
        if (!/already exists/i.test(errorText(error))) throw error;
      });
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [facts, changelog] });
    const [factsPartitions, changelogPartitions] = metadata.topics.map((topic) => topic.partitions.length);
    if (factsPartitions === undefined || factsPartitions !== changelogPartitions)
      throw new Error(
        `${facts} has ${factsPartitions} partitions and ${changelog} ${changelogPartitions}: stage 2 needs them equal`,
      );
    return { spansPartitions, factsPartitions };
  }
}

function lagSeconds(stage: TransactionalStage<unknown> | undefined): number {
  let seconds = 0;
  const now = Date.now();
  for (const { records, lastTimestampMs } of stage?.lag.values() ?? []) {
    if (records > 0) seconds = Math.max(seconds, (now - lastTimestampMs) / 1_000);
  }
  return seconds;
}
