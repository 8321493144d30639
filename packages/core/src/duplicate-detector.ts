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

/** One consumer scope's remembered identities: the ring slot of each; its time is `ringAt[slot]`. */
interface Scope {
  name: string;
  slots: Map<string, number>;
}

/**
 * Remembers which messages a consumer scope (a consumer group, a queue) has processed, to count
 * those seen again: a replay after a rebalance or a seek, a duplicate publish, a redelivery.
 *
 * Age order lives in a ring of identities and times; lookups in one Map per scope, from identity
 * to ring slot (a number: a check allocates nothing of its own, and no scope-plus-identity key
 * string is built and hashed per call). Expiry and eviction only ever look at the ring's head, so
 * each call is O(1) and memory is capped at `maxEntries`. (A Map alone is not enough: iterating it
 * from the front after many deletes walks every deleted slot in V8, which made each call cost
 * microseconds per thousand entries.) An identity seen again moves to the ring's tail; its old
 * slot stays behind, marked stale, and is skipped when it reaches the head.
 */
export class DuplicateDetector {
  private readonly scopes = new Map<string, Scope>();
  /** Identity in each slot (undefined when stale), and the scope it belongs to. */
  private readonly ring: (string | undefined)[];
  private readonly ringScope: (Scope | undefined)[];
  private readonly ringAt: number[];
  /** Index of the oldest slot, how many slots are in use, and how many identities are remembered. */
  private head = 0;
  private used = 0;
  private remembered = 0;
  private readonly maxEntries: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: DuplicateDetectorOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 10_000));
    this.windowMs = Math.max(0, options.windowMs ?? 5 * 60_000);
    this.now = options.now ?? Date.now;
    // Twice the entries: room for the stale slots that identities seen again leave behind.
    this.ring = new Array(this.maxEntries * 2).fill(undefined);
    this.ringScope = new Array(this.maxEntries * 2).fill(undefined);
    this.ringAt = new Array(this.maxEntries * 2).fill(0);
  }

  /**
   * Records that `identity` was processed in `scope` and says whether it already had been
   * within the window. Over-long identities are never duplicates (they are not stored).
   */
  check(scope: string, identity: string): boolean {
    if (scope.length + identity.length + 1 > MAX_IDENTITY_LENGTH) return false;
    const now = this.now();
    this.expire(now);
    let seen = this.scopes.get(scope);
    if (seen === undefined) {
      seen = { name: scope, slots: new Map() };
      this.scopes.set(scope, seen);
    }
    const previous = seen.slots.get(identity);
    // Checked again, not assumed from expiry: a clock set back leaves the ring out of time order.
    const duplicate = previous !== undefined && now - (this.ringAt[previous] ?? 0) <= this.windowMs;
    if (previous !== undefined) {
      this.ring[previous] = undefined;
      this.remembered--;
    }
    if (this.used === this.ring.length || (previous === undefined && this.remembered >= this.maxEntries)) {
      this.evictOldest();
    }
    const slot = (this.head + this.used) % this.ring.length;
    this.ring[slot] = identity;
    this.ringScope[slot] = seen;
    this.ringAt[slot] = now;
    this.used++;
    this.remembered++;
    // Eviction may have emptied and dropped this scope: put it back before recording.
    if (seen.slots.size === 0) this.scopes.set(scope, seen);
    seen.slots.set(identity, slot);
    return duplicate;
  }

  /**
   * Forgets `identity` in `scope`: for a delivery that did not complete (requeued, or failed so the
   * client will deliver it again), whose next delivery is a redelivery rather than a duplicate.
   */
  forget(scope: string, identity: string): void {
    const seen = this.scopes.get(scope);
    const slot = seen?.slots.get(identity);
    if (seen === undefined || slot === undefined) return;
    this.ring[slot] = undefined;
    this.remove(seen, identity);
  }

  get size(): number {
    return this.remembered;
  }

  clear(): void {
    this.scopes.clear();
    this.ring.fill(undefined);
    this.ringScope.fill(undefined);
    this.head = 0;
    this.used = 0;
    this.remembered = 0;
  }

  /** Drops entries older than the window from the head; stale slots are dropped on the way. */
  private expire(now: number): void {
    while (this.used > 0) {
      const identity = this.ring[this.head];
      if (identity !== undefined && now - (this.ringAt[this.head] ?? 0) <= this.windowMs) return;
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
    const identity = this.ring[this.head];
    const seen = this.ringScope[this.head];
    if (identity !== undefined && seen !== undefined) {
      this.ring[this.head] = undefined;
      this.remove(seen, identity);
    }
    this.ringScope[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.used--;
  }

  /** Forgets one live identity; a scope left empty is dropped, so scopes seen once do not pile up. */
  private remove(seen: Scope, identity: string): void {
    seen.slots.delete(identity);
    this.remembered--;
    if (seen.slots.size === 0) this.scopes.delete(seen.name);
  }
}
