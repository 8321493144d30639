import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Expiring, type ExpiryReason, OpenRegistry } from './open-registry';

/** An entry named `name`: the registry keeps each entry's deadline on it. */
class Entry implements Expiring {
  expiresAt = 0;
  constructor(readonly name: string) {}
}

/** A registry whose `add` takes names, and whose takes and expiries read as names. */
function registry(maxEntries = 10) {
  const expired: [string, ExpiryReason][] = [];
  const entries = new OpenRegistry<number, Entry>({
    maxEntries,
    onExpire: (value, reason) => expired.push([value.name, reason]),
  });
  const names = (values: Entry[]) => values.map((value) => value.name);
  const open = {
    add: (key: number, name: string, ttlMs: number) => entries.add(key, new Entry(name), ttlMs),
    take: (key: number) => entries.take(key)?.name,
    takeUpTo: (last: (key: number) => boolean) => names(entries.takeUpTo(last)),
    takeAll: () => names(entries.takeAll()),
    get size() {
      return entries.size;
    },
  };
  return { open, expired };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('OpenRegistry', () => {
  it('takes one, everything up to a key in insertion order, or all', () => {
    const { open } = registry();
    for (const tag of [1, 2, 3, 4, 5]) open.add(tag, `m${tag}`, 1_000);
    expect(open.take(3)).toBe('m3');
    expect(open.take(3)).toBeUndefined();
    expect(open.takeUpTo((tag) => tag <= 4)).toEqual(['m1', 'm2', 'm4']);
    expect(open.takeAll()).toEqual(['m5']);
    expect(open.size).toBe(0);
  });

  it('expires the oldest entry when full', () => {
    const { open, expired } = registry(2);
    open.add(1, 'a', 1_000);
    open.add(2, 'b', 1_000);
    open.add(3, 'c', 1_000);
    expect(expired).toEqual([['a', 'overflow']]);
    expect(open.size).toBe(2);
  });

  it('expires entries past their deadline with one timer, oldest first', () => {
    vi.useFakeTimers();
    const { open, expired } = registry();
    open.add(1, 'a', 1_000);
    vi.advanceTimersByTime(500);
    open.add(2, 'b', 1_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(501);
    expect(expired).toEqual([['a', 'timeout']]);
    vi.advanceTimersByTime(500);
    expect(expired).toEqual([
      ['a', 'timeout'],
      ['b', 'timeout'],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('arms one timer for a stream of add-and-take, which then lapses with nothing due', () => {
    vi.useFakeTimers();
    const { open, expired } = registry();
    for (let tag = 1; tag <= 100; tag++) {
      open.add(tag, 'x', 1_000);
      open.take(tag);
    }
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_001);
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('expires an entry added after an earlier one was taken, when its own deadline comes', () => {
    vi.useFakeTimers();
    const { open, expired } = registry();
    open.add(1, 'a', 1_000);
    open.take(1);
    vi.advanceTimersByTime(600);
    open.add(2, 'b', 1_000);
    vi.advanceTimersByTime(500);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(500);
    expect(expired).toEqual([['b', 'timeout']]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancels its timer when everything is taken at once, and survives a throwing expiry callback', () => {
    vi.useFakeTimers();
    const open = new OpenRegistry<number, Entry>({
      maxEntries: 10,
      onExpire: () => {
        throw new Error('bug in the callback');
      },
    });
    open.add(1, new Entry('a'), 1_000);
    open.takeAll();
    expect(vi.getTimerCount()).toBe(0);
    open.add(2, new Entry('b'), 1_000);
    expect(() => vi.advanceTimersByTime(1_001)).not.toThrow();
    expect(open.size).toBe(0);
  });
});
