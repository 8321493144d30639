import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration';
import { InvalidArgumentError } from './errors';

describe('parseDuration', () => {
  it('reads what people type', () => {
    expect(parseDuration('15m', '--since')).toBe(900_000);
    expect(parseDuration('30s', '--since')).toBe(30_000);
    expect(parseDuration('2h', '--since')).toBe(7_200_000);
    expect(parseDuration('1.5h', '--since')).toBe(5_400_000);
    expect(parseDuration('250ms', '--since')).toBe(250);
    expect(parseDuration(' 2 days ', '--since')).toBe(172_800_000);
    expect(parseDuration('0s', '--grace', { allowZero: true })).toBe(0);
  });

  it('rejects anything else with a message that names the option and the rule', () => {
    expect(() => parseDuration('abc', '--since')).toThrow(
      new InvalidArgumentError('--since', 'must be a duration like 15m, 30s or 2h (got "abc")'),
    );
    for (const bad of ['', '15', '15 parsecs', 'm', '-5m', 'x'.repeat(200)]) {
      expect(() => parseDuration(bad, '--since'), bad).toThrow(/^--since must be a duration/);
    }
    expect(() => parseDuration('0s', '--since')).toThrow('--since must be a duration greater than zero');
    try {
      parseDuration('abc', '--grace');
    } catch (error) {
      expect(error).toMatchObject({ code: 'MQTRAIL_INVALID_ARGUMENT', option: '--grace', exitCode: 64 });
    }
  });
});
