import type { JaegerSpan, JaegerTrace } from '../jaeger/types';
import { DEAD_LETTER_OUTCOMES, FAILED_OUTCOMES, RETURNED_EVENTS, Read, ReadRenamed } from './attributes';

/** What part a span plays in moving a message: it sends one, it consumes one (or a batch), or neither. */
export type SpanRole = 'send' | 'consume' | 'other';

export interface SpanRef {
  traceId: string;
  spanId: string;
}

export interface SpanError {
  /** `error.type`, when the span has one. */
  type?: string;
  /** The status description. */
  message?: string;
}

/**
 * One Jaeger span read as a messaging operation: the few facts the chain and the audit need,
 * normalised across brokers and across how Jaeger renders parents and links.
 */
export interface MessagingSpan {
  traceId: string;
  spanId: string;
  service: string;
  /** The span name, e.g. `process orders`. */
  operation: string;
  role: SpanRole;
  /** For consume spans: `process` (push delivery, batches) or `receive` (a pull such as amqplib `get`). */
  consumeKind?: 'process' | 'receive';
  /** Epoch microseconds. */
  startUs: number;
  durationUs: number;
  /** The parent span (Jaeger `CHILD_OF`, or the only reference of a span that has no `CHILD_OF`). */
  parent?: SpanRef;
  /**
   * For consume spans: the send spans of the messages it handles — its links (`FOLLOWS_FROM`), or
   * its parent when it has no link. Several for a batch.
   */
  messages: SpanRef[];
  system?: string;
  destination?: string;
  messageId?: string;
  conversationId?: string;
  routingKey?: string;
  partition?: string;
  offset?: string;
  key?: string;
  consumerGroup?: string;
  batchCount?: number;
  hops?: number;
  /** `mqtrail.settle.outcome`, else the last `settle <outcome>` event. */
  outcome?: string;
  redelivered: boolean;
  duplicate: boolean;
  /** Set when the span failed: ERROR status or an `error.type`. */
  error?: SpanError;
  /** A send span whose message the broker returned as unroutable. */
  returned: boolean;
  /** Why it was returned, e.g. `312 NO_ROUTE`. */
  returnReason?: string;
  /** `mqtrail.dead_letter.*` attributes of a consume span, keyed without the prefix. */
  deadLetter?: Record<string, string>;
}

/** Attributes by name. */
export type Tags = Map<string, unknown>;

function tagMap(span: JaegerSpan): Tags {
  const tags: Tags = new Map();
  for (const tag of span.tags ?? []) tags.set(tag.key, tag.value);
  return tags;
}

function text(tags: Tags, key: string): string | undefined {
  const value = tags.get(key);
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : String(value);
}

/** A renamed attribute under its 1.45 name, else its old one (`messaging/dup` spans carry both). */
function renamedText(tags: Tags, renamed: { old: string; new: string }): string | undefined {
  return text(tags, renamed.new) ?? text(tags, renamed.old);
}

function flag(tags: Tags, key: string): boolean {
  const value = tags.get(key);
  return value === true || value === 'true';
}

function count(tags: Tags, key: string): number | undefined {
  const value = Number(tags.get(key));
  return tags.has(key) && Number.isFinite(value) ? value : undefined;
}

function roleOf(tags: Tags): { role: SpanRole; consumeKind?: 'process' | 'receive' } {
  const type = text(tags, Read.OPERATION_TYPE) ?? text(tags, Read.LEGACY_OPERATION);
  if (type === 'send' || type === 'publish' || type === 'create') return { role: 'send' };
  if (type === 'process' || type === 'deliver') return { role: 'consume', consumeKind: 'process' };
  if (type === 'receive') return { role: 'consume', consumeKind: 'receive' };
  const messaging = tags.has(ReadRenamed.SYSTEM.new) || tags.has(ReadRenamed.SYSTEM.old);
  if (type !== undefined || !messaging) return { role: 'other' };
  // A messaging span without an operation type: go by its kind.
  const kind = text(tags, Read.SPAN_KIND);
  if (kind === 'producer') return { role: 'send' };
  if (kind === 'consumer') return { role: 'consume', consumeKind: 'process' };
  return { role: 'other' };
}

function outcomeOf(events: readonly string[], tags: Tags): string | undefined {
  const attribute = text(tags, Read.SETTLE_OUTCOME);
  if (attribute !== undefined) return attribute;
  let outcome: string | undefined;
  for (const event of events) if (event.startsWith('settle ')) outcome = event.slice('settle '.length);
  return outcome;
}

function errorOf(tags: Tags, outcome: string | undefined): SpanError | undefined {
  const type = text(tags, Read.ERROR_TYPE);
  const outcomeFailed = outcome !== undefined && FAILED_OUTCOMES.includes(outcome);
  // A dropped or timed-out message's span has status ERROR but no error.type (as contrib's, so
  // error-rate dashboards keep their meaning): that status is the settlement, which the outcome
  // already says, not a failure of the handler.
  const settledWithError =
    type === undefined && outcome !== undefined && (outcomeFailed || DEAD_LETTER_OUTCOMES.includes(outcome));
  const failed =
    !settledWithError && (type !== undefined || text(tags, Read.STATUS_CODE) === 'ERROR' || flag(tags, Read.ERROR));
  if (!failed) return outcomeFailed ? { type: outcome } : undefined;
  const error: SpanError = {};
  if (type !== undefined) error.type = type;
  const message = text(tags, Read.STATUS_DESCRIPTION);
  if (message !== undefined) error.message = message;
  return error;
}

function returnedOf(events: readonly string[], tags: Tags): boolean {
  return flag(tags, Read.RETURNED) || events.some((event) => RETURNED_EVENTS.includes(event));
}

