import ms from 'ms';
import { InvalidArgumentError } from './errors';

// `ms` (vercel/ms) parses what people type — 15m, 30s, 2h, 1.5h, 100ms, "2 days" — and is the
// most used duration parser on npm, so its spellings are the ones users already know. It also
// reads a bare number as milliseconds; for a window or a grace period "--since 15" is far more
// likely a forgotten unit than 15 ms, so a unit is required here.
const HAS_UNIT = /^-?(?:\d+\.?\d*|\.\d+)\s*[a-z]+$/i;

export interface DurationRule {
  /** Accept zero (e.g. `--grace 0s`). Default false. */
  allowZero?: boolean;
}

/** Milliseconds of a duration such as `15m`; throws InvalidArgumentError naming `option` and the rule. */
export function parseDuration(value: string, option: string, rule: DurationRule = {}): number {
  const text = value.trim();
  let parsed: number | undefined;
  try {
    parsed = HAS_UNIT.test(text) ? ms(text as ms.StringValue) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || !Number.isFinite(parsed)) {
    throw new InvalidArgumentError(option, `must be a duration like 15m, 30s or 2h (got ${JSON.stringify(value)})`);
  }
  if (parsed < 0 || (parsed === 0 && !rule.allowZero)) {
    throw new InvalidArgumentError(
      option,
      `must be a duration ${rule.allowZero ? 'of zero or more' : 'greater than zero'}, like 15m, 30s or 2h (got ${JSON.stringify(value)})`,
    );
  }
  return parsed;
}
