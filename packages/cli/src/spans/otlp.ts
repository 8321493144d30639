import { Read } from './attributes';
import { type MessagingSpan, readSpanParts, type SpanRef, type Tags } from './messaging-span';

/**
 * OTLP/JSON as the collector's `kafka` exporter writes it with `encoding: otlp_json`: one record is
 * an `ExportTraceServiceRequest` (resourceSpans → scopeSpans → spans). The OTLP/JSON mapping
 * writes trace and span ids as hex strings, 64-bit integers as strings, and enums as integers;
 * names of enums and base64 ids are accepted too, since other encoders write them.
 * https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
 */
export interface OtlpTraceRequest {
  resourceSpans?: OtlpResourceSpans[] | null;
}

export interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[] | null } | null;
  scopeSpans?: { spans?: OtlpSpan[] | null }[] | null;
}

export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue | null;
}

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] | null } | null;
  kvlistValue?: { values?: OtlpKeyValue[] | null } | null;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: OtlpKeyValue[] | null;
  events?: { name?: string; timeUnixNano?: string | number; attributes?: OtlpKeyValue[] | null }[] | null;
  links?: { traceId: string; spanId: string }[] | null;
  status?: { code?: number | string; message?: string } | null;
}

/** Jaeger's names of the OpenTelemetry span kinds (`span.kind`), by enum number. */
const SPAN_KINDS = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

function kindName(kind: number | string | undefined): string | undefined {
  if (kind === undefined) return undefined;
  if (typeof kind === 'number') return SPAN_KINDS[kind] || undefined;
  const name = kind.replace(/^SPAN_KIND_/, '').toLowerCase();
  return name === 'unspecified' || name === '' ? undefined : name;
}

function isError(code: number | string | undefined): boolean {
  return code === 2 || code === 'STATUS_CODE_ERROR' || code === '2';
}

/** An attribute value as Jaeger shows it: strings, booleans and numbers as such, the rest as JSON. */
function plain(value: OtlpAnyValue | null | undefined): unknown {
  if (value === null || value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue) return JSON.stringify((value.arrayValue.values ?? []).map(plain));
  if (value.kvlistValue)
    return JSON.stringify(Object.fromEntries((value.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)])));
  return undefined;
}

/** A hex id as OTLP/JSON writes it; a base64 one (protobuf's JSON mapping) is turned into hex. */
export function hexId(id: string | undefined, bytes: 8 | 16): string {
  if (id === undefined || id === '') return '';
  if (id.length === bytes * 2 && /^[0-9a-f]+$/i.test(id)) return id.toLowerCase();
  const decoded = Buffer.from(id, 'base64');
  return decoded.length === bytes ? decoded.toString('hex') : id.toLowerCase();
}

/** Epoch microseconds of a `...UnixNano` field (a string holding a 64-bit integer). */
function micros(nanos: string | number | undefined): number {
  if (nanos === undefined) return 0;
  if (typeof nanos === 'number') return Math.floor(nanos / 1_000);
  // Nanoseconds since 1970 pass 2^53: drop the last three digits as text, not as a float.
  return nanos.length > 3 ? Number(nanos.slice(0, -3)) : 0;
}

/** Reads one OTLP span the way `readSpan` reads its Jaeger rendering. */
export function readOtlpSpan(span: OtlpSpan, service: string): MessagingSpan {
  const tags: Tags = new Map();
  for (const attribute of span.attributes ?? []) tags.set(attribute.key, plain(attribute.value));
  const kind = kindName(span.kind);
  if (kind !== undefined) tags.set(Read.SPAN_KIND, kind);
  if (isError(span.status?.code)) {
    tags.set(Read.STATUS_CODE, 'ERROR');
    tags.set(Read.ERROR, true);
    if (span.status?.message) tags.set(Read.STATUS_DESCRIPTION, span.status.message);
  }
  const traceId = hexId(span.traceId, 16);
  const parent = hexId(span.parentSpanId, 8);
  const links: SpanRef[] = (span.links ?? []).map((link) => ({
    traceId: hexId(link.traceId, 16),
    spanId: hexId(link.spanId, 8),
  }));
  const events: string[] = [];
  for (const event of span.events ?? []) if (event.name) events.push(event.name);
  const startUs = micros(span.startTimeUnixNano);
  return readSpanParts(
    {
      traceId,
      spanId: hexId(span.spanId, 8),
      operation: span.name ?? '',
      startUs,
      durationUs: Math.max(0, micros(span.endTimeUnixNano) - startUs),
      tags,
      childOf: parent === '' ? undefined : { traceId, spanId: parent },
      links,
      events,
    },
    service,
  );
}

/** Every span of one OTLP/JSON export request, read; `service.name` of its resource names the service. */
export function readOtlpRequest(request: OtlpTraceRequest): MessagingSpan[] {
  const read: MessagingSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const name = resourceSpans.resource?.attributes?.find((kv) => kv.key === 'service.name')?.value?.stringValue;
    const service = name ?? '(unknown service)';
    for (const scope of resourceSpans.scopeSpans ?? [])
      for (const span of scope.spans ?? []) read.push(readOtlpSpan(span, service));
  }
  return read;
}

/** Counts the spans of a request without reading them. */
export function countOtlpSpans(request: OtlpTraceRequest): number {
  let spans = 0;
  for (const resourceSpans of request.resourceSpans ?? [])
    for (const scope of resourceSpans.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
  return spans;
}
