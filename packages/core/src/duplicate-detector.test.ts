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
});
