/**
 * Every PromQL expression that ops/ ships — dashboard panel targets and annotations, Grafana's
 * trace-to-metrics queries, alert rule expressions — read from the files themselves and made
 * runnable against Prometheus's query API: Grafana's variables are replaced by concrete values.
 */
import { RenamedAttr, type RenamedAttribute, type SemconvMode, semconvNames } from '@mqtrail/core';
import {
  dashboardFiles,
  type OpsExpression,
  opsExpressions,
  readDashboard,
  readDatasources,
} from '../../scripts/ops/ops-files';
import { promqlNames } from '../../scripts/ops/promql';

export interface OpsQuery extends OpsExpression {
  /** The expression as written in the file. */
  rawExpr: string;
  /** The expression with every Grafana variable substituted: ready for /api/v1/query. */
  expr: string;
  /** Metric names the expression reads. */
  metrics: string[];
  /**
   * Label names the expression matches or groups on that an application in the default semconv
   * mode writes. The expressions also read the 1.45 name of a renamed label
   * (`messaging_system_name`), which only applications with `OTEL_SEMCONV_STABILITY_OPT_IN` write:
   * see `labelsByMode`.
   */
  labels: string[];
  /** The label names the expression uses that an application in each semconv mode writes. */
  labelsByMode: Record<SemconvMode, string[]>;
  /**
   * Whether the expression itself returns series once instrumented apps run. Alert expressions
   * and the firing-alerts annotation return series only while an alert's condition holds; for
   * those, require data for each of `metrics` instead.
   */
  expectsData: boolean;
}

export interface SubstituteOptions {
  /**
   * The regex a template variable's matchers get, by variable name: what Grafana puts in for a
   * selection. A variable not listed selects everything: its "All" value (`allValues`), else `.*`.
   */
  values?: Record<string, string>;
  /** "All" values of the dashboard's variables, by name. */
  allValues?: Record<string, string>;
  /**
   * The semconv mode of the application whose span "Related metrics" starts from: Grafana puts a
   * configured span tag into `$__tags` only when the span has it. Default `old`.
   */
  semconv?: SemconvMode;
  /**
   * A real span's tags: `$__tags` is then built as Grafana builds it, `label="value"` for each
   * configured tag the span has, instead of `label=~".+"` for the tags of a `semconv` span.
   */
  spanTags?: Record<string, unknown>;
}

/** Grafana's interval variables, as a one-minute rate window over a 2 s scrape would set them. */
const INTERVALS: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __range: '1h',
};

/** `label="$var"` or `label=~"${var}"` (also with a `:format`) on a dashboard template variable. */
const VARIABLE_MATCHER =
  /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|=|!~|!=)\s*"\$(?:\{([a-zA-Z_]\w*)(?::\w+)?\}|([a-zA-Z_]\w*))"/g;

/** The Prometheus label an attribute becomes: the exporter turns dots into underscores. */
function labelOf(attribute: string): string {
  return attribute.replace(/\./g, '_');
}

/**
 * Replaces Grafana's variables with values Prometheus accepts:
 * - template variables in label matchers get the selection in `values`, else select everything
 *   (their "All" value, else `label=~".*"`);
 * - `$__rate_interval`, `$__interval`, `$__range` become fixed durations;
 * - `$__tags` (trace-to-metrics) becomes one `label=~".+"` matcher per configured span tag that a
 *   span of the `semconv` mode carries, or Grafana's own `label="value"` for a real span's tags.
 * Throws on any variable it does not know, so a new one cannot slip through unsubstituted.
 */
export function substituteGrafanaVariables(
  expr: string,
  where = 'expression',
  options: SubstituteOptions = {},
): string {
  let result = expr.replace(VARIABLE_MATCHER, (match, label: string, op: string, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    if (name.startsWith('__')) return match;
    if (op === '!~' || op === '!=') {
      throw new Error(`${where}: negative matcher on template variable $${name} has no "select all" value: ${expr}`);
    }
    const value = options.values?.[name] ?? options.allValues?.[name] ?? '.*';
    return `${label}=~${JSON.stringify(value)}`;
  });
  result = result.replace(/\$(?:\{(__\w+)\}|(__\w+))/g, (match, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    if (name === '__tags') return traceTagMatchers(options);
    const value = INTERVALS[name];
    if (value === undefined) throw new Error(`${where}: no substitute for Grafana variable ${match} in: ${expr}`);
    return value;
  });
  if (result.includes('$')) throw new Error(`${where}: a Grafana variable is left after substitution: ${result}`);
  return result;
}

