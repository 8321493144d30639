import type { JaegerTrace } from '../jaeger/types';
import { DEAD_LETTER_OUTCOMES, FAILED_OUTCOMES } from '../spans/attributes';
import { type MessagingSpan, readTrace } from '../spans/messaging-span';
import type { Chain, ChainHop, ChainMessage } from './model';

/** Deepest parent walk from a send span up to the hop it was sent from; guards against cycles in bad data. */
const MAX_ANCESTRY = 1_000;

/**
 * Builds the consumption chain of one trace, or of several that belong together (a consumer with
 * `useLinksForConsume` starts its own trace and only links to the message's send span).
 *
 * Tolerates what real traces contain: spans not yet arrived or dropped (a consume span whose send
 * span is missing gets a placeholder message; a send span whose parent is missing starts a root),
 * batch spans linking many messages, parents Jaeger merged into links, and duplicate spans.
 */
export function buildChain(traces: JaegerTrace | readonly JaegerTrace[]): Chain {
  const list: readonly JaegerTrace[] = Array.isArray(traces) ? traces : [traces as JaegerTrace];
  const spans = new Map<string, MessagingSpan>();
  const traceIds: string[] = [];
  for (const trace of list) {
    if (!traceIds.includes(trace.traceID)) traceIds.push(trace.traceID);
    for (const span of readTrace(trace)) if (!spans.has(span.spanId)) spans.set(span.spanId, span);
  }

  const messages = new Map<string, ChainMessage>();
  for (const span of spans.values()) if (span.role === 'send') messages.set(span.spanId, messageOf(span));

  const hops = new Map<string, ChainHop>();
  for (const span of spans.values()) {
    if (span.role !== 'consume') continue;
    const hop = hopOf(span);
    for (const ref of span.messages) {
      const referenced = spans.get(ref.spanId);
      // A parent that is there but sends nothing (an HTTP span, say) is context, not a message.
      if (referenced !== undefined && referenced.role !== 'send') continue;
      let message = messages.get(ref.spanId);
      if (message === undefined) {
        message = { sendSpanId: ref.spanId, traceId: ref.traceId, found: false, returned: false, deliveries: [] };
        messages.set(ref.spanId, message);
      }
      if (!hop.messages.includes(message.sendSpanId)) hop.messages.push(message.sendSpanId);
      message.deliveries.push(hop.spanId);
    }
    hop.batchSize = Math.max(hop.batchSize, hop.messages.length, 1);
    hops.set(hop.spanId, hop);
  }

  for (const message of messages.values()) {
    if (!message.found) continue;
    const sender = senderOf(spans, message.sendSpanId);
    const hop = sender === undefined ? undefined : hops.get(sender);
    if (hop !== undefined) {
      message.sentBy = hop.spanId;
      hop.sent.push(message.sendSpanId);
    }
  }

  for (const hop of hops.values()) {
    let waiting: number | undefined;
    for (const id of hop.messages) {
      const sentAt = messages.get(id)?.sentAtUs;
      if (sentAt !== undefined) waiting = Math.max(waiting ?? Number.NEGATIVE_INFINITY, hop.startUs - sentAt);
    }
    if (waiting !== undefined) {
      hop.waitingUs = waiting;
      hop.latencyUs = waiting + hop.processingUs;
    }
  }

  const hopList = [...hops.values()].sort(byStart);
  const hopStart = (id: string) => hops.get(id)?.startUs ?? 0;
  for (const message of messages.values()) message.deliveries.sort((a, b) => hopStart(a) - hopStart(b));
  for (const hop of hopList) hop.sent.sort((a, b) => sentAtOf(messages.get(a)) - sentAtOf(messages.get(b)));
  const messageList = [...messages.values()].sort(
    (a, b) => firstSeen(a, hops) - firstSeen(b, hops) || a.sendSpanId.localeCompare(b.sendSpanId),
  );

  const chain: Chain = {
    traceIds,
    messages: messageList,
    hops: hopList,
    rootMessages: messageList.filter((message) => message.sentBy === undefined).map((message) => message.sendSpanId),
    rootHops: hopList.filter((hop) => hop.messages.length === 0).map((hop) => hop.spanId),
    services: [
      ...new Set([
        ...messageList.flatMap((m) => (m.service === undefined ? [] : [m.service])),
        ...hopList.map((h) => h.service),
      ]),
    ].sort(),
    failures:
      hopList.filter((hop) => hop.failed).length +
      messageList.filter((message) => message.error !== undefined && !message.returned).length,
    ...timeRange(spans.values()),
  };
  const slowest = slowestHop(hopList);
  if (slowest !== undefined) chain.slowestHop = slowest.spanId;
  return chain;
}

