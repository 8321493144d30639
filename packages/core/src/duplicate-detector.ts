export interface DuplicateDetectorOptions {
  /**
   * Most identities remembered at once, over all scopes. Default 10,000. At least the most recent
   * `floor(maxEntries / 2)` are always remembered (see {@link DuplicateDetector}).
   */
  maxEntries?: number;
  /** How long an identity is remembered, in ms. Default 5 minutes. */
  windowMs?: number;
  /** Clock, replaceable in tests. */
  now?: () => number;
}

/** Identities longer than this are not remembered, so one entry's memory is bounded too. */
export const MAX_IDENTITY_LENGTH = 512;

/**
 * One consumer scope's remembered identities, in up to two generations: each Map goes from
 * identity to the time it was last checked, as an offset from its generation's start (a small
 * integer, which V8 stores without allocating). `current` belongs to generation `generation`.
 * When that is the detector's previous generation (the scope was not checked since the last
 * rotation), `current` holds previous-generation entries and `previous` is undefined; the scope
 * moves them over at its next check.
 */
interface Scope {
  current: Map<string, number>;
  previous: Map<string, number> | undefined;
  generation: number;
}

/**
 * Remembers which messages a consumer scope (a consumer group, a queue) has processed, to count
 * those seen again: a replay after a rebalance or a seek, a duplicate publish, a redelivery.
 *
 * Identities live in two generations, each one Map per scope from identity to last-seen time. A
 * check records the identity in the current generation and, if it was not there yet, looks in
 * the previous one (an identity found there moves to the current one). Once the current
 * generation holds `floor(maxEntries / 2)` identities (over all scopes), or its oldest entry is
 * older than the window, the next check makes it the previous generation and drops the old
 * previous one whole, Maps and all. No entry is deleted one by one to make room (the former
 * design, a ring of sightings beside the Maps, deleted the oldest entry on every check of a new
 * identity), so a check of a new identity costs one Map `set` and one `get`. Each scope moves to
 * the new generation lazily, at its next check; a scope with nothing left in the two generations
 * is dropped at rotation, and one emptied by `forget` at once, so scopes seen once do not pile
 * up (there are never more scopes than remembered identities).
 *
 * The price is in how many identities are remembered: between the most recent
 * `floor(maxEntries / 2)` and `maxEntries` of them (over all scopes), where the former design
 * kept exactly `maxEntries`. What holds for any sequence of checks, forgets and clock steps:
 *
 * - a duplicate is only reported within `windowMs` of the identity's last check in that scope,
 *   and never for an identity never checked there, or forgotten since its last check (each
 *   remembered entry keeps its own time and is judged by it, not by its generation's age);
 * - with a clock that does not go back, an identity is always reported if it was last checked
 *   within the window, not forgotten since, and at most `floor(maxEntries / 2) - 1` other
 *   distinct scope-and-identity pairs were checked after it (with `maxEntries` 1: none);
 * - `size` never exceeds `maxEntries`.
 *
 * Entries past the window are never reported, but linger (and count in `size`) until their
 * generation is dropped: under steady traffic within about two windows, and all at once when a
 * rotation finds that even the newest entry has expired.
 */
export class DuplicateDetector {
  private readonly scopes = new Map<string, Scope>();
  /** Rotate once the current generation holds this many identities. */
  private readonly half: number;
  /** False for `maxEntries` 1: a rotation then drops both generations. */
  private readonly keepPrevious: boolean;
  private readonly windowMs: number;
  private readonly now: () => number;
  private generation = 0;
  /**
   * Start times of the current and previous generations, from which their Maps' times are
   * offsets; NaN before the first check.
   */
  private currentStart = Number.NaN;
  private previousStart = Number.NaN;
  /**
   * Earliest time recorded in the current generation (its start, unless the clock was set back).
   * While it is within the window, so is every entry of the current generation.
   */
  private currentOldest = Number.NaN;
  /** Latest time recorded (in either generation); NaN before the first check. */
  private newest = Number.NaN;
  /** Identities remembered in the current and previous generations, over all scopes. */
  private currentSize = 0;
  private previousSize = 0;

