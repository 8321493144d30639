import { IdentityTable, type SlotKeys } from './identity-table';

export interface DuplicateDetectorOptions {
  /** Most identities remembered at once; the oldest is forgotten first. Default 10,000. */
  maxEntries?: number;
  /** How long an identity is remembered, in ms. Default 5 minutes. */
  windowMs?: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
  /** Hash seed, replaceable in tests. Default: random per detector. */
  seed?: number;
}

/** Identities longer than this are not remembered, so one entry's memory is bounded too. */
export const MAX_IDENTITY_LENGTH = 512;

/**
 * Remembers which messages a consumer scope (a consumer group, a queue) has processed, to count
 * those seen again: a replay after a rebalance or a seek, a duplicate publish, a redelivery.
 *
 * This runs for every consumed message, sampled or not, so it is built to touch little memory.
 * Age order lives in a ring of slots (identity, scope, time, hash); lookups go through an
 * `IdentityTable` from hash to ring slot, kept in one typed array. A check that finds nothing, the
 * common case, reads one or two cache lines of that table and the ring's head and tail, and
 * allocates nothing. (The Map per scope this replaces cost ~1.5 µs per message on the hot path
 * beside the SDK's work, four times its cost alone: every lookup and eviction walked a Map of
 * 10,000 strings scattered over the heap. bench/README.md, "What the CPU profile does not show".)
 *
 * Expiry and eviction only ever look at the ring's head, so each call is O(1) and memory is
 * capped at `maxEntries`. An identity seen again moves to the ring's tail; its old slot stays
 * behind, marked stale, and is skipped when it reaches the head.
 */
export class DuplicateDetector {
  /** Identity in each slot (undefined when stale), its scope, time and hash. */
  private readonly ring: (string | undefined)[];
  private readonly ringScope: (string | undefined)[];
  private readonly ringAt: Float64Array;
  private readonly ringHash: Int32Array;
  private readonly table: IdentityTable;
  /** Built once: the table asks it to confirm a hash match, with no closure per call. */
  private readonly keys: SlotKeys = {
    holds: (slot, scope, key) => this.ring[slot] === key && this.ringScope[slot] === scope,
  };
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
    const slots = this.maxEntries * 2;
    this.ring = new Array(slots).fill(undefined);
    this.ringScope = new Array(slots).fill(undefined);
    this.ringAt = new Float64Array(slots);
    this.ringHash = new Int32Array(slots);
    this.table = new IdentityTable(this.maxEntries, options.seed);
  }

  /**
   * Records that `identity` was processed in `scope` and says whether it already had been
   * within the window. Over-long identities are never duplicates (they are not stored).
   */
  check(scope: string, identity: string): boolean {
    if (scope.length + identity.length + 1 > MAX_IDENTITY_LENGTH) return false;
    const now = this.now();
    this.expire(now);
    const hash = this.table.hash(scope, identity);
    const previous = this.find(hash, scope, identity);
    let duplicate = false;
    if (previous >= 0) {
      // Checked again, not assumed from expiry: a clock set back leaves the ring out of time order.
      duplicate = now - (this.ringAt[previous] ?? 0) <= this.windowMs;
      this.forgetSlot(previous);
    }
    if (this.used === this.ring.length || (previous < 0 && this.remembered >= this.maxEntries)) {
      this.evictOldest();
    }
    const slot = (this.head + this.used) % this.ring.length;
    // A full probe run (only a flood of colliding identities makes one) leaves it unremembered.
    if (!this.table.insert(hash, slot)) return duplicate;
    this.ring[slot] = identity;
    this.ringScope[slot] = scope;
    this.ringAt[slot] = now;
    this.ringHash[slot] = hash;
    this.used++;
    this.remembered++;
    return duplicate;
  }

  /**
   * Forgets `identity` in `scope`: for a delivery that did not complete (requeued, or failed so the
   * client will deliver it again), whose next delivery is a redelivery rather than a duplicate.
   */
  forget(scope: string, identity: string): void {
    if (scope.length + identity.length + 1 > MAX_IDENTITY_LENGTH) return;
    const slot = this.find(this.table.hash(scope, identity), scope, identity);
    if (slot >= 0) this.forgetSlot(slot);
  }

  get size(): number {
    return this.remembered;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.ringScope.fill(undefined);
    this.table.clear();
    this.head = 0;
    this.used = 0;
    this.remembered = 0;
  }

  /** The ring slot remembering `identity` in `scope`, or -1: hashes match first, then the strings. */
  private find(hash: number, scope: string, identity: string): number {
    return this.table.find(hash, scope, identity, this.keys);
  }

  /** Forgets a live slot; it stays in the ring, stale, until it reaches the head. */
  private forgetSlot(slot: number): void {
    this.table.remove(this.ringHash[slot] ?? 0, slot);
    this.ring[slot] = undefined;
    this.ringScope[slot] = undefined;
    this.remembered--;
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
    if (this.ring[this.head] !== undefined) this.forgetSlot(this.head);
    this.head = (this.head + 1) % this.ring.length;
    this.used--;
  }
}
