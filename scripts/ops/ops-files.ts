/**
 * Reads what ops/ ships — Grafana dashboards and data sources, Prometheus alert rules — and
 * lists every PromQL expression in it with where it came from. Tests check the files through
 * this module, and e2e/support/ops-queries.ts runs the expressions against a real Prometheus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DASHBOARDS_DIR = 'ops/grafana/dashboards';
export const DATASOURCES_FILE = 'ops/grafana/provisioning/datasources/datasources.yml';
export const RULES_DIR = 'ops/prometheus/rules';
export const RULE_TESTS_DIR = 'ops/prometheus/tests';

/** The parts of a Grafana dashboard (schemaVersion 39) that the checks read. */
export interface GrafanaDatasourceRef {
  type?: string;
  uid?: string;
}
export interface GrafanaTarget {
  refId: string;
  expr?: string;
  legendFormat?: string;
  datasource?: GrafanaDatasourceRef;
}
export interface GrafanaLink {
  title: string;
  url: string;
  targetBlank?: boolean;
}
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: GrafanaDatasourceRef;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: GrafanaTarget[];
  /** Rows hold their panels here only while collapsed. */
  panels?: GrafanaPanel[];
  fieldConfig?: { defaults?: { unit?: string; links?: GrafanaLink[] } };
}
export interface GrafanaVariable {
  name: string;
  type: string;
  query?: unknown;
  allValue?: string;
}
export interface GrafanaAnnotation {
  name: string;
  expr?: string;
  datasource?: GrafanaDatasourceRef;
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
  annotations: { list: GrafanaAnnotation[] };
  links: GrafanaLink[];
}

/** The parts of a Grafana data source provisioning file that the checks read. */
export interface ProvisionedDatasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  isDefault?: boolean;
  jsonData?: {
    tracesToMetrics?: {
      datasourceUid: string;
      tags?: { key: string; value?: string }[];
      queries?: { name: string; query: string }[];
    };
  };
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: (AlertRule | { record: string; expr: string })[];
}

/** A PromQL expression as written in ops/, and where. */
export interface OpsExpression {
  kind: 'panel' | 'annotation' | 'trace-to-metrics' | 'alert';
  /** Repository-relative path of the file. */
  file: string;
  /** Human-readable place in the file, e.g. `panel 12 "Sent by destination" target A`. */
  where: string;
  expr: string;
}

function repoPath(file: string): string {
  return path.join(REPO_ROOT, file);
}

function filesIn(dir: string, extension: string): string[] {
  return readdirSync(repoPath(dir))
    .filter((name) => name.endsWith(extension))
    .sort()
    .map((name) => `${dir}/${name}`);
}

export function readYaml<T>(file: string): T {
  return parse(readFileSync(repoPath(file), 'utf8')) as T;
}

export function dashboardFiles(): string[] {
  return filesIn(DASHBOARDS_DIR, '.json');
}

export function readDashboard(file: string): GrafanaDashboard {
  return JSON.parse(readFileSync(repoPath(file), 'utf8')) as GrafanaDashboard;
}

/** Every panel, including those inside collapsed rows, rows themselves included. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export function dashboardExpressions(file: string): OpsExpression[] {
  const dashboard = readDashboard(file);
  const expressions: OpsExpression[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined) continue;
      expressions.push({
        kind: 'panel',
        file,
        where: `panel ${panel.id} "${panel.title}" target ${target.refId}`,
        expr: target.expr,
      });
    }
  }
  for (const annotation of dashboard.annotations.list) {
    if (annotation.expr === undefined) continue;
    expressions.push({ kind: 'annotation', file, where: `annotation "${annotation.name}"`, expr: annotation.expr });
  }
  return expressions;
}

export function readDatasources(): ProvisionedDatasource[] {
  return readYaml<{ datasources: ProvisionedDatasource[] }>(DATASOURCES_FILE).datasources;
}

/** Queries Grafana offers from a span in Jaeger ("trace to metrics"); `$__tags` is left in. */
export function traceToMetricsExpressions(): OpsExpression[] {
  return readDatasources().flatMap((datasource) =>
    (datasource.jsonData?.tracesToMetrics?.queries ?? []).map((query) => ({
      kind: 'trace-to-metrics' as const,
      file: DATASOURCES_FILE,
      where: `data source "${datasource.name}" trace-to-metrics query "${query.name}"`,
      expr: query.query,
    })),
  );
}

export function ruleFiles(): string[] {
  return filesIn(RULES_DIR, '.yml');
}

export function ruleTestFiles(): string[] {
  return filesIn(RULE_TESTS_DIR, '.yml');
}

export function readRuleGroups(file: string): RuleGroup[] {
  return readYaml<{ groups: RuleGroup[] }>(file).groups;
}

export function alertRules(): { file: string; group: string; rule: AlertRule }[] {
  return ruleFiles().flatMap((file) =>
    readRuleGroups(file).flatMap((group) =>
      group.rules
        .filter((rule): rule is AlertRule => 'alert' in rule)
        .map((rule) => ({ file, group: group.name, rule })),
    ),
  );
}

export function ruleExpressions(): OpsExpression[] {
  return alertRules().map(({ file, group, rule }) => ({
    kind: 'alert' as const,
    file,
    where: `group "${group}" alert ${rule.alert}`,
    expr: rule.expr,
  }));
}

/** Every PromQL expression that ops/ ships: dashboards, data sources, alert rules. */
export function opsExpressions(): OpsExpression[] {
  return [...dashboardFiles().flatMap(dashboardExpressions), ...traceToMetricsExpressions(), ...ruleExpressions()];
}
