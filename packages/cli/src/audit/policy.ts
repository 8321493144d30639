import { InvalidArgumentError } from '../errors';
import { type AuditReport, FINDING_KINDS, type FindingKind } from './findings';

/** For each kind that can fail the audit, how many findings are still allowed. */
export type FailPolicy = Partial<Record<FindingKind, number>>;

/** Lost, duplicate and dead-lettered messages fail an audit unless `--fail-on` says otherwise. */
export const DEFAULT_FAIL_ON = 'lost,duplicate,dead-letter';

const RULE = `must be "none" or a comma list of ${FINDING_KINDS.join(', ')} (or "all"), each optionally with :N findings allowed, like lost,failed:5`;

/** Parses `--fail-on`: `lost,duplicate:3`, `all`, `none`. */
export function parseFailOn(value: string, option = '--fail-on'): FailPolicy {
  const text = value.trim();
  if (text === 'none') return {};
  const policy: FailPolicy = {};
  for (const item of text.split(',')) {
    const match = /^\s*([a-z-]+)\s*(?::\s*(\d+)\s*)?$/.exec(item);
    const name = match?.[1];
    const kinds = name === 'all' ? FINDING_KINDS : FINDING_KINDS.filter((kind) => kind === name);
    if (match === null || kinds.length === 0)
      throw new InvalidArgumentError(option, `${RULE} (got ${JSON.stringify(value)})`);
    for (const kind of kinds) policy[kind] = Number(match[2] ?? 0);
  }
  return policy;
}

export interface PolicyBreach {
  kind: FindingKind;
  count: number;
  allowed: number;
}

/** The kinds whose findings exceed what the policy allows; empty means the audit passes. */
export function breaches(report: AuditReport, policy: FailPolicy): PolicyBreach[] {
  const found: PolicyBreach[] = [];
  for (const kind of FINDING_KINDS) {
    const allowed = policy[kind];
    if (allowed !== undefined && report.counts[kind] > allowed)
      found.push({ kind, count: report.counts[kind], allowed });
  }
  return found;
}
