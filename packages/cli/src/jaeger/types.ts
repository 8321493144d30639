/**
 * The JSON of Jaeger's query HTTP API (`/api/...`), which Jaeger v2 keeps from v1. Only the
 * fields mqtrail reads are typed; everything else Jaeger sends is ignored.
 */

export interface JaegerKeyValue {
  key: string;
  /** `string`, `bool`, `int64`, `float64` or `binary`. */
  type: string;
  value: unknown;
}

export interface JaegerReference {
  /**
   * OpenTelemetry parents become `CHILD_OF`, links `FOLLOWS_FROM`. A span whose parent is also one
   * of its links (mqtrail's default consumer span) has one `FOLLOWS_FROM` reference to it: Jaeger's
   * OTLP translator merges the two.
   */
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerLog {
  /** Epoch microseconds. */
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: JaegerReference[] | null;
  /** Epoch microseconds. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags?: JaegerKeyValue[] | null;
  logs?: JaegerLog[] | null;
  processID: string;
  warnings?: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags?: JaegerKeyValue[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings?: string[] | null;
}

export interface JaegerError {
  code: number;
  msg: string;
}

/** Every `/api/...` answer is wrapped the same way. */
export interface JaegerResponse<T> {
  data: T | null;
  total?: number;
  limit?: number;
  offset?: number;
  errors: JaegerError[] | null;
}
