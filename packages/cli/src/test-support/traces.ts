import { RenamedAttr, type SemconvMode, semconvNames } from '@mqtrail/core';
import type { JaegerKeyValue, JaegerReference, JaegerSpan, JaegerTrace } from '../jaeger/types';

/** Epoch µs all test traces start from: 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1) * 1_000;
export const ms = (milliseconds: number): number => milliseconds * 1_000;

let ids = 0;
/** Deterministic ids, so snapshots are stable: call resetIds() in beforeEach. */
export function resetIds(): void {
  ids = 0;
}
export function nextId(width: 16 | 32): string {
  ids++;
  return ids.toString(16).padStart(width, '0');
}

type TagValue = string | number | boolean;

function tags(values: Record<string, TagValue | undefined>): JaegerKeyValue[] {
  return Object.entries(values).flatMap(([key, value]) =>
    value === undefined
      ? []
      : [
          {
            key,
            type: typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? 'int64' : 'string',
            value,
          },
        ],
  );
}

export interface SendOptions {
  service: string;
  destination: string;
  system?: 'rabbitmq' | 'kafka';
  /** Start, µs after T0. */
  at: number;
  duration?: number;
  /** Span id of the parent (e.g. the process span the message was sent from). */
  parent?: string;
  messageId?: string;
  correlationId?: string;
  routingKey?: string;
  partition?: string;
  key?: string;
  error?: string;
  returned?: boolean;
}

/**
 * How a consume span refers to its message(s), as Jaeger renders it:
 * `merged` — the default (parent = link = send span) which Jaeger shows as one FOLLOWS_FROM;
 * `links` — `useLinksForConsume`: CHILD_OF the ambient parent (if any), FOLLOWS_FROM each message;
 * `parent` — only CHILD_OF the send span (instrumentations that add no link).
 */
export type RefStyle = 'merged' | 'links' | 'parent';

export interface ConsumeOptions {
  service: string;
  destination: string;
  system?: 'rabbitmq' | 'kafka';
  /** Send span id(s) of the consumed message(s); a different trace id with `traceOf`. */
  messages: string[];
  /** Trace of the linked send spans when they live in another trace. */
  messageTrace?: string;
  refs?: RefStyle;
  /** Ambient parent span id (with `links`). */
  parent?: string;
  at: number;
  duration: number;
  kind?: 'process' | 'receive';
  outcome?: string;
  /** Record the outcome only as a `settle <outcome>` event. */
  outcomeAsEvent?: boolean;
  redelivered?: boolean;
  duplicate?: boolean;
  error?: string;
  batchCount?: number;
  consumerGroup?: string;
  partition?: string;
  offset?: number;
  deadLetter?: { queue: string; reason?: string; exchange?: string };
  hops?: number;
}

/** Builds a Jaeger trace span by span, the way Jaeger's query API returns mqtrail's spans. */
export class TraceBuilder {
  readonly traceId: string;
  private readonly spans: JaegerSpan[] = [];
  private readonly processes = new Map<string, string>();

  constructor(traceId = nextId(32)) {
    this.traceId = traceId;
  }

  private processId(service: string): string {
    let id = this.processes.get(service);
    if (id === undefined) {
      id = `p${this.processes.size + 1}`;
      this.processes.set(service, id);
    }
    return id;
  }

  /** Any span, e.g. an HTTP server span that starts a chain. */
  span(options: {
    service: string;
    name: string;
    at: number;
    duration?: number;
    parent?: string;
    kind?: string;
  }): string {
    const spanID = nextId(16);
    this.spans.push({
      traceID: this.traceId,
      spanID,
      operationName: options.name,
      references: options.parent ? [{ refType: 'CHILD_OF', traceID: this.traceId, spanID: options.parent }] : [],
      startTime: T0 + options.at,
      duration: options.duration ?? ms(1),
      tags: tags({ 'span.kind': options.kind ?? 'server' }),
      logs: [],
      processID: this.processId(options.service),
    });
    return spanID;
  }

