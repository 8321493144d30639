import type { JaegerKeyValue, JaegerTrace } from '../jaeger/types';
import type { OtlpAnyValue, OtlpKeyValue, OtlpSpan, OtlpTraceRequest } from '../spans/otlp';

const KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
/** Tags Jaeger derives from the span itself rather than from its attributes. */
const DERIVED = new Set(['span.kind', 'otel.status_code', 'otel.status_description', 'error']);

function anyValue(tag: JaegerKeyValue): OtlpAnyValue {
  if (typeof tag.value === 'boolean') return { boolValue: tag.value };
  if (typeof tag.value === 'number')
    return Number.isInteger(tag.value) ? { intValue: String(tag.value) } : { doubleValue: tag.value };
  return { stringValue: String(tag.value) };
}

const nanos = (us: number): string => `${us}000`;

/**
 * The spans of a Jaeger trace as the collector's kafka exporter writes them (OTLP/JSON), one
 * request per service — what Jaeger showed, turned back into what the apps exported, so the same
 * test traces drive the batch audit and `audit --follow`.
 */
export function toOtlp(trace: JaegerTrace): OtlpTraceRequest[] {
  const byService = new Map<string, OtlpSpan[]>();
  for (const span of trace.spans) {
    const service = trace.processes[span.processID]?.serviceName ?? '(unknown service)';
    const tags = span.tags ?? [];
    const tag = (key: string) => tags.find((t) => t.key === key)?.value;
    const references = span.references ?? [];
    const parent = references.find((ref) => ref.refType === 'CHILD_OF');
    const otlp: OtlpSpan = {
      traceId: span.traceID,
      spanId: span.spanID,
      name: span.operationName,
      startTimeUnixNano: nanos(span.startTime),
      endTimeUnixNano: nanos(span.startTime + span.duration),
      attributes: tags
        .filter((t) => !DERIVED.has(t.key))
        .map((t): OtlpKeyValue => ({ key: t.key, value: anyValue(t) })),
      events: (span.logs ?? []).map((log) => ({
        timeUnixNano: nanos(log.timestamp),
        name: String(log.fields.find((field) => field.key === 'event')?.value ?? ''),
        attributes: log.fields
          .filter((field) => field.key !== 'event')
          .map((t) => ({ key: t.key, value: anyValue(t) })),
      })),
      links: references
        .filter((ref) => ref.refType === 'FOLLOWS_FROM')
        .map((ref) => ({ traceId: ref.traceID, spanId: ref.spanID })),
      status:
        tag('otel.status_code') === 'ERROR' ? { code: 2, message: String(tag('otel.status_description') ?? '') } : {},
    };
    if (parent !== undefined) otlp.parentSpanId = parent.spanID;
    const kind = KINDS[String(tag('span.kind'))];
    if (kind !== undefined) otlp.kind = kind;
    const list = byService.get(service) ?? [];
    list.push(otlp);
    byService.set(service, list);
  }
  return [...byService].map(([service, spans]) => ({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ spans }],
      },
    ],
  }));
}
