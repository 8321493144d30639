/**
 * kafkajs with its network replaced, for the hot-path workload.
 *
 * Produce: a real `Kafka` producer runs its real `send` → `sendBatch` → `sendMessages` path —
 * argument validation, the default partitioner (murmur2 over keys), grouping per partition and
 * leader, EOS sequence bookkeeping, response serialisation. Only the `Cluster`'s metadata and
 * connection methods and `Broker#produce` are in-memory fakes: no protocol encoding, no socket.
 *
 * Consume: a real consumer's `run()` builds its real `Runner` with the (instrumented) handler;
 * the Runner's `start` is intercepted so it does not join a group, and its consumer group is a
 * fake that resolves offsets, heartbeats, and on commit emits the same COMMIT_OFFSETS
 * instrumentation event kafkajs emits after a real commit. Batches are real `Batch` objects fed
 * to `Runner#handleBatch`, which emits START/END_BATCH_PROCESS and calls `eachMessage` per
 * message exactly as after a real fetch.
 */

type Fields = Record<string, unknown>;
type Method = (this: unknown, ...args: unknown[]) => unknown;

export const PARTITIONS = 3;

export interface KafkaFakes {
  /** The Runner the last `consumer.run()` created, with the fake group in place. */
  takeRunner(): FakeRunner;
  /** Builds a real kafkajs `Batch` of already-decoded messages. */
  batch(topic: string, partition: number, messages: Fields[], highWatermark: number): unknown;
}

export interface FakeRunner {
  handleBatch(batch: unknown): Promise<void>;
}

interface RunnerInstance {
  consumerGroup: unknown;
  running: boolean;
  instrumentationEmitter: { emit(event: string, payload: unknown): void };
  handleBatch(batch: unknown): Promise<void>;
}

function patch(target: Fields, method: string, replacement: Method): void {
  target[method] = replacement;
}

/** Install before any `Kafka` client is created (prototypes are shared, so order matters little). */
export function installKafkaFakes(): KafkaFakes {
  const Cluster = require('kafkajs/src/cluster') as { prototype: Fields };
  const Runner = require('kafkajs/src/consumer/runner') as { prototype: Fields };
  const Batch = require('kafkajs/src/consumer/batch') as new (topic: string, fetched: string, data: Fields) => unknown;
  const { events } = require('kafkajs/src/consumer/instrumentationEvents') as { events: Record<string, string> };

  const metadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
  }));
  const nextOffset = new Map<string, number>();
  const broker = {
    nodeId: 0,
    async produce({
      topicData,
    }: {
      topicData: { topic: string; partitions: { partition: number; messages: unknown[] }[] }[];
    }) {
      return {
        topics: topicData.map(({ topic, partitions }) => ({
          topicName: topic,
          partitions: partitions.map(({ partition, messages }) => {
            const key = `${topic}/${partition}`;
            const base = nextOffset.get(key) ?? 0;
            nextOffset.set(key, base + messages.length);
            return { partition, errorCode: 0, baseOffset: String(base), logAppendTime: '-1', logStartOffset: '0' };
          }),
        })),
      };
    },
  };

  const cluster = Cluster.prototype;
  const resolved = async () => {};
  for (const method of ['connect', 'disconnect', 'refreshMetadata', 'refreshMetadataIfNecessary', 'addTargetTopic']) {
    patch(cluster, method, resolved);
  }
  patch(cluster, 'addMultipleTargetTopics', resolved);
  patch(cluster, 'isConnected', () => true);
  patch(cluster, 'findTopicPartitionMetadata', () => metadata);
  patch(cluster, 'findBroker', async () => broker);

  const runners: RunnerInstance[] = [];
  patch(Runner.prototype, 'start', async function start(this: unknown) {
    runners.push(this as RunnerInstance);
  });

  return {
    takeRunner() {
      const runner = runners.pop();
      if (runner === undefined) throw new Error('consumer.run() did not create a kafkajs Runner');
      runner.consumerGroup = fakeGroup(runner, events);
      runner.running = true;
      return runner;
    },
    batch(topic, partition, messages, highWatermark) {
      const first = (messages[0]?.offset as string | undefined) ?? '0';
      return new Batch(topic, first, {
        partition,
        highWatermark: String(highWatermark),
        messages,
        abortedTransactions: [],
      });
    },
  };
}

/** The consumer-group methods Runner#handleBatch and #processEachMessage call, without a broker. */
function fakeGroup(runner: RunnerInstance, events: Record<string, string>): Fields {
  const resolved = new Map<string, { topic: string; partition: number; offset: string }>();
  const groupId = 'bench-group';
  const memberId = 'bench-member';
  const commitEvent = events.COMMIT_OFFSETS ?? 'consumer.commit_offsets';
  return {
    groupId,
    memberId,
    hasSeekOffset: () => false,
    isPaused: () => false,
    pause() {},
    resume() {},
    resolveOffset({ topic, partition, offset }: { topic: string; partition: number; offset: string }) {
      resolved.set(`${topic}/${partition}`, { topic, partition, offset });
    },
    async heartbeat() {},
    async commitOffsetsIfNecessary() {},
    async commitOffsets() {
      if (resolved.size === 0) return;
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const { topic, partition, offset } of resolved.values()) {
        const partitions = byTopic.get(topic) ?? [];
        partitions.push({ partition, offset: String(Number(offset) + 1) });
        byTopic.set(topic, partitions);
      }
      resolved.clear();
      // What OffsetManager#commitOffsets emits once the coordinator accepted the commit.
      runner.instrumentationEmitter.emit(commitEvent, {
        groupId,
        memberId,
        groupGenerationId: 1,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      });
    },
  };
}
