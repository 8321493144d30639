import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateDetector, MAX_IDENTITY_LENGTH } from './duplicate-detector';

function clock(start = 0) {
  const state = { now: start };
  return { state, now: () => state.now };
}

describe('DuplicateDetector', () => {
  it('reports an identity seen again in the same scope', () => {
    const detector = new DuplicateDetector();
    expect(detector.check('group-a', 'orders/0/41')).toBe(false);
    expect(detector.check('group-a', 'orders/0/41')).toBe(true);
  });

  it('keeps scopes apart', () => {
    const detector = new DuplicateDetector();
    detector.check('group-a', 'm1');
    expect(detector.check('group-b', 'm1')).toBe(false);
  });

  it('forgets identities older than the window', () => {
    const { state, now } = clock();
    const detector = new DuplicateDetector({ windowMs: 1000, now });
    detector.check('s', 'm1');
    state.now = 1001;
    expect(detector.check('s', 'm1')).toBe(false);
    expect(detector.size).toBe(1);
  });

  it('expires old entries as time passes, not only when they are looked up', () => {
    const { state, now } = clock();
    const detector = new DuplicateDetector({ windowMs: 10, now });
    for (let i = 0; i < 100; i++) detector.check('s', `m${i}`);
    state.now = 100;
    detector.check('s', 'fresh');
    expect(detector.size).toBe(1);
  });

  it('caps the number of entries, forgetting the oldest first', () => {
    const detector = new DuplicateDetector({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) detector.check('s', id);
    expect(detector.size).toBe(3);
    expect(detector.check('s', 'a')).toBe(false);
    expect(detector.check('s', 'd')).toBe(true);
  });

  it('does not store over-long identities', () => {
    const detector = new DuplicateDetector();
    const long = 'x'.repeat(MAX_IDENTITY_LENGTH);
    expect(detector.check('s', long)).toBe(false);
    expect(detector.check('s', long)).toBe(false);
    expect(detector.size).toBe(0);
  });

  it('stays bounded over a million distinct messages', () => {
    const detector = new DuplicateDetector({ maxEntries: 1000 });
    for (let i = 0; i < 1_000_000; i++) detector.check('s', String(i));
    expect(detector.size).toBe(1000);
  });

  it('tells identities apart in a table of two positions, where every identity shares one run', () => {
    const detector = new DuplicateDetector({ maxEntries: 1, seed: 7 });
    for (let i = 0; i < 200; i++) expect(detector.check('s', `m${i}`)).toBe(false);
    expect(detector.check('s', 'm199')).toBe(true);
  });

  it('behaves like a plain list of sightings for any mix of checks, forgets and time steps', () => {
    // Reference model: sightings in age order, the obvious O(n) way.
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('check' as const),
        id: fc.integer({ min: 0, max: 12 }),
        scope: fc.constantFrom('s', 't'),
      }),
      fc.record({
        kind: fc.constant('forget' as const),
        id: fc.integer({ min: 0, max: 12 }),
        scope: fc.constantFrom('s', 't'),
      }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 6 }), (ops, maxEntries) => {
        const { state, now } = clock();
        const windowMs = 50;
        const detector = new DuplicateDetector({ maxEntries, windowMs, now });
        let model: { id: string; scope: string; at: number }[] = [];
        for (const step of ops) {
          if (step.kind === 'wait') {
            state.now += step.ms;
            continue;
          }
          const id = String(step.id);
          const { scope } = step;
          const other = (entry: { id: string; scope: string }) => entry.id !== id || entry.scope !== scope;
          if (step.kind === 'forget') {
            detector.forget(scope, id);
            model = model.filter(other);
            continue;
          }
          model = model.filter((entry) => state.now - entry.at <= windowMs);
          const previous = model.find((entry) => !other(entry));
          model = model.filter(other);
          model.push({ id, scope, at: state.now });
          if (model.length > maxEntries) model.shift();
          expect(detector.check(scope, id)).toBe(previous !== undefined);
          expect(detector.size).toBe(model.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});
