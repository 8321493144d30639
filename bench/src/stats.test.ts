import { describe, expect, it } from 'vitest';
import { max, median, min, percentileOfSorted, percentiles, ratio, slope, steadyHeapTrend, summarize } from './stats';

describe('median, min, max', () => {
  it('takes the middle value of an odd count and averages the middle two of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('ignores non-finite values and gives NaN for nothing', () => {
    expect(median([Number.NaN, 5, Number.POSITIVE_INFINITY])).toBe(5);
    expect(median([])).toBeNaN();
    expect(min([])).toBeNaN();
    expect(max([Number.NaN])).toBeNaN();
  });

  it('does not reorder the caller array', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('summarizes', () => {
    expect(summarize([5, 1, 9, Number.NaN])).toEqual({ n: 3, median: 5, min: 1, max: 9 });
  });
});

describe('ratio', () => {
  it('divides, and refuses a zero or missing baseline', () => {
    expect(ratio(95, 100)).toBeCloseTo(0.95);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(Number.NaN, 1)).toBeNaN();
  });
});

describe('percentiles', () => {
  it('interpolates between ranks', () => {
    const sorted = [10, 20, 30, 40, 50];
    expect(percentileOfSorted(sorted, 0)).toBe(10);
    expect(percentileOfSorted(sorted, 50)).toBe(30);
    expect(percentileOfSorted(sorted, 100)).toBe(50);
    expect(percentileOfSorted(sorted, 25)).toBe(20);
    expect(percentileOfSorted(sorted, 90)).toBeCloseTo(46);
  });

  it('handles one value, no values, and out-of-range p', () => {
    expect(percentileOfSorted([7], 99)).toBe(7);
    expect(percentileOfSorted([], 50)).toBeNaN();
    expect(percentileOfSorted([1, 2], 150)).toBe(2);
  });

  it('sorts a copy of an unsorted sample, typed arrays included', () => {
    const sample = new Float64Array([5, 1, 4, 2, 3]);
    expect(percentiles(sample, [50, 99])).toEqual([3, expect.closeTo(4.96, 5)]);
    expect(Array.from(sample)).toEqual([5, 1, 4, 2, 3]);
  });
});

describe('slope', () => {
  it('fits a line', () => {
    expect(slope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2);
    expect(slope([0, 1, 2], [4, 4, 4])).toBe(0);
  });

  it('needs two distinct x values', () => {
    expect(slope([1], [1])).toBeNaN();
    expect(slope([2, 2], [1, 3])).toBeNaN();
  });
});

describe('steadyHeapTrend', () => {
  it('leaves out the first interval, which fills bounded caches', () => {
    const trend = steadyHeapTrend(
      [
        [0, 1_000],
        [100, 9_000],
        [200, 9_000],
        [300, 9_000],
      ],
      100,
    );
    expect(trend).toEqual({ first: 9_000, last: 9_000, bytesPerMessage: 0 });
  });

  it('gives NaN when too few samples are steady', () => {
    expect(steadyHeapTrend([[0, 1]], 100).bytesPerMessage).toBeNaN();
  });
});
