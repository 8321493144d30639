import { DEAD_LETTER_OUTCOMES } from '../spans/attributes';
import type { MessagingSpan } from '../spans/messaging-span';

/**
 * Per-message facts: what one span says about the messages it sends or consumes and about its
 * chain (trace). Both audit drivers turn spans into these and fold them with `rules.ts`: the batch
 * audit in memory, `audit --follow` after re-keying them through Kafka by message identity, so a
 * message's send and its consumes meet wherever their spans were recorded.
 */

/** `service \0 destination`: where a span ran, as one string (interned by the folds). */
export type ScopeKey = string;

export function scopeKey(service: string, destination: string | undefined): ScopeKey {
  return `${service}\u0000${destination ?? ''}`;
}

/** Service and destination of a scope key. */
export function splitScope(scope: ScopeKey | undefined): [string, string | undefined] {
  const [service = '?', destination] = (scope ?? '?').split('\u0000');
  return [service, destination === '' ? undefined : destination];
}

/** The send span of a message: its creation context, whose span id is the message's identity. */
export interface SendFact {
  type: 'send';
  traceId: string;
  spanId: string;
  scope: ScopeKey;
  /** Epoch µs. */
  startUs: number;
  endUs: number;
  messageId?: string;
  returned?: boolean;
  /** Error type of a failed send (`error` when it has none). */
  error?: string;
  /** Judged: the span matches the audit's window and filters. */
  inScope?: boolean;
}

// Flags of a delivery.
export const IN_SCOPE = 1;
export const REDELIVERED = 2;
export const DUPLICATE = 4;
export const FAILED = 8;
export const REJECTED = 16;
export const DEAD_LETTER_ARRIVAL = 32;
/** A batch span (kafkajs `eachBatch`): the same message may also have its own per-message span. */
export const BATCH = 64;

/** One consume span's handling of one message. */
export interface DeliveryFact {
  type: 'delivery';
  /** The message: trace and span id of its send span (`~<consume span id>` when the span names none). */
  traceId: string;
  messageSpanId: string;
  /** The consume span. */
  spanId: string;
  scope: ScopeKey;
  startUs: number;
  endUs: number;
  flags: number;
  outcome?: string;
  errorType?: string;
}

/** What a span adds to its chain (its trace): a send's start, a consume's end, in scope or not. */
export interface ChainFact {
  type: 'chain';
  traceId: string;
  inScope?: boolean;
  /** Start of a send span, and where it sent. */
  sendUs?: number;
  origin?: ScopeKey;
  /** End of a consume span. */
  consumeEndUs?: number;
}

/** A consume of a message sent in the chain: its end, and how long after the send. */
export interface HopFact {
  type: 'hop';
  traceId: string;
  spanId: string;
  scope: ScopeKey;
  endUs: number;
  latencyUs: number;
}

export type Fact = SendFact | DeliveryFact | ChainFact | HopFact;

/** Longest message id kept; anything longer is cut, so one record's size stays bounded. */
export const MAX_KEPT_ID_LENGTH = 128;

/**
 * The facts of one span: a send gives a send fact; a consume one delivery fact per message it
 * names (a consume naming none only when it has something to report); each gives a chain fact.
 */
export function spanFacts(span: MessagingSpan, inScope: boolean): Fact[] {
  if (span.role === 'send') {
    const send: SendFact = {
      type: 'send',
      traceId: span.traceId,
      spanId: span.spanId,
      scope: scopeKey(span.service, span.destination),
      startUs: span.startUs,
      endUs: span.startUs + span.durationUs,
    };
    if (span.messageId !== undefined) send.messageId = span.messageId.slice(0, MAX_KEPT_ID_LENGTH);
    if (span.returned) send.returned = true;
    if (span.error !== undefined) send.error = span.error.type ?? 'error';
    if (inScope) send.inScope = true;
    const chain: ChainFact = { type: 'chain', traceId: span.traceId, sendUs: span.startUs, origin: send.scope };
    if (inScope) chain.inScope = true;
    return [send, chain];
  }
  if (span.role !== 'consume') return [];
  let flags = 0;
  if (inScope) flags |= IN_SCOPE;
  if (span.redelivered) flags |= REDELIVERED;
  if (span.duplicate) flags |= DUPLICATE;
  if (span.error !== undefined) flags |= FAILED;
  if (span.outcome !== undefined && DEAD_LETTER_OUTCOMES.includes(span.outcome)) flags |= REJECTED;
  if (span.deadLetter !== undefined) flags |= DEAD_LETTER_ARRIVAL;
  if (span.batchCount !== undefined) flags |= BATCH;
  const endUs = span.startUs + span.durationUs;
  const chain: ChainFact = { type: 'chain', traceId: span.traceId, consumeEndUs: endUs };
  if (inScope) chain.inScope = true;
  const facts: Fact[] = [chain];
  const refs =
    span.messages.length > 0
      ? span.messages
      : flags & ~IN_SCOPE
        ? [{ traceId: span.traceId, spanId: `~${span.spanId}` }]
        : [];
  const scope = scopeKey(span.service, span.destination);
  for (const ref of refs) {
    const delivery: DeliveryFact = {
      type: 'delivery',
      traceId: ref.traceId,
      messageSpanId: ref.spanId,
      spanId: span.spanId,
      scope,
      startUs: span.startUs,
      endUs,
      flags,
    };
    if (span.outcome !== undefined) delivery.outcome = span.outcome;
    if (span.error !== undefined) delivery.errorType = span.error.type ?? 'error';
    facts.push(delivery);
  }
  return facts;
}

/** The identity a fact is joined on: `<traceId>:<spanId>` of a message, `trace:<traceId>` of a chain. */
export function factKey(fact: Fact): string {
  switch (fact.type) {
    case 'send':
      return `${fact.traceId}:${fact.spanId}`;
    case 'delivery':
      return `${fact.traceId}:${fact.messageSpanId}`;
    default:
      return `trace:${fact.traceId}`;
  }
}
