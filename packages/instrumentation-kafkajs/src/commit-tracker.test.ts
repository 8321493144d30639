import { describe, expect, it } from 'vitest';
import { CommitTracker } from './commit-tracker';

describe('CommitTracker', () => {
  it('settles every delivered message below the committed offset, once', () => {
    const tracker = new CommitTracker();
    for (const offset of [5, 6, 7]) tracker.delivered('g', 't', 0, offset);
    expect(tracker.committed('g', 't', 0, 8)).toBe(3);
    expect(tracker.committed('g', 't', 0, 8)).toBe(0);
    expect(tracker.size).toBe(0);
  });

  it('settles a partial commit and keeps the rest pending', () => {
    const tracker = new CommitTracker();
    for (const offset of [0, 1, 2, 3]) tracker.delivered('g', 't', 0, offset);
    expect(tracker.committed('g', 't', 0, 2)).toBe(2);
    expect(tracker.committed('g', 't', 0, 4)).toBe(2);
  });

  it('does not count a retried message twice', () => {
    const tracker = new CommitTracker();
    tracker.delivered('g', 't', 0, 0);
    tracker.delivered('g', 't', 0, 1);
    // The handler failed on 1: kafkajs commits 1 and delivers 1 again.
    expect(tracker.committed('g', 't', 0, 1)).toBe(1);
    tracker.delivered('g', 't', 0, 1);
    expect(tracker.committed('g', 't', 0, 2)).toBe(1);
  });

  it('counts a replay after a seek back again', () => {
    const tracker = new CommitTracker();
    for (const offset of [0, 1, 2]) tracker.delivered('g', 't', 0, offset);
    expect(tracker.committed('g', 't', 0, 3)).toBe(3);
    for (const offset of [0, 1, 2]) tracker.delivered('g', 't', 0, offset);
    expect(tracker.committed('g', 't', 0, 3)).toBe(3);
  });

  it('keeps groups and partitions apart and ignores commits of undelivered partitions', () => {
    const tracker = new CommitTracker();
    tracker.delivered('g1', 't', 0, 0);
    tracker.delivered('g2', 't', 0, 0);
    tracker.delivered('g1', 't', 1, 0);
    expect(tracker.committed('g1', 't', 0, 1)).toBe(1);
    expect(tracker.committed('g1', 't', 2, 100)).toBe(0);
    expect(tracker.size).toBe(2);
  });

  it('stays bounded in partitions', () => {
    const tracker = new CommitTracker(3);
    for (let partition = 0; partition < 10; partition++) tracker.delivered('g', 't', partition, 0);
    expect(tracker.size).toBe(3);
    expect(tracker.committed('g', 't', 9, 1)).toBe(1);
    expect(tracker.committed('g', 't', 0, 1)).toBe(0);
  });
});