function messageOf(span: MessagingSpan): ChainMessage {
  const message: ChainMessage = {
    sendSpanId: span.spanId,
    traceId: span.traceId,
    found: true,
    service: span.service,
    operation: span.operation,
    sentAtUs: span.startUs,
    returned: span.returned,
    deliveries: [],
  };
  copyDefined(message, span, [
    'system',
    'destination',
    'messageId',
    'conversationId',
    'routingKey',
    'partition',
    'key',
    'error',
    'returnReason',
  ]);
  return message;
}

function hopOf(span: MessagingSpan): ChainHop {
  const hop: ChainHop = {
    spanId: span.spanId,
    traceId: span.traceId,
    service: span.service,
    operation: span.operation,
    kind: span.consumeKind ?? 'process',
    startUs: span.startUs,
    processingUs: span.durationUs,
    redelivered: span.redelivered,
    duplicate: span.duplicate,
    batchSize: span.batchCount ?? 1,
    messages: [],
    sent: [],
    failed:
      span.error !== undefined ||
      (span.outcome !== undefined &&
        (DEAD_LETTER_OUTCOMES.includes(span.outcome) || FAILED_OUTCOMES.includes(span.outcome))),
  };
  copyDefined(hop, span, [
    'system',
    'destination',
    'consumerGroup',
    'partition',
    'offset',
    'outcome',
    'error',
    'deadLetter',
  ]);
  if (span.hops !== undefined) hop.chainHops = span.hops;
  return hop;
}

function copyDefined<T extends object>(
  target: T,
  source: MessagingSpan,
  keys: (keyof MessagingSpan & keyof T)[],
): void {
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  }
}

/** The consume span a send span ran inside: its nearest consuming ancestor. */
function senderOf(spans: Map<string, MessagingSpan>, sendSpanId: string): string | undefined {
  const seen = new Set<string>([sendSpanId]);
  let current = spans.get(sendSpanId)?.parent?.spanId;
  for (let depth = 0; current !== undefined && depth < MAX_ANCESTRY; depth++) {
    if (seen.has(current)) return undefined;
    seen.add(current);
    const span = spans.get(current);
    if (span === undefined) return undefined;
    if (span.role === 'consume') return span.spanId;
    current = span.parent?.spanId;
  }
  return undefined;
}

/** From the first span start to the last span end, over every span read (not only messaging ones). */
function timeRange(spans: Iterable<MessagingSpan>): { startUs: number; endUs: number } {
  let startUs = Number.POSITIVE_INFINITY;
  let endUs = Number.NEGATIVE_INFINITY;
  for (const span of spans) {
    startUs = Math.min(startUs, span.startUs);
    endUs = Math.max(endUs, span.startUs + span.durationUs);
  }
  return Number.isFinite(startUs) ? { startUs, endUs } : { startUs: 0, endUs: 0 };
}

function byStart(a: ChainHop, b: ChainHop): number {
  return a.startUs - b.startUs || a.spanId.localeCompare(b.spanId);
}

function sentAtOf(message: ChainMessage | undefined): number {
  return message?.sentAtUs ?? Number.POSITIVE_INFINITY;
}

/** When a message shows in the chain: its send, or for a placeholder its first delivery. */
function firstSeen(message: ChainMessage, hops: Map<string, ChainHop>): number {
  if (message.sentAtUs !== undefined) return message.sentAtUs;
  const first = message.deliveries[0];
  return (first === undefined ? undefined : hops.get(first)?.startUs) ?? Number.POSITIVE_INFINITY;
}

function slowestHop(hops: ChainHop[]): ChainHop | undefined {
  if (hops.length < 2) return undefined;
  let slowest: ChainHop | undefined;
  for (const hop of hops) {
    if (slowest === undefined || (hop.latencyUs ?? hop.processingUs) > (slowest.latencyUs ?? slowest.processingUs)) {
      slowest = hop;
    }
  }
  return slowest;
}