  send(options: SendOptions): string {
    const spanID = nextId(16);
    const failed = options.error !== undefined;
    this.spans.push({
      traceID: this.traceId,
      spanID,
      operationName: `send ${options.destination}`,
      references: options.parent ? [{ refType: 'CHILD_OF', traceID: this.traceId, spanID: options.parent }] : [],
      startTime: T0 + options.at,
      duration: options.duration ?? ms(2),
      tags: tags({
        'messaging.system': options.system ?? 'rabbitmq',
        'messaging.operation.name': 'send',
        'messaging.operation.type': 'send',
        'messaging.destination.name': options.destination,
        'messaging.message.id': options.messageId,
        'messaging.message.conversation_id': options.correlationId,
        'messaging.rabbitmq.destination.routing_key': options.routingKey,
        'messaging.destination.partition.id': options.partition,
        'messaging.kafka.message.key': options.key,
        'mqtrail.returned': options.returned,
        'mqtrail.rabbitmq.return.code': options.returned ? 312 : undefined,
        'mqtrail.rabbitmq.return.reason': options.returned ? 'NO_ROUTE' : undefined,
        'error.type': options.error,
        error: failed ? true : undefined,
        'otel.status_code': failed ? 'ERROR' : undefined,
        'span.kind': 'producer',
      }),
      logs: options.returned ? [{ timestamp: T0 + options.at + 1, fields: tags({ event: 'message returned' }) }] : [],
      processID: this.processId(options.service),
    });
    return spanID;
  }

  consume(options: ConsumeOptions): string {
    const spanID = nextId(16);
    const messageTrace = options.messageTrace ?? this.traceId;
    const refs: JaegerReference[] = [];
    const style = options.refs ?? (options.messages.length > 1 ? 'links' : 'merged');
    if (style === 'links' && options.parent)
      refs.push({ refType: 'CHILD_OF', traceID: this.traceId, spanID: options.parent });
    for (const message of options.messages) {
      refs.push({ refType: style === 'parent' ? 'CHILD_OF' : 'FOLLOWS_FROM', traceID: messageTrace, spanID: message });
    }
    const operation = options.kind ?? 'process';
    const failed = options.error !== undefined;
    const logs = [];
    if (options.outcome !== undefined) {
      logs.push({
        timestamp: T0 + options.at + options.duration,
        fields: tags({ event: `settle ${options.outcome}`, 'mqtrail.settle.outcome': options.outcome }),
      });
    }
    this.spans.push({
      traceID: this.traceId,
      spanID,
      operationName: `${operation} ${options.destination}`,
      references: refs,
      startTime: T0 + options.at,
      duration: options.duration,
      tags: tags({
        'messaging.system': options.system ?? 'rabbitmq',
        'messaging.operation.name': operation,
        'messaging.operation.type': operation,
        'messaging.destination.name': options.destination,
        'messaging.consumer.group.name': options.consumerGroup,
        'messaging.destination.partition.id': options.partition,
        'messaging.kafka.offset': options.offset,
        'messaging.batch.message_count': options.batchCount,
        'mqtrail.settle.outcome': options.outcomeAsEvent ? undefined : options.outcome,
        'mqtrail.chain.hops': options.hops,
        'mqtrail.redelivered': options.redelivered,
        'mqtrail.duplicate': options.duplicate,
        'mqtrail.dead_letter.queue': options.deadLetter?.queue,
        'mqtrail.dead_letter.reason': options.deadLetter?.reason,
        'mqtrail.dead_letter.exchange': options.deadLetter?.exchange,
        'error.type': options.error,
        error: failed ? true : undefined,
        'otel.status_code': failed ? 'ERROR' : undefined,
        'otel.status_description': failed ? `${options.error} happened` : undefined,
        'span.kind': operation === 'receive' ? 'client' : 'consumer',
      }),
      logs,
      processID: this.processId(options.service),
    });
    return spanID;
  }

  build(): JaegerTrace {
    return {
      traceID: this.traceId,
      spans: this.spans.map((span) => ({ ...span })),
      processes: Object.fromEntries(
        [...this.processes].map(([service, id]) => [id, { serviceName: service, tags: [] }]),
      ),
      warnings: null,
    };
  }
}

/**
 * The same trace as an application with `OTEL_SEMCONV_STABILITY_OPT_IN` set would have written it:
 * each attribute that semconv 1.45 renamed under the names of `mode` (the builders write the old
 * names, which is mode `old`).
 */
export function inSemconvMode(trace: JaegerTrace, mode: SemconvMode): JaegerTrace {
  const names = semconvNames(mode);
  const namesOf = new Map<string, readonly string[]>(
    Object.entries(RenamedAttr).map(([key, renamed]) => [renamed.old, names[key as keyof typeof RenamedAttr]]),
  );
  const rename = (tag: JaegerKeyValue): JaegerKeyValue[] =>
    namesOf.get(tag.key)?.map((key) => ({ ...tag, key })) ?? [tag];
  return {
    ...trace,
    spans: trace.spans.map((span) => ({ ...span, tags: span.tags?.flatMap(rename) ?? span.tags })),
  };
}
