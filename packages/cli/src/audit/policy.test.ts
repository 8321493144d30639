import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors';
import { AuditAggregator } from './aggregator';
import { breaches, DEFAULT_FAIL_ON, parseFailOn } from './policy';

describe('parseFailOn', () => {
  it('reads kinds, allowances, all and none', () => {
    expect(parseFailOn(DEFAULT_FAIL_ON)).toEqual({ lost: 0, duplicate: 0, 'dead-letter': 0 });
    expect(parseFailOn('lost, failed:5')).toEqual({ lost: 0, failed: 5 });
    expect(parseFailOn('none')).toEqual({});
    expect(Object.keys(parseFailOn('all'))).toHaveLength(7);
  });

  it('names the option and the rule for anything else', () => {
    for (const bad of ['', 'lots', 'lost:-1', 'lost:x', 'lost,,dup']) {
      expect(() => parseFailOn(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => parseFailOn('lots')).toThrow(
      '--fail-on must be "none" or a comma list of lost, duplicate, redelivered, dead-letter, failed, slow, returned (or "all"), each optionally with :N findings allowed, like lost,failed:5 (got "lots")',
    );
  });
});

describe('breaches', () => {
  it('lists each kind whose count passes what is allowed', () => {
    const report = new AuditAggregator({ startUs: 0, endUs: 1, graceUs: 0 }).report();
    report.counts.lost = 2;
    report.counts.failed = 5;
    report.counts.redelivered = 9;
    expect(breaches(report, parseFailOn('lost,failed:5'))).toEqual([{ kind: 'lost', count: 2, allowed: 0 }]);
    expect(breaches(report, parseFailOn('failed:4'))).toEqual([{ kind: 'failed', count: 5, allowed: 4 }]);
    expect(breaches(report, parseFailOn('none'))).toEqual([]);
  });
});
