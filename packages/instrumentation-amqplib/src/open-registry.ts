import { safely } from '@mqtrail/core';

/** Why an entry left the registry without being taken. */
export type ExpiryReason = 'timeout' | 'overflow';

/**
 * What the registry holds. Each entry carries its own deadline, set by `add`, so that adding one
 * allocates nothing besides the Map entry: this runs for every delivered message.
 */
export interface Expiring {
  expiresAt: number;
}

export interface OpenRegistryOptions<V> {
  /** Most entries held; adding one more expires the oldest with reason `overflow`. */
  maxEntries: number;
  /** Called for every entry that times out or overflows, after it was removed. */
  onExpire: (value: V, reason: ExpiryReason) => void;
  now?: () => number;
}

/**
 * The open spans of one channel (deliveries awaiting settlement, publishes awaiting a confirm),
 * bounded in size and time. A Map keeps insertion order, and entries are added in delivery or
 * publish order, so the oldest is always first: expiry and `takeUpTo` only look at the head,
 * and one unref'd timer per registry (not one per message) does all the expiring.
 * (If the timeout is changed at runtime, deadlines stop being in order; an entry then expires
 * at the latest when the older entries before it do, which keeps the bound.)
 */
export class OpenRegistry<K, V extends Expiring> {
  private readonly slots = new Map<K, V>();
  private readonly options: OpenRegistryOptions<V>;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline = Number.POSITIVE_INFINITY;

  constructor(options: OpenRegistryOptions<V>) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.slots.size;
  }

  add(key: K, value: V, ttlMs: number): void {
    const previous = this.slots.get(key);
    if (previous !== undefined) {
      // Same key again (a redelivered tag cannot repeat on a channel, so this is a foreign caller):
      // the older entry can no longer be settled, so it expires now rather than leak.
      this.slots.delete(key);
      this.expire(previous, 'overflow');
    }
    const deadline = this.now() + ttlMs;
    value.expiresAt = deadline;
    this.slots.set(key, value);
    if (this.slots.size > this.options.maxEntries) this.expireOldest();
    if (deadline < this.timerDeadline) this.schedule(deadline);
  }

  get(key: K): V | undefined {
    return this.slots.get(key);
  }

  /**
   * The oldest entry that matches, without taking it. A scan: for rare lookups by something other
   * than the key (a returned message finds its publish by span id, usually at the head).
   */
  find(matches: (value: V) => boolean): V | undefined {
    for (const value of this.slots.values()) if (matches(value)) return value;
    return undefined;
  }

  take(key: K): V | undefined {
    const value = this.slots.get(key);
    if (value === undefined) return undefined;
    this.slots.delete(key);
    // The timer stays even when this empties the registry: a consumer that acks each message in
    // its handler empties it once per message, and arming a timer per message was visible in the
    // profile. A timer that finds nothing due costs one wake-up per timeout period, unref'd.
    return value;
  }

  /** Takes every entry from the oldest up to and including the first whose key passes `last`. */
  takeUpTo(isAtOrBefore: (key: K) => boolean): V[] {
    const taken: V[] = [];
    for (const [key, value] of this.slots) {
      if (!isAtOrBefore(key)) break;
      this.slots.delete(key);
      taken.push(value);
    }
    return taken;
  }

  takeAll(): V[] {
    const taken = Array.from(this.slots.values());
    this.slots.clear();
    this.cancelTimer();
    return taken;
  }

  private expireOldest(): void {
    const oldest = this.slots.entries().next();
    if (oldest.done) return;
    const [key, value] = oldest.value;
    this.slots.delete(key);
    this.expire(value, 'overflow');
  }

  /** Runs from a timer too, where a throw would crash the application: always guarded. */
  private expire(value: V, reason: ExpiryReason): void {
    safely('ending an expired span', () => this.options.onExpire(value, reason), undefined);
  }

  private schedule(deadline: number): void {
    this.cancelTimer();
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => this.expireDue(), Math.max(0, deadline - this.now()));
    // A pending span must never keep the application's process alive.
    this.timer.unref();
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
  }

  private expireDue(): void {
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
    const now = this.now();
    const expired: V[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [key, value] of this.slots) {
      if (value.expiresAt > now) {
        next = value.expiresAt;
        break;
      }
      this.slots.delete(key);
      expired.push(value);
    }
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next);
    for (const value of expired) this.expire(value, 'timeout');
  }
}
