import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';

/**
 * Reads one partition of a compacted changelog from its start to its end, read_committed, and
 * hands every record to `apply` in offset order. Called after the partition's transactional
 * producer initialised, so no earlier owner can still add to it: the end read here is final.
 *
 * kafkajs has no manual partition assignment, so a throwaway consumer group reads the topic from
 * its beginning, pausing every other partition; the group is deleted afterwards.
 */
export async function restorePartition(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  partition: number,
  apply: (key: string, value: Buffer | null) => void,
  timeoutMs = 60_000,
): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const entry = offsets.find((offset) => offset.partition === partition);
  if (entry === undefined) throw new Error(`changelog ${topic} has no partition ${partition}`);
  const end = BigInt(entry.high);
  if (end <= BigInt(entry.low)) return 0;

  const groupId = `mqtrail-restore-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, allowAutoTopicCreation: false });
  let applied = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`restoring ${topic} partition ${partition} took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      const reached = (lastOffset: string | null | undefined) => {
        if (lastOffset !== null && lastOffset !== undefined && BigInt(lastOffset) + 1n >= end) {
          clearTimeout(timer);
          resolve();
        }
      };
      // Batches of only control records or aborted records never reach eachBatch; this event
      // sees them too, so the end is noticed whatever the last records are.
      consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
        if (event.payload.partition === partition) reached(event.payload.lastOffset);
      });
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const others = (event.payload.memberAssignment[topic] ?? []).filter((p: number) => p !== partition);
        if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
      });
      consumer.on(consumer.events.CRASH, (event) => {
        clearTimeout(timer);
        reject(event.payload.error);
      });
      consumer
        .connect()
        .then(() => consumer.subscribe({ topic, fromBeginning: true }))
        .then(() =>
          consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== partition) return;
              for (const message of batch.messages) {
                if (BigInt(message.offset) >= end) break;
                if (message.key === null) continue;
                apply(message.key.toString(), message.value);
                applied++;
              }
            },
          }),
        )
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
  }
  return applied;
}
