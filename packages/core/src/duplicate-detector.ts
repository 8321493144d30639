export interface DuplicateDetectorOptions {
  /** Most identities remembered at once; the oldest is forgotten first. Default 10,000. */
  maxEntries?: number;
  /** How long an identity is remembered, in ms. Default 5 minutes. */
  windowMs?: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

/** Identities longer than this are not remembered, so one entry's memory is bounded too. */
export const MAX_IDENTITY_LENGTH = 512;

/**
 * Remembers which messages a consumer scope (a consumer group, a queue) has processed, to count
 * those seen again: a replay after a rebalance or a seek, a duplicate publish, a redelivery.
 *
 * A Map keeps insertion order, and entries are re-inserted on sight, so the oldest entry is
 * always first: expiry and eviction only ever look at the head, which keeps each call O(1)
 * amortised and the memory capped at `maxEntries` short keys.
 */
export class DuplicateDetector {
  private readonly seenAt = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: DuplicateDetectorOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 10_000));
    this.windowMs = Math.max(0, options.windowMs ?? 5 * 60_000);
    this.now = options.now ?? Date.now;
  }

  /**
   * Records that `identity` was processed in `scope` and says whether it already had been
   * within the window. Over-long identities are never duplicates (they are not stored).
   */
  check(scope: string, identity: string): boolean {
    const key = `${scope}\u0000${identity}`;
    if (key.length > MAX_IDENTITY_LENGTH) return false;
    const now = this.now();
    this.expire(now);
    const previous = this.seenAt.get(key);
    const duplicate = previous !== undefined && now - previous <= this.windowMs;
    this.seenAt.delete(key);
    this.seenAt.set(key, now);
    if (this.seenAt.size > this.maxEntries) this.evictOldest();
    return duplicate;
  }

  /**
   * Checks and records several identities of one message: it is a duplicate if any was seen.
   * Every identity is recorded, not just up to the first hit; `firstSeen` lists those recorded for
   * the first time, to `forget` again if this delivery does not complete.
   */
  checkAll(scope: string, identities: readonly string[]): { duplicate: boolean; firstSeen: string[] } {
    const firstSeen: string[] = [];
    for (const identity of identities) if (!this.check(scope, identity)) firstSeen.push(identity);
    return { duplicate: firstSeen.length < identities.length, firstSeen };
  }

  /**
   * Forgets `identity` in `scope`: for a delivery that did not complete (requeued, or failed so the
   * client will deliver it again), whose next delivery is a redelivery rather than a duplicate.
   */
  forget(scope: string, identity: string): void {
    this.seenAt.delete(`${scope}\u0000${identity}`);
  }

  get size(): number {
    return this.seenAt.size;
  }

  clear(): void {
    this.seenAt.clear();
  }

  private expire(now: number): void {
    for (const [key, at] of this.seenAt) {
      if (now - at <= this.windowMs) return;
      this.seenAt.delete(key);
    }
  }

  private evictOldest(): void {
    const oldest = this.seenAt.keys().next();
    if (!oldest.done) this.seenAt.delete(oldest.value);
  }
}
