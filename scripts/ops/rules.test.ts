import { describe, expect, it } from 'vitest';
import { alertRules, readYaml, ruleTestFiles } from './ops-files';

// The rules' behaviour is tested by promtool (ops/prometheus/tests, run in e2e/ops.test.ts where
// promtool is installed). Here: that every alert carries what a receiver needs, and that the
// promtool tests cover each one both firing and not firing.

interface RuleTestFile {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const alerts = alertRules();
const ruleTests = ruleTestFiles().flatMap((file) =>
  readYaml<RuleTestFile>(file).tests.flatMap((test) => test.alert_rule_test ?? []),
);

describe('alert rules', () => {
  it('are there, each under its own name', () => {
    const names = alerts.map(({ rule }) => rule.alert);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(alerts.map(({ rule }) => [rule.alert, rule] as const))(
    '%s has a for: duration, a severity, and a summary and description naming what is affected',
    (_name, rule) => {
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toMatch(/\{\{ \$(labels\.\w+|value[^}]*) \}\}/);
      expect(rule.annotations?.description).toMatch(/\{\{ \$labels\.\w+ \}\}/);
    },
  );

  it.each(alerts.map(({ rule }) => rule.alert))(
    '%s has a promtool test where it fires and one where it does not',
    (name) => {
      const cases = ruleTests.filter((test) => test.alertname === name);
      expect(
        cases.some((test) => test.exp_alerts.length > 0),
        'a case where it fires',
      ).toBe(true);
      expect(
        cases.some((test) => test.exp_alerts.length === 0),
        'a case where it does not fire',
      ).toBe(true);
    },
  );
});
