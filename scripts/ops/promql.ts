/**
 * Which metric and label names a PromQL expression reads: enough of a scanner to check
 * dashboards and rules against what the exporters really write, without a PromQL parser.
 * It assumes a syntactically valid expression (Prometheus checks that; see e2e/ops.test.ts).
 */

export interface PromqlNames {
  /** Metric names of every vector selector, e.g. `messaging_process_duration_bucket`. */
  metrics: string[];
  /** Label names in matchers and in by/without/on/ignoring/group_left/group_right lists. */
  labels: string[];
}

/** Keywords whose parenthesised list holds label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Aggregations may be followed by `by (...)` rather than by their own parenthesis. */
const AGGREGATIONS = [
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
];
/** Words that are never metric names when they stand alone. */
const KEYWORDS = new Set([
  ...LABEL_LIST_KEYWORDS,
  ...AGGREGATIONS,
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'atan2',
  'start',
  'end',
  'inf',
  'nan',
]);

const IDENTIFIER_START = /[a-zA-Z_:]/;
const IDENTIFIER_PART = /[a-zA-Z0-9_:]/;

export function promqlNames(expr: string): PromqlNames {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  let i = 0;
  // Inside `{...}` every bare identifier is a label name; values are always strings.
  let inMatchers = false;
  // Inside the parentheses after `by`, `on`, ...: every identifier is a label name.
  let inLabelList = false;

  const skipString = (quote: string): void => {
    i++;
    while (i < expr.length && expr[i] !== quote) i += expr[i] === '\\' && quote !== '`' ? 2 : 1;
    i++;
  };
  const readIdentifier = (): string => {
    const start = i;
    while (i < expr.length && IDENTIFIER_PART.test(expr.charAt(i))) i++;
    return expr.slice(start, i);
  };
  const nextSignificant = (): string => {
    let j = i;
    while (j < expr.length && /\s/.test(expr.charAt(j))) j++;
    return expr.charAt(j);
  };

  while (i < expr.length) {
    const c = expr.charAt(i);
    if (c === '"' || c === "'" || c === '`') {
      skipString(c);
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '{') {
      inMatchers = true;
      i++;
    } else if (c === '}') {
      inMatchers = false;
      i++;
    } else if (c === '[') {
      // Range or subquery duration: nothing named in there.
      while (i < expr.length && expr[i] !== ']') i++;
    } else if (c === ')' && inLabelList) {
      inLabelList = false;
      i++;
    } else if (c === '$') {
      // A Grafana variable left in a raw expression: `$name`, `${name}`, `${name:format}`.
      i++;
      if (expr[i] === '{') while (i < expr.length && expr[i] !== '}') i++;
      else readIdentifier();
      i++;
    } else if (/[0-9.]/.test(c)) {
      // Numbers, durations (5m, 1h30m), hex and exponent forms.
      while (i < expr.length && /[0-9a-zA-Z_.]/.test(expr.charAt(i))) i++;
    } else if (IDENTIFIER_START.test(c)) {
      const word = readIdentifier();
      if (inMatchers || inLabelList) {
        labels.add(word);
      } else if (LABEL_LIST_KEYWORDS.has(word) && nextSignificant() === '(') {
        inLabelList = true;
        while (expr[i] !== '(') i++;
        i++;
      } else if (nextSignificant() === '(' || KEYWORDS.has(word)) {
        // A function or aggregation name, or an operator word.
      } else {
        metrics.add(word);
      }
    } else {
      i++;
    }
  }
  return { metrics: [...metrics].sort(), labels: [...labels].sort() };
}
