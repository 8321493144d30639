/**
 * Every PromQL expression that ops/ ships — dashboard panel targets and annotations, Grafana's
 * trace-to-metrics queries, alert rule expressions — read from the files themselves and made
 * runnable against Prometheus's query API: Grafana's variables are replaced by concrete values.
 */
import { type OpsExpression, opsExpressions, readDatasources } from '../../scripts/ops/ops-files';
import { promqlNames } from '../../scripts/ops/promql';

export interface OpsQuery extends OpsExpression {
  /** The expression as written in the file. */
  rawExpr: string;
  /** The expression with every Grafana variable substituted: ready for /api/v1/query. */
  expr: string;
  /** Metric names the expression reads. */
  metrics: string[];
  /** Label names the expression matches or groups on. */
  labels: string[];
  /**
   * Whether the expression itself returns series once instrumented apps run. Alert expressions
   * and the firing-alerts annotation return series only while an alert's condition holds; for
   * those, require data for each of `metrics` instead.
   */
  expectsData: boolean;
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

/**
 * Replaces Grafana's variables with values Prometheus accepts:
 * - template variables in label matchers select everything (`label=~".*"`), as "All" does;
 * - `$__rate_interval`, `$__interval`, `$__range` become fixed durations;
 * - `$__tags` (trace-to-metrics) becomes one `label=~".+"` matcher per configured span tag.
 * Throws on any variable it does not know, so a new one cannot slip through unsubstituted.
 */
export function substituteGrafanaVariables(expr: string, where = 'expression'): string {
  let result = expr.replace(VARIABLE_MATCHER, (match, label: string, op: string, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    if (name.startsWith('__')) return match;
    if (op === '!~' || op === '!=') {
      throw new Error(`${where}: negative matcher on template variable $${name} has no "select all" value: ${expr}`);
    }
    return `${label}=~".*"`;
  });
  result = result.replace(/\$(?:\{(__\w+)\}|(__\w+))/g, (match, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    if (name === '__tags') return traceTagMatchers();
    const value = INTERVALS[name];
    if (value === undefined) throw new Error(`${where}: no substitute for Grafana variable ${match} in: ${expr}`);
    return value;
  });
  if (result.includes('$')) throw new Error(`${where}: a Grafana variable is left after substitution: ${result}`);
  return result;
}

function traceTagMatchers(): string {
  const tags = readDatasources().flatMap((datasource) => datasource.jsonData?.tracesToMetrics?.tags ?? []);
  return tags.map((tag) => `${tag.value ?? tag.key}=~".+"`).join(', ');
}

export function opsQueries(): OpsQuery[] {
  return opsExpressions().map((found) => {
    const expr = substituteGrafanaVariables(found.expr, `${found.file}: ${found.where}`);
    const { metrics, labels } = promqlNames(expr);
    return {
      ...found,
      rawExpr: found.expr,
      expr,
      metrics,
      labels,
      expectsData: found.kind === 'panel' || found.kind === 'trace-to-metrics',
    };
  });
}
