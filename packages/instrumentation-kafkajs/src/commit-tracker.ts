/**
 * Turns Kafka offset commits into a count of settled messages.
 *
 * A commit says "everything before offset C in this partition is done" for a consumer group,
 * usually for many messages at once and after their `process` spans ended. To count
 * `mqtrail.settled.messages{outcome=commit}` per message, the tracker keeps, per group and
 * partition, the window of offsets this process delivered and nobody has committed yet:
 * `[base, high)` holding `pending` messages. A commit at C settles the delivered messages below C.
 *
 * O(1) per call and a few numbers per partition; the number of partitions kept is capped.
 */

interface Window {
  /** Lowest delivered offset not yet committed. */
  base: number;
  /** One past the highest delivered offset. */
  high: number;
  /** Messages delivered in `[base, high)`: fewer than `high - base` when offsets have gaps. */
  pending: number;
}

export const DEFAULT_MAX_PARTITIONS = 10_000;

export class CommitTracker {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly maxPartitions = DEFAULT_MAX_PARTITIONS) {}

  /** A message at `offset` was handed to the application. */
  delivered(group: string, topic: string, partition: number, offset: number): void {
    const key = partitionKey(group, topic, partition);
    const window = this.windows.get(key);
    if (window === undefined) {
      this.remember(key, { base: offset, high: offset + 1, pending: 1 });
    } else if (offset < window.base) {
      // A seek back or a rebalance replays the partition: the old window will be delivered again.
      this.remember(key, { base: offset, high: offset + 1, pending: 1 });
    } else if (offset >= window.high) {
      window.high = offset + 1;
      window.pending += 1;
    }
    // Otherwise the offset is already pending: kafkajs is retrying a message whose handler failed.
  }

  /**
   * The group committed `offset` (the next offset it will read) for the partition. Returns how many
   * delivered messages that settles. Exact when offsets are contiguous; with gaps (compaction,
   * transaction markers) a partial commit is estimated by offset distance.
   */
  committed(group: string, topic: string, partition: number, offset: number): number {
    const key = partitionKey(group, topic, partition);
    const window = this.windows.get(key);
    if (window === undefined || offset <= window.base) return 0;
    if (offset >= window.high) {
      this.windows.delete(key);
      return window.pending;
    }
    const settled = Math.min(window.pending, offset - window.base);
    window.pending -= settled;
    window.base = offset;
    return settled;
  }

  get size(): number {
    return this.windows.size;
  }

  private remember(key: string, window: Window): void {
    this.windows.delete(key);
    this.windows.set(key, window);
    // Partitions a process consumes are few; this only bounds memory against unbounded topic churn.
    if (this.windows.size > this.maxPartitions) {
      const oldest = this.windows.keys().next();
      if (!oldest.done) this.windows.delete(oldest.value);
    }
  }
}

function partitionKey(group: string, topic: string, partition: number): string {
  return `${group}\u0000${topic}\u0000${partition}`;
}
