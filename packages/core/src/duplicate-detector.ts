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
 * Age order lives in a ring of keys and times, lookups in a Map from key to ring slot (a number,
 * so a check allocates no object besides its key). Expiry and eviction only ever look at the
 * ring's head, so each call is O(1) and memory is capped at `maxEntries`. (A Map alone is not
 * enough: iterating it from the front after many deletes walks every deleted slot in V8, which
 * made each call cost microseconds per thousand entries.) A key seen again moves to the ring's
 * tail; its old slot stays behind, marked stale, and is skipped when it reaches the head.
 */
export class DuplicateDetector {
  /** Ring slot of every remembered key; the time it was seen is `ringAt[slot]`. */
  private readonly sightings = new Map<string, number>();
  private readonly ring: (string | undefined)[];
  private readonly ringAt: number[];
  /** Index of the oldest slot, and how many slots are in use. */
  private head = 0;
  private used = 0;
  private readonly maxEntries: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: DuplicateDetectorOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 10_000));
    this.windowMs = Math.max(0, options.windowMs ?? 5 * 60_000);
    this.now = options.now ?? Date.now;
    // Twice the entries: room for the stale slots that keys seen again leave behind.
    this.ring = new Array(this.maxEntries * 2).fill(undefined);
    this.ringAt = new Array(this.maxEntries * 2).fill(0);
  }

  /**
   * Records that `identity` was processed in `scope` and says whether it already had been
   * within the window. Over-long identities are never duplicates (they are not stored).
   */
  check(scope: string, identity: string): boolean {
    if (scope.length + identity.length + 1 > MAX_IDENTITY_LENGTH) return false;
    const key = `${scope}\u0000${identity}`;
    const now = this.now();
    this.expire(now);
    const previous = this.sightings.get(key);
    // Checked again, not assumed from expiry: a clock set back leaves the ring out of time order.
    const duplicate = previous !== undefined && now - (this.ringAt[previous] ?? 0) <= this.windowMs;
    if (previous !== undefined) this.ring[previous] = undefined;
    if (this.used === this.ring.length || (previous === undefined && this.sightings.size >= this.maxEntries)) {
      this.evictOldest();
    }
    const slot = (this.head + this.used) % this.ring.length;
    this.ring[slot] = key;
    this.ringAt[slot] = now;
    this.used++;
    this.sightings.set(key, slot);
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
    const key = `${scope}\u0000${identity}`;
    const slot = this.sightings.get(key);
    if (slot === undefined) return;
    this.ring[slot] = undefined;
    this.sightings.delete(key);
  }

  get size(): number {
    return this.sightings.size;
  }

  clear(): void {
    this.sightings.clear();
    this.ring.fill(undefined);
    this.head = 0;
    this.used = 0;
  }

  /** Drops entries older than the window from the head; stale slots are dropped on the way. */
  private expire(now: number): void {
    while (this.used > 0) {
      const key = this.ring[this.head];
      if (key !== undefined && now - (this.ringAt[this.head] ?? 0) <= this.windowMs) return;
      this.popHead();
    }
  }

  /** Makes room: drops slots from the head until one live entry is gone (or the ring is empty). */
  private evictOldest(): void {
    while (this.used > 0) {
      const live = this.ring[this.head] !== undefined;
      this.popHead();
      if (live) return;
    }
  }

  private popHead(): void {
    const key = this.ring[this.head];
    if (key !== undefined) {
      this.sightings.delete(key);
      this.ring[this.head] = undefined;
    }
    this.head = (this.head + 1) % this.ring.length;
    this.used--;
  }
}
