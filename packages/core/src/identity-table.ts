/**
 * Longest run of occupied entries a lookup or insert walks. Identities whose hashes collide past
 * it are not remembered (a missed duplicate count, never a false one), which bounds each call even
 * for input crafted to collide.
 */
export const MAX_PROBES = 32;

/** What the table's owner keeps per slot: the table stores hashes and slots, never keys. */
export interface SlotKeys {
  /** Whether `slot` holds `key` in `scope`. */
  holds(slot: number, scope: string, key: string): boolean;
}

/**
 * An open-addressing hash index from a 32-bit hash to a slot number, with linear probing, for
 * `DuplicateDetector`: one `Int32Array` of (hash, slot + 1) pairs, so a lookup reads one or two
 * cache lines and nothing on the JavaScript heap, and no entry is ever allocated. It stores no
 * keys: `find` asks the owner's `SlotKeys` whether a slot whose hash matches holds the key, so
 * equal hashes never make two keys equal.
 *
 * At most half full (capacity: the next power of two ≥ twice the entries), so runs stay short.
 * Removal shifts the rest of a run back (no tombstones), so the table never needs rebuilding.
 */
export class IdentityTable {
  /** Pairs: `[2i]` the hash, `[2i + 1]` the slot + 1 (0: empty). */
  private readonly pairs: Int32Array;
  private readonly mask: number;
  private readonly seed: number;
  /** Scope names hash once; a bounded cache, since scope strings are few and reused. */
  private readonly scopeSeeds = new Map<string, number>();

  constructor(maxEntries: number, seed: number = randomSeed()) {
    let capacity = 2;
    while (capacity < maxEntries * 2) capacity *= 2;
    this.pairs = new Int32Array(capacity * 2);
    this.mask = capacity - 1;
    this.seed = seed | 0;
  }

  /**
   * Seeded hash of a key in a scope. Seeded per table so that which keys collide cannot be known
   * in advance, as V8 seeds its own string hashes.
   */
  hash(scope: string, key: string): number {
    let scopeSeed = this.scopeSeeds.get(scope);
    if (scopeSeed === undefined) {
      if (this.scopeSeeds.size >= 1_000) this.scopeSeeds.clear();
      scopeSeed = hashString(scope, this.seed);
      this.scopeSeeds.set(scope, scopeSeed);
    }
    return hashString(key, scopeSeed);
  }

  /** The slot holding `key` in `scope` (it was added under `hash`), or -1. */
  find(hash: number, scope: string, key: string, keys: SlotKeys): number {
    const { pairs, mask } = this;
    let index = hash & mask;
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      const stored = pairs[2 * index + 1] ?? 0;
      if (stored === 0) return -1;
      if (pairs[2 * index] === hash && keys.holds(stored - 1, scope, key)) return stored - 1;
      index = (index + 1) & mask;
    }
    return -1;
  }

  /** Adds `slot` under `hash`; false when its run is already `MAX_PROBES` long (nothing added). */
  insert(hash: number, slot: number): boolean {
    const { pairs, mask } = this;
    let index = hash & mask;
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      if (pairs[2 * index + 1] === 0) {
        pairs[2 * index] = hash;
        pairs[2 * index + 1] = slot + 1;
        return true;
      }
      index = (index + 1) & mask;
    }
    return false;
  }

  /** Removes the entry of `slot` (added under `hash`), if present. */
  remove(hash: number, slot: number): void {
    const { pairs, mask } = this;
    let index = hash & mask;
    for (let probe = 0; probe < MAX_PROBES; probe++) {
      const stored = pairs[2 * index + 1] ?? 0;
      if (stored === 0) return;
      if (stored === slot + 1) {
        this.shiftBack(index);
        return;
      }
      index = (index + 1) & mask;
    }
  }

  clear(): void {
    this.pairs.fill(0);
  }

  /**
   * Empties `hole` and moves later entries of its run back into it when their home position does
   * not lie after the hole (Knuth's algorithm R for linear probing), so every entry stays reachable
   * from its home and no closer to `MAX_PROBES` than before.
   */
  private shiftBack(hole: number): void {
    const { pairs, mask } = this;
    let index = hole;
    for (;;) {
      index = (index + 1) & mask;
      const stored = pairs[2 * index + 1] ?? 0;
      if (stored === 0) break;
      const home = (pairs[2 * index] ?? 0) & mask;
      // The entry may fill the hole unless its home lies cyclically in (hole, index].
      const homeAfterHole = hole <= index ? hole < home && home <= index : hole < home || home <= index;
      if (!homeAfterHole) {
        pairs[2 * hole] = pairs[2 * index] ?? 0;
        pairs[2 * hole + 1] = stored;
        hole = index;
      }
    }
    pairs[2 * hole] = 0;
    pairs[2 * hole + 1] = 0;
  }
}

function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Int32Array(1))[0] ?? 0;
}

/** A 32-bit string hash (MurmurHash2's mixing step per UTF-16 unit, MurmurHash3's finaliser). */
export function hashString(text: string, seed: number): number {
  let hash = seed ^ text.length;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x5bd1e995);
    hash ^= hash >>> 15;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}
