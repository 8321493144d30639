import { describe, expect, it } from 'vitest';
import { chainHeader, traceparent } from './messages';

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
});