function deadLetterOf(tags: Tags): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const [key, value] of tags) {
    if (!key.startsWith(Read.DEAD_LETTER_PREFIX)) continue;
    found ??= {};
    found[key.slice(Read.DEAD_LETTER_PREFIX.length)] = String(value);
  }
  return found;
}

/**
 * A span as any source renders it (Jaeger's query API, OTLP JSON from the span topic): the parts
 * `readSpanParts` needs, so every reader of spans judges them by the same code.
 */
export interface SpanParts {
  traceId: string;
  spanId: string;
  operation: string;
  /** Epoch microseconds. */
  startUs: number;
  durationUs: number;
  /** Attributes, with the span kind as `span.kind` and the status as `otel.status_code` / `otel.status_description`, as Jaeger shows them. */
  tags: Tags;
  /** The parent (`CHILD_OF`). */
  childOf: SpanRef | undefined;
  /** The links (`FOLLOWS_FROM`). */
  links: readonly SpanRef[];
  /** Event names, in time order. */
  events: readonly string[];
}

/** Reads one Jaeger span. `service` is the name of its process in the trace. */
export function readSpan(span: JaegerSpan, service: string): MessagingSpan {
  const references = span.references ?? [];
  const childOf = references.find((ref) => ref.refType === 'CHILD_OF');
  const events: string[] = [];
  for (const log of span.logs ?? []) {
    const event = log.fields.find((field) => field.key === 'event')?.value;
    if (event !== undefined) events.push(String(event));
  }
  return readSpanParts(
    {
      traceId: span.traceID,
      spanId: span.spanID,
      operation: span.operationName,
      startUs: span.startTime,
      durationUs: span.duration,
      tags: tagMap(span),
      childOf: childOf === undefined ? undefined : toRef(childOf),
      links: references.filter((ref) => ref.refType === 'FOLLOWS_FROM').map(toRef),
      events,
    },
    service,
  );
}

function toRef(ref: { traceID: string; spanID: string }): SpanRef {
  return { traceId: ref.traceID, spanId: ref.spanID };
}

/** Reads one span from its parts. `service` is the name of the service that recorded it. */
export function readSpanParts(parts: SpanParts, service: string): MessagingSpan {
  const { tags, childOf, links, events } = parts;
  const { role, consumeKind } = roleOf(tags);
  // Jaeger merges a parent that is also a link into one FOLLOWS_FROM reference, which is then the
  // parent as well (the first reference is the parent, as Jaeger's UI reads it).
  const parentRef = childOf ?? (role === 'consume' && links.length > 1 ? undefined : links[0]);

  const outcome = outcomeOf(events, tags);
  const read: MessagingSpan = {
    traceId: parts.traceId,
    spanId: parts.spanId,
    service,
    operation: parts.operation,
    role,
    startUs: parts.startUs,
    durationUs: parts.durationUs,
    messages:
      role !== 'consume' ? [] : links.length > 0 ? links.map((ref) => ({ ...ref })) : childOf ? [{ ...childOf }] : [],
    redelivered: flag(tags, Read.REDELIVERED) || (count(tags, Read.DELIVERY_COUNT) ?? 0) > 0,
    duplicate: flag(tags, Read.DUPLICATE),
    returned: role === 'send' && returnedOf(events, tags),
  };
  if (consumeKind !== undefined) read.consumeKind = consumeKind;
  if (parentRef !== undefined) read.parent = { ...parentRef };
  // Absent attributes stay absent (not `undefined` keys), so the JSON of a chain shows only facts.
  const optional: Partial<Record<keyof MessagingSpan, string | undefined>> = {
    system: renamedText(tags, ReadRenamed.SYSTEM),
    destination: text(tags, Read.DESTINATION_NAME),
    messageId: text(tags, Read.MESSAGE_ID),
    conversationId: text(tags, Read.MESSAGE_CONVERSATION_ID),
    routingKey: renamedText(tags, ReadRenamed.RABBITMQ_ROUTING_KEY),
    partition: text(tags, Read.DESTINATION_PARTITION_ID),
    offset: renamedText(tags, ReadRenamed.KAFKA_OFFSET),
    key: renamedText(tags, ReadRenamed.KAFKA_MESSAGE_KEY),
    consumerGroup: text(tags, Read.CONSUMER_GROUP_NAME),
    outcome,
  };
  for (const [field, value] of Object.entries(optional))
    if (value !== undefined) Object.assign(read, { [field]: value });
  const batchCount = count(tags, Read.BATCH_MESSAGE_COUNT);
  if (batchCount !== undefined) read.batchCount = batchCount;
  const hops = count(tags, Read.CHAIN_HOPS);
  if (hops !== undefined) read.hops = hops;
  if (read.returned) {
    const reason = [text(tags, Read.RETURN_CODE), text(tags, Read.RETURN_REASON)].filter(Boolean).join(' ');
    if (reason !== '') read.returnReason = reason;
  }
  const error = errorOf(tags, outcome);
  if (error !== undefined) read.error = error;
  if (role === 'consume') {
    const deadLetter = deadLetterOf(tags);
    if (deadLetter !== undefined) read.deadLetter = deadLetter;
  }
  return read;
}

/** Every span of a trace, read. */
export function readTrace(trace: JaegerTrace): MessagingSpan[] {
  return trace.spans.map((span) => readSpan(span, trace.processes[span.processID]?.serviceName ?? '(unknown service)'));
}

/** A dead-letter outcome, or arrival through dead-lettering. */
export function isDeadLettered(span: MessagingSpan): boolean {
  return (span.outcome !== undefined && DEAD_LETTER_OUTCOMES.includes(span.outcome)) || span.deadLetter !== undefined;
}
