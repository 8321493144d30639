import { describe, expect, it } from 'vitest';
import { chainHeader, traceparent, upstreamSampling } from './messages';

describe('synthetic message headers', () => {
  it('writes traceparents a W3C propagator accepts, so consumers see a traced upstream', () => {
    for (const sequence of [0, 1, 255, 123_456_789]) {
      expect(traceparent(sequence, true)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(traceparent(sequence, false)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    }
  });

  it('gives every message its own trace and span id', () => {
    expect(traceparent(1, true)).not.toBe(traceparent(2, true));
  });

  it('writes the chain header mqtrail producers write', () => {
    expect(chainHeader(1_700_000_000_123.7)).toBe('1;s=1700000000123;o=1700000000123;h=1');
  });

  it('samples upstream at the variant’s ratio: all at 100%, none at 0%, every 100th at 1%', () => {
    const sampledOf = (ratio: number) => {
      const sampled = upstreamSampling(ratio);
      return Array.from({ length: 10_000 }, (_, sequence) => sequence).filter(sampled);
    };
    expect(sampledOf(1)).toHaveLength(10_000);
    expect(sampledOf(0)).toHaveLength(0);
    const onePercent = sampledOf(0.01);
    expect(onePercent).toHaveLength(100);
    expect(onePercent.slice(0, 3)).toEqual([0, 100, 200]);
    // Deterministic: every variant and repetition consumes the same sampled messages.
    expect(sampledOf(0.01)).toEqual(onePercent);
  });
});
