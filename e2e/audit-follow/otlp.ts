import { randomBytes } from 'node:crypto';

/**
 * OTLP/JSON trace requests as the collector's kafka exporter writes them to the span topic
 * (`encoding: otlp_json`): hex ids, 64-bit integers as strings, enums as numbers. The synthetic
 * scenario writes them itself so its spans, and so its findings, are known exactly.
 */

type Value = string | number | boolean;

export interface SpanSpec {
  service: string;
  traceId: string;
  spanId?: string;
  parentSpanId?: string;
  links?: { traceId: string; spanId: string }[];
  name: string;
  kind: 'producer' | 'consumer';
  startMs: number;
  durationMs: number;
  attributes: Record<string, Value | undefined>;
  events?: string[];
  error?: string;
}

export const traceId = (): string => randomBytes(16).toString('hex');
export const spanId = (): string => randomBytes(8).toString('hex');

const KIND = { producer: 4, consumer: 5 } as const;

function value(v: Value) {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { intValue: String(v) };
  return { stringValue: v };
}

const nanos = (ms: number): string => `${Math.round(ms * 1_000)}000`;

/** One request holding the given spans (all of one trace, as the exporter partitions by trace). */
export function request(spans: (SpanSpec & { spanId: string })[]): string {
  const byService = new Map<string, (SpanSpec & { spanId: string })[]>();
  for (const span of spans) byService.set(span.service, [...(byService.get(span.service) ?? []), span]);
  return JSON.stringify({
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [
        {
          scope: { name: '@mqtrail/e2e' },
          spans: list.map((span) => ({
            traceId: span.traceId,
            spanId: span.spanId,
            ...(span.parentSpanId === undefined ? {} : { parentSpanId: span.parentSpanId }),
            name: span.name,
            kind: KIND[span.kind],
            startTimeUnixNano: nanos(span.startMs),
            endTimeUnixNano: nanos(span.startMs + span.durationMs),
            attributes: Object.entries({ ...span.attributes, 'error.type': span.error }).flatMap(([key, v]) =>
              v === undefined ? [] : [{ key, value: value(v) }],
            ),
            events: (span.events ?? []).map((name) => ({ name, timeUnixNano: nanos(span.startMs + span.durationMs) })),
            links: (span.links ?? []).map((link) => ({ traceId: link.traceId, spanId: link.spanId })),
            status: span.error === undefined ? {} : { code: 2, message: `${span.error} happened` },
          })),
        },
      ],
    })),
  });
}

export function send(
  service: string,
  destination: string,
  at: number,
  extra: Partial<SpanSpec> & { messageId?: string; returned?: boolean } = {},
): SpanSpec & { spanId: string } {
  return {
    service,
    traceId: extra.traceId ?? traceId(),
    spanId: spanId(),
    name: `send ${destination}`,
    kind: 'producer',
    startMs: at,
    durationMs: 2,
    ...extra,
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': destination,
      'messaging.message.id': extra.messageId,
      'mqtrail.returned': extra.returned,
      ...extra.attributes,
    },
  };
}

export function consume(
  service: string,
  destination: string,
  messages: { traceId: string; spanId: string }[],
  at: number,
  extra: Partial<Omit<SpanSpec, 'links'>> & {
    links?: 'links' | 'parent';
    outcome?: string;
    redelivered?: boolean;
    batch?: boolean;
  } = {},
): SpanSpec & { spanId: string } {
  const first = messages[0];
  const linksOnly = extra.links === 'links' || messages.length > 1;
  const trace = extra.traceId ?? (linksOnly || first === undefined ? traceId() : first.traceId);
  const { links: _links, ...rest } = extra;
  return {
    service,
    traceId: trace,
    spanId: spanId(),
    ...(linksOnly || first === undefined ? {} : { parentSpanId: first.spanId }),
    name: `process ${destination}`,
    kind: 'consumer',
    startMs: at,
    durationMs: 3,
    ...rest,
    links: messages.map((message) => ({ traceId: message.traceId, spanId: message.spanId })),
    attributes: {
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': destination,
      'messaging.batch.message_count': extra.batch ? messages.length : undefined,
      'mqtrail.settle.outcome': extra.outcome,
      'mqtrail.redelivered': extra.redelivered,
      ...extra.attributes,
    },
    ...(extra.outcome === undefined ? {} : { events: [`settle ${extra.outcome}`] }),
  };
}
