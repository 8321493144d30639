import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashString, IdentityTable, MAX_PROBES, type SlotKeys } from './identity-table';

/** Keys by slot, as DuplicateDetector's ring holds them. */
function slotKeys(): SlotKeys & { keys: Map<number, string> } {
  const keys = new Map<number, string>();
  return { keys, holds: (slot, _scope, key) => keys.get(slot) === key };
}

describe('IdentityTable', () => {
  it('tells apart keys whose hashes are equal', () => {
    const table = new IdentityTable(8, 1);
    const store = slotKeys();
    store.keys.set(0, 'a').set(1, 'b');
    expect(table.insert(7, 0)).toBe(true);
    expect(table.insert(7, 1)).toBe(true);
    expect(table.find(7, 's', 'a', store)).toBe(0);
    expect(table.find(7, 's', 'b', store)).toBe(1);
    expect(table.find(7, 's', 'c', store)).toBe(-1);
  });

  it(`refuses an insert past ${MAX_PROBES} colliding entries, so a crafted flood costs bounded time`, () => {
    const table = new IdentityTable(1_000, 1);
    for (let slot = 0; slot < MAX_PROBES; slot++) expect(table.insert(42, slot)).toBe(true);
    expect(table.insert(42, MAX_PROBES)).toBe(false);
    // The run is full, not the table: another hash still finds room.
    expect(table.insert(9, MAX_PROBES)).toBe(true);
  });

  it('finds every entry after any mix of inserts and removals, with hashes that collide often', () => {
    // Hashes from a tiny range in a small table: long runs that wrap around the end, the case
    // the shift-back on removal must get right.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), hash: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const table = new IdentityTable(8, 1);
        const store = slotKeys();
        const live = new Map<number, number>(); // slot → hash
        let nextSlot = 0;
        for (const step of ops) {
          if (step.kind === 'insert') {
            if (live.size >= 8) continue;
            const slot = nextSlot++;
            if (table.insert(step.hash, slot)) {
              live.set(slot, step.hash);
              store.keys.set(slot, `k${slot}`);
            }
          } else if (live.size > 0) {
            const slots = [...live.keys()];
            const slot = slots[step.pick % slots.length] as number;
            table.remove(live.get(slot) as number, slot);
            live.delete(slot);
            store.keys.delete(slot);
          }
          for (const [slot, hash] of live) expect(table.find(hash, 's', `k${slot}`, store)).toBe(slot);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('hashes the same text alike and depends on the seed', () => {
    expect(hashString('span:b7ad6b7169203331', 1)).toBe(hashString('span:b7ad6b7169203331', 1));
    expect(hashString('span:b7ad6b7169203331', 1)).not.toBe(hashString('span:b7ad6b7169203331', 2));
    expect(hashString('ab', 1)).not.toBe(hashString('ba', 1));
  });

  it('keeps scopes apart in its hashes', () => {
    const table = new IdentityTable(8, 1);
    expect(table.hash('queue-a', 'm1')).not.toBe(table.hash('queue-b', 'm1'));
  });
});