/** Names of renamed attributes that an application in `mode` does not write. */
function namesNotWritten(mode: SemconvMode): Set<string> {
  const names = semconvNames(mode);
  const written = new Set((Object.keys(RenamedAttr) as RenamedAttribute[]).flatMap((key) => names[key]));
  return new Set(
    Object.values(RenamedAttr)
      .flatMap((renamed) => [renamed.old, renamed.new])
      .filter((name) => !written.has(name)),
  );
}

function traceTagMatchers({ semconv = 'old', spanTags }: SubstituteOptions): string {
  const tags = readDatasources().flatMap((datasource) => datasource.jsonData?.tracesToMetrics?.tags ?? []);
  if (spanTags !== undefined) {
    return tags
      .filter((tag) => spanTags[tag.key] !== undefined && spanTags[tag.key] !== '')
      .map((tag) => `${tag.value ?? tag.key}="${String(spanTags[tag.key])}"`)
      .join(', ');
  }
  const absent = namesNotWritten(semconv);
  return tags
    .filter((tag) => !absent.has(tag.key))
    .map((tag) => `${tag.value ?? tag.key}=~".+"`)
    .join(', ');
}

function allValuesOf(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of readDashboard(file).templating.list)
    if (variable.allValue !== undefined) values[variable.name] = variable.allValue;
  return values;
}

/**
 * Every expression of ops/, substituted. Alert rules are Prometheus's alone: Grafana never sees
 * them, so their `$1` (a label_replace reference) stays as written.
 */
export function opsQueries(options: Omit<SubstituteOptions, 'allValues'> = {}): OpsQuery[] {
  const allValues = new Map(dashboardFiles().map((file) => [file, allValuesOf(file)]));
  const labelsAbsent = Object.fromEntries(
    (['old', 'new', 'dup'] as const).map((mode) => [mode, new Set([...namesNotWritten(mode)].map(labelOf))]),
  ) as Record<SemconvMode, Set<string>>;
  return opsExpressions().map((found) => {
    const expr =
      found.kind === 'alert'
        ? found.expr
        : substituteGrafanaVariables(found.expr, `${found.file}: ${found.where}`, {
            ...options,
            allValues: allValues.get(found.file) ?? {},
          });
    const { metrics, labels } = promqlNames(expr);
    const labelsByMode = {
      old: labels.filter((label) => !labelsAbsent.old.has(label)),
      new: labels.filter((label) => !labelsAbsent.new.has(label)),
      dup: labels,
    };
    return {
      ...found,
      rawExpr: found.expr,
      expr,
      metrics,
      labels: labelsByMode.old,
      labelsByMode,
      expectsData: found.kind === 'panel' || found.kind === 'trace-to-metrics',
    };
  });
}

/** A dashboard variable whose options come from a PromQL query (Grafana's `query_result(...)`). */
export interface VariableQuery {
  file: string;
  name: string;
  /** The PromQL inside `query_result(...)`, substituted like the panel expressions. */
  expr: string;
  /** Grafana's regex, whose first group picks the option out of each result line. */
  regex: RegExp;
}

export function variableQueries(options: Omit<SubstituteOptions, 'allValues'> = {}): VariableQuery[] {
  return dashboardFiles().flatMap((file) =>
    readDashboard(file).templating.list.flatMap((variable) => {
      const definition = (variable as { definition?: string }).definition ?? '';
      const inner = /^query_result\(([\s\S]*)\)$/.exec(definition.trim())?.[1];
      const regex = /^\/(.*)\/([a-z]*)$/.exec((variable as { regex?: string }).regex ?? '');
      if (inner === undefined || regex?.[1] === undefined) return [];
      const expr = substituteGrafanaVariables(inner, `${file}: variable ${variable.name}`, {
        ...options,
        allValues: allValuesOf(file),
      });
      return [{ file, name: variable.name, expr, regex: new RegExp(regex[1], regex[2]) }];
    }),
  );
}

/** What Grafana matches a variable's regex against for one `query_result` sample. */
export function queryResultText(sample: { metric: Record<string, string>; value: [number, string] }): string {
  const { __name__: name = '', ...labels } = sample.metric;
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return `${name}{${pairs.join(',')}} ${sample.value[1]} ${sample.value[0] * 1000}`;
}
