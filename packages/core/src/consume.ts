import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { CHAIN_HEADER, type ChainFacts, decodeChainHeader } from './chain-header';
import type { SpanTarget } from './destination';
import { findHeader, headerGetter } from './header-carrier';
import { processContext } from './process-context';
import { Attr, CHILD_OF_LINK } from './semconv';
import { addLazyAttributes, underUnsampledParent } from './span-outcome';

export interface ExtractedMessage {
  /** Context extracted from the headers (trace context and baggage), ROOT_CONTEXT-based. */
  context: Context;
  /** The producer's creation context, when the headers carried a valid one. */
  creation: SpanContext | undefined;
  /** Chain facts from the `mqtrail` header, when present and well-formed. */
  chain: ChainFacts | undefined;
}

/** Reads what a producer put in a message's headers. Never throws; garbage gives nothing. */
export function extractMessage(headers: unknown): ExtractedMessage {
  let extracted = ROOT_CONTEXT;
  try {
    extracted = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  } catch {
    // A propagator that throws on foreign input must not stop the message.
  }
  const spanContext = trace.getSpanContext(extracted);
  const creation = spanContext !== undefined && isSpanContextValid(spanContext) ? spanContext : undefined;
  return { context: extracted, creation, chain: decodeChainHeader(findHeader(headers, CHAIN_HEADER)) };
}

/**
 * The message's identity in the trace (design: the creation span id), for duplicate detection:
 * a replay, a redelivery or a producer's retry of the same record carries the same one. The span
 * id itself, 16 lower-case hex digits (a valid span context has no other form), with no prefix:
 * an identity the message already has costs the check no string of its own. Other identities an
 * instrumentation checks in the same scope must not take that form (a Kafka offset identity has a
 * `/`) or go in a scope of their own (an application message id).
 */
export function creationIdentity(message: ExtractedMessage): string | undefined {
  return message.creation?.spanId;
}

export interface ConsumeSpanOptions<S = unknown> {
  /**
   * Name, kind and sampling-relevant attributes of the span (`process` or `receive` on the queue or
   * topic the message was consumed from), built once per subscription or destination.
   */
  target: SpanTarget;
  message: ExtractedMessage;
  /** Make the creation context a link only and keep the ambient context as parent. */
  useLinksForConsume: boolean;
  /**
   * Further span attributes of this message, built from `subject` only when the span records (see
   * `startSendSpan`). A function kept per subscription and a subject, rather than a closure per
   * message: an unsampled message allocates nothing for attributes it will never have.
   */
  attributes?: (subject: S) => Attributes;
  subject?: S;
  /** The context the client delivered the message in. Default: the active context. */
  ambient?: Context;
  /** When the message has no chain header: its broker timestamp (epoch ms), if known. */
  fallbackSentAt?: number;
  now?: number;
}

export interface ConsumeSpan {
  span: Span;
  /** Context to run the user's handler in: the span, baggage, and the chain facts for re-sends. */
  context: Context;
  /** Chain facts of the consumed message (from its header, else from its broker timestamp). */
  chain: ChainFacts;
  /** Whether the chain facts came from an mqtrail header rather than a fallback. */
  chainFromHeader: boolean;
  /** Whether the send time is known (from the chain header or the broker timestamp), not assumed. */
  sentAtKnown: boolean;
}

/**
 * Starts the span for one consumed message: CONSUMER `process` (or CLIENT `receive`), whose parent
 * is the message's creation context and which also links to it, per the messaging conventions'
 * "consumer spans" section. With `useLinksForConsume` the link is the only relation.
 */
export function startConsumeSpan<S>(tracer: Tracer, options: ConsumeSpanOptions<S>): ConsumeSpan {
  const now = options.now ?? Date.now();
  const chain = consumedChain(options.message, options.fallbackSentAt, now);
  const parent = consumeParent(options, options.ambient ?? context.active());
  const span = startConsumeSpanIn(tracer, options, parent, chain.hops);
  return {
    span,
    context: processContext(parent, span, chain),
    chain,
    chainFromHeader: options.message.chain !== undefined,
    sentAtKnown: options.message.chain !== undefined || options.fallbackSentAt !== undefined,
  };
}

/**
 * Chain facts of a consumed message: from its `mqtrail` header, else it starts a chain at hop 1,
 * sent at its broker timestamp if known (else now).
 */
export function consumedChain(message: ExtractedMessage, fallbackSentAt: number | undefined, now: number): ChainFacts {
  if (message.chain !== undefined) return message.chain;
  const sentAt = fallbackSentAt ?? now;
  return { sentAt, originAt: sentAt, hops: 1 };
}

/** The parent of a consumed message's span: its creation context, or the ambient one (see options). */
export function consumeParent(
  options: Pick<ConsumeSpanOptions<never>, 'useLinksForConsume' | 'message'>,
  ambient: Context,
): Context {
  return options.useLinksForConsume || options.message.creation === undefined ? ambient : options.message.context;
}

/**
 * Starts the span of one consumed message under `parent` (from `consumeParent`). What is built
 * before the start follows `underUnsampledParent`: the target's attributes and the link to the
 * creation context, for the sampler; under an unsampled parent nothing, and those are added after
 * the start only if the span records after all. The message's further attributes come after the
 * start.
 */
export function startConsumeSpanIn<S>(
  tracer: Tracer,
  options: ConsumeSpanOptions<S>,
  parent: Context,
  hops: number,
): Span {
  const { target } = options;
  const { creation } = options.message;
  // A link that repeats the parent is folded into the parent reference by Jaeger's OTLP
  // translation (makeJaegerProtoReferences), taking the link's `opentracing.ref_type`:
  // FOLLOWS_FROM unless marked. Marking it child_of keeps the CHILD_OF edge in Jaeger.
  const repeatsParent = parent === options.message.context;
  const unsampled = underUnsampledParent(parent);
  let start: SpanOptions = target.bare;
  if (!unsampled) {
    start =
      creation === undefined
        ? target.withAttributes
        : { kind: target.kind, attributes: target.attributes, links: [creationLink(creation, repeatsParent)] };
  }
  const span = tracer.startSpan(target.name, start, parent);
  if (!span.isRecording()) return span;
  // A span that fails to take its attributes (a throwing SDK) is ended, never left open.
  try {
    if (unsampled) {
      span.setAttributes(target.attributes);
      // `addLink` is API 1.9's; a span from an older SDK without it goes without the link.
      if (creation !== undefined && typeof span.addLink === 'function') {
        span.addLink(creationLink(creation, repeatsParent));
      }
    }
    span.setAttribute(Attr.CHAIN_HOPS, hops);
    addLazyAttributes(span, options.attributes, options.subject as S);
  } catch (error) {
    span.end();
    throw error;
  }
  return span;
}

function creationLink(creation: SpanContext, repeatsParent: boolean): Link {
  return repeatsParent ? { context: creation, attributes: CHILD_OF_LINK } : { context: creation };
}