  constructor(options: DuplicateDetectorOptions = {}) {
    const maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 10_000));
    this.half = Math.max(1, Math.floor(maxEntries / 2));
    this.keepPrevious = maxEntries >= 2;
    this.windowMs = Math.max(0, options.windowMs ?? 5 * 60_000);
    this.now = options.now ?? Date.now;
  }

  /**
   * Records that `identity` was processed in `scope` and says whether it already had been
   * within the window. Over-long identities are never duplicates (they are not stored).
   */
  check(scope: string, identity: string): boolean {
    if (scope.length + identity.length + 1 > MAX_IDENTITY_LENGTH) return false;
    const now = this.now();
    // Room for one more, and the current generation's oldest entry within the window (negated so
    // that NaN, before the first check, fails it too); else the slow path rotates.
    if (this.currentSize >= this.half || !(now - this.currentOldest <= this.windowMs)) {
      return this.checkAndRotate(scope, identity, now);
    }
    const seen = this.scopeFor(scope);
    const current = seen.current;
    const size = current.size;
    current.set(identity, now - this.currentStart);
    if (now > this.newest) this.newest = now;
    if (now < this.currentOldest) this.currentOldest = now;
    // Already in the current generation: within the window, since its oldest entry is.
    if (current.size === size) return true;
    this.currentSize++;
    const previous = seen.previous;
    if (previous === undefined) return false;
    const at = previous.get(identity);
    if (at === undefined) return false;
    // Rare (a duplicate, or an expired sighting): one delete keeps each identity in one Map.
    previous.delete(identity);
    this.previousSize--;
    // Checked, not assumed: the previous generation may reach back past the window.
    return now - (this.previousStart + at) <= this.windowMs;
  }

  /**
   * Forgets `identity` in `scope`: for a delivery that did not complete (requeued, or failed so the
   * client will deliver it again), whose next delivery is a redelivery rather than a duplicate.
   */
  forget(scope: string, identity: string): void {
    const seen = this.scopes.get(scope);
    if (seen === undefined) return;
    if (seen.current.delete(identity)) {
      if (seen.generation === this.generation) this.currentSize--;
      else this.previousSize--;
    } else if (seen.previous?.delete(identity) === true) {
      this.previousSize--;
    } else {
      return;
    }
    if (seen.current.size === 0 && (seen.previous === undefined || seen.previous.size === 0)) {
      this.scopes.delete(scope);
    }
  }

  /**
   * Identities currently remembered, at most `maxEntries`. Entries past the window count until
   * their generation is dropped.
   */
  get size(): number {
    return this.currentSize + this.previousSize;
  }

  clear(): void {
    this.scopes.clear();
    this.currentSize = 0;
    this.previousSize = 0;
    this.currentStart = Number.NaN;
    this.previousStart = Number.NaN;
    this.currentOldest = Number.NaN;
    this.newest = Number.NaN;
  }

  /** The scope's record, created or moved to the current generation if need be. */
  private scopeFor(name: string): Scope {
    const seen = this.scopes.get(name);
    if (seen === undefined) {
      const created: Scope = { current: new Map(), previous: undefined, generation: this.generation };
      this.scopes.set(name, created);
      return created;
    }
    if (seen.generation !== this.generation) {
      // Checked last in the previous generation (older scopes were dropped at rotation).
      seen.previous = seen.current;
      seen.current = new Map();
      seen.generation = this.generation;
    }
    return seen;
  }

  /**
   * `check` when the current generation is full or its oldest entry has expired: looks the
   * identity up exactly, takes it out, starts a new generation and records it there.
   */
  private checkAndRotate(scope: string, identity: string, now: number): boolean {
    let seen = this.scopeFor(scope);
    let duplicate = false;
    const at = seen.current.get(identity);
    if (at !== undefined) {
      duplicate = now - (this.currentStart + at) <= this.windowMs;
      seen.current.delete(identity);
      this.currentSize--;
    } else if (seen.previous !== undefined) {
      const before = seen.previous.get(identity);
      if (before !== undefined) {
        duplicate = now - (this.previousStart + before) <= this.windowMs;
        seen.previous.delete(identity);
        this.previousSize--;
      }
    }
    this.rotate(now);
    seen = this.scopeFor(scope);
    seen.current.set(identity, 0);
    this.currentSize++;
    return duplicate;
  }

  /** Starts a new current generation at `now`, dropping the previous one whole. */
  private rotate(now: number): void {
    this.generation++;
    if (!this.keepPrevious || !(now - this.newest <= this.windowMs)) {
      // Nothing to keep: with `maxEntries` 1, or every entry has expired (the newest has).
      this.scopes.clear();
      this.previousSize = 0;
      this.newest = now;
    } else {
      for (const [name, seen] of this.scopes) {
        if (seen.generation === this.generation - 1 && seen.current.size > 0) {
          // Its current Map becomes its previous one at its next check.
          seen.previous = undefined;
        } else {
          this.scopes.delete(name);
        }
      }
      this.previousSize = this.currentSize;
      if (now > this.newest) this.newest = now;
    }
    this.previousStart = this.currentStart;
    this.currentStart = now;
    this.currentOldest = now;
    this.currentSize = 0;
  }
}
