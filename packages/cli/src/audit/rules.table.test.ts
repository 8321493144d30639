import { beforeEach, describe, expect, it } from 'vitest';
import { runFakeFollow } from '../test-support/follow-fake';
import { GRACE_US, RULE_CASES } from '../test-support/rule-cases';
import { ms, resetIds, T0 } from '../test-support/traces';
import { AuditAggregator } from './aggregator';
import { FINDING_KINDS, type Finding, type FindingKind } from './findings';
import { findingKey } from './rules';

beforeEach(resetIds);

function counts(findings: { kind: FindingKind }[]): Partial<Record<FindingKind, number>> {
  const found: Partial<Record<FindingKind, number>> = {};
  for (const finding of findings) found[finding.kind] = (found[finding.kind] ?? 0) + 1;
  return found;
}

function batch(testCase: (typeof RULE_CASES)[number]): Finding[] {
  const aggregator = new AuditAggregator({
    startUs: T0 - ms(60_000),
    endUs: T0 + ms(3_600_000),
    graceUs: GRACE_US,
    ...(testCase.slowUs === undefined ? {} : { slowUs: testCase.slowUs }),
  });
  for (const trace of testCase.traces()) aggregator.addTrace(trace);
  const report = aggregator.report();
  return FINDING_KINDS.flatMap((kind) => report.findings[kind] as Finding[]);
}

describe.each(RULE_CASES)('rules: $name', (testCase) => {
  it('batch audit (Jaeger scan)', () => {
    expect(counts(batch(testCase))).toEqual(testCase.expected);
  });

  it.each([
    { order: 'as-is' as const, partitions: 1 },
    { order: 'reversed' as const, partitions: 3 },
    { order: 'as-is' as const, partitions: 4, crashEvery: 3 },
  ])('audit --follow (Kafka stream): %o, the same findings, each once', (variant) => {
    const expectedKeys = (() => {
      resetIds();
      return batch(testCase).map(findingKey).sort();
    })();
    resetIds();
    const streamed = runFakeFollow(testCase.traces(), {
      graceUs: GRACE_US,
      ...(testCase.slowUs === undefined ? {} : { slowUs: testCase.slowUs }),
      ...variant,
    });
    expect(counts(streamed)).toEqual(testCase.expected);
    expect(streamed.map((record) => record.key).sort()).toEqual(expectedKeys);
    for (const record of streamed) {
      expect(record.key).toBe(findingKey(record.finding));
      expect(record.traceId).toBe(record.finding.traceId);
    }
  });
});
