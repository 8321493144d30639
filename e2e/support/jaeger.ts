import { endpoints } from './endpoints';
import { getJson, waitFor } from './wait';

export interface JaegerReference {
  refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  traceID: string;
  spanID: string;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[];
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
  startTime: number;
  duration: number;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** Fetches a trace from Jaeger's query API, waiting until it holds at least `minSpans` spans. */
export async function fetchTrace(traceId: string, minSpans = 1, timeoutMs = 30_000): Promise<JaegerTrace> {
  return waitFor(
    `trace ${traceId} with ${minSpans}+ spans in Jaeger`,
    async () => {
      const { status, body } = await getJson<{ data?: JaegerTrace[] }>(
        `${endpoints.jaegerQuery}/api/traces/${traceId}`,
      );
      const found = status === 200 ? body.data?.[0] : undefined;
      return found !== undefined && found.spans.length >= minSpans ? found : undefined;
    },
    { timeoutMs },
  );
}

export function tagOf(span: JaegerSpan, key: string): unknown {
  return span.tags.find((tag) => tag.key === key)?.value;
}

export function serviceOf(trace: JaegerTrace, span: JaegerSpan): string | undefined {
  return trace.processes[span.processID]?.serviceName;
}
