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

  it('caps the number of entries, keeping at least the most recent half', () => {
    const detector = new DuplicateDetector({ maxEntries: 6 });
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) detector.check('s', id);
    expect(detector.size).toBeLessThanOrEqual(6);
    expect(detector.size).toBeGreaterThanOrEqual(3);
    // Each is among the 3 most recent distinct identities when checked again.
    expect(detector.check('s', 'g')).toBe(true);
    expect(detector.check('s', 'f')).toBe(true);
    expect(detector.check('s', 'e')).toBe(true);
    expect(detector.check('s', 'a')).toBe(false);
  });

  it('remembers between half and all of maxEntries: the previous generation is dropped whole', () => {
    const detector = new DuplicateDetector({ maxEntries: 4 });
    // a and b fill a generation; c starts the next; e drops the one holding a and b.
    for (const id of ['a', 'b', 'c', 'd', 'e']) detector.check('s', id);
    expect(detector.size).toBe(3);
    expect(detector.check('s', 'd')).toBe(true);
    expect(detector.check('s', 'c')).toBe(true);
    expect(detector.check('s', 'b')).toBe(false);
  });

  it('remembers the last identity with maxEntries 1', () => {
    const detector = new DuplicateDetector({ maxEntries: 1 });
    expect(detector.check('s', 'a')).toBe(false);
    expect(detector.check('s', 'a')).toBe(true);
    expect(detector.check('s', 'b')).toBe(false);
    expect(detector.check('s', 'a')).toBe(false);
    expect(detector.size).toBe(1);
  });

  it('forgets an identity in either generation, so its next delivery is not a duplicate', () => {
    const detector = new DuplicateDetector({ maxEntries: 4 });
    detector.check('s', 'old');
    detector.check('s', 'x');
    detector.check('s', 'new'); // starts a generation: 'old' is now in the previous one
    detector.forget('s', 'old');
    detector.forget('s', 'new');
    expect(detector.size).toBe(1);
    expect(detector.check('s', 'old')).toBe(false);
    expect(detector.check('s', 'new')).toBe(false);
    expect(detector.check('s', 'x')).toBe(true);
  });

  it('reports a duplicate by its own time, not its generation: never past the window', () => {
    const { state, now } = clock();
    const detector = new DuplicateDetector({ maxEntries: 100, windowMs: 100, now });
    detector.check('s', 'early');
    state.now = 60;
    detector.check('s', 'late');
    state.now = 120; // the generation's first entry has expired: the next new identity rotates
    detector.check('s', 'next');
    expect(detector.check('s', 'late')).toBe(true);
    expect(detector.check('s', 'early')).toBe(false);
  });

  it('compares each time when the clock was set back within a generation', () => {
    const { state, now } = clock(1_000);
    const detector = new DuplicateDetector({ maxEntries: 100, windowMs: 100, now });
    detector.check('s', 'first');
    state.now = 900;
    detector.check('s', 'x');
    state.now = 1_050; // within the window of the generation's start, not of x's check
    expect(detector.check('s', 'x')).toBe(false);
    expect(detector.check('s', 'first')).toBe(true);
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
    for (let i = 0; i < 1_000_000; i++) {
      detector.check('s', String(i));
      if (detector.size > 1000) throw new Error(`size ${detector.size} after ${i + 1} checks`);
    }
    expect(detector.size).toBeGreaterThanOrEqual(500);
    expect(detector.size).toBeLessThanOrEqual(1000);
  });

  it('does not pile up scopes seen once', () => {
    const detector = new DuplicateDetector({ maxEntries: 1000 });
    const scopes = Reflect.get(detector, 'scopes') as Map<string, unknown>;
    for (let i = 0; i < 100_000; i++) detector.check(`queue-${i}`, 'm');
    expect(scopes.size).toBeLessThanOrEqual(1000);
    // Forgetting a scope's last identity drops the scope too.
    detector.clear();
    detector.check('once', 'm');
    detector.forget('once', 'm');
    expect(scopes.size).toBe(0);
    expect(detector.size).toBe(0);
  });

  it('keeps its guarantees for any mix of checks, forgets and clock steps in two scopes', () => {
    // Reference: every sighting ever, the obvious O(n) way, against the guaranteed properties.
    const pair = { scope: fc.constantFrom('a', 'b'), id: fc.integer({ min: 0, max: 9 }) };
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('check' as const), ...pair }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), ...pair }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('back' as const), ms: fc.integer({ min: 1, max: 30 }) }) },
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300, size: 'max' }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (ops, maxEntries, clockMayGoBack) => {
          const { state, now } = clock(1_000);
          const windowMs = 50;
          const guaranteed = maxEntries === 1 ? 1 : Math.floor(maxEntries / 2);
          const detector = new DuplicateDetector({ maxEntries, windowMs, now });
          const scopes = Reflect.get(detector, 'scopes') as Map<string, unknown>;
          // Pairs checked, oldest first (each pair once, at its last check), and their times.
          let recent: string[] = [];
          const lastSeen = new Map<string, number>();
          let wentBack = false;
          for (const step of ops) {
            if (step.kind === 'wait') {
              state.now += step.ms;
              continue;
            }
            if (step.kind === 'back') {
              if (!clockMayGoBack) continue;
              state.now -= step.ms;
              wentBack = true;
              continue;
            }
            const key = `${step.scope}\n${step.id}`;
            if (step.kind === 'forget') {
              detector.forget(step.scope, String(step.id));
              lastSeen.delete(key);
              expect(scopes.size).toBeLessThanOrEqual(detector.size);
              continue;
            }
            const at = lastSeen.get(key);
            const withinWindow = at !== undefined && state.now - at <= windowMs;
            const othersSince = recent.length - 1 - recent.indexOf(key);
            const mustRemember = withinWindow && recent.includes(key) && othersSince <= guaranteed - 1;
            const duplicate = detector.check(step.scope, String(step.id));
            // Never a duplicate outside the window, or for a pair never checked or forgotten since.
            if (duplicate) expect(withinWindow).toBe(true);
            // Always one for a pair among the most recent `guaranteed`, with a clock that only advances.
            if (mustRemember && !wentBack) expect(duplicate).toBe(true);
            recent = recent.filter((other) => other !== key);
            recent.push(key);
            lastSeen.set(key, state.now);
            expect(detector.size).toBeLessThanOrEqual(maxEntries);
            // A scope is kept only while it holds an identity.
            expect(scopes.size).toBeLessThanOrEqual(detector.size);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
