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
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { CHAIN_HEADER, type ChainFacts, decodeChainHeader, setChainFacts } from './chain-header';
import { isTemporaryDestination, spanName } from './destination';
import { findHeader, headerGetter } from './header-carrier';
import { Attr, CHILD_OF_LINK, type MessagingSystem, type OperationType } from './semconv';
import { SEMCONV_NAMES, type SemconvNames, setRenamed } from './semconv-stability';
import { addEagerAttributes, addLazyAttributes } from './span-outcome';

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
 * a replay, a redelivery or a producer's retry of the same record carries the same one.
 */
export function creationIdentity(message: ExtractedMessage): string | undefined {
  return message.creation === undefined ? undefined : `span:${message.creation.spanId}`;
}

export interface ConsumeSpanOptions {
  system: MessagingSystem;
  /** Queue or topic the message was consumed from. */
  destination: string;
  /** `process` for push delivery (the default), `receive` for a pull such as amqplib's `get`. */
  operationType?: Extract<OperationType, 'process' | 'receive'>;
  message: ExtractedMessage;
  /** Make the creation context a link only and keep the ambient context as parent. */
  useLinksForConsume: boolean;
  /** Further span attributes, built only when the span records (see `SendSpanOptions`). */
  attributes?: () => Attributes;
  /** The context the client delivered the message in. Default: the active context. */
  ambient?: Context;
  /** When the message has no chain header: its broker timestamp (epoch ms), if known. */
  fallbackSentAt?: number;
  now?: number;
  /** Names of renamed attributes. Default: the process's, from `OTEL_SEMCONV_STABILITY_OPT_IN`. */
  semconv?: SemconvNames;
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
export function startConsumeSpan(tracer: Tracer, options: ConsumeSpanOptions): ConsumeSpan {
  const ambient = options.ambient ?? context.active();
  const { creation } = options.message;
  const parent = options.useLinksForConsume || creation === undefined ? ambient : options.message.context;
  const operation = options.operationType ?? 'process';
  const links: Link[] = [];
  if (creation !== undefined) {
    // A link that repeats the parent is folded into the parent reference by Jaeger's OTLP
    // translation (makeJaegerProtoReferences), taking the link's `opentracing.ref_type`:
    // FOLLOWS_FROM unless marked. Marking it child_of keeps the CHILD_OF edge in Jaeger.
    const repeatsParent = parent === options.message.context;
    links.push(repeatsParent ? { context: creation, attributes: CHILD_OF_LINK } : { context: creation });
  }
  const attributes: Attributes = {
    [Attr.OPERATION_NAME]: operation,
    [Attr.OPERATION_TYPE]: operation,
    [Attr.DESTINATION_NAME]: options.destination,
  };
  setRenamed(attributes, (options.semconv ?? SEMCONV_NAMES).SYSTEM, options.system);
  if (isTemporaryDestination(options.destination)) attributes[Attr.DESTINATION_TEMPORARY] = true;

  const now = options.now ?? Date.now();
  const fromHeader = options.message.chain;
  const sentAt = options.fallbackSentAt ?? now;
  // A message from a producer without mqtrail still starts a chain: it is hop 1.
  const chain = fromHeader ?? { sentAt, originAt: sentAt, hops: 1 };
  attributes[Attr.CHAIN_HOPS] = chain.hops;

  const eager = addEagerAttributes(parent, attributes, options.attributes);
  const kind = operation === 'receive' ? SpanKind.CLIENT : SpanKind.CONSUMER;
  const span = tracer.startSpan(spanName(operation, options.destination), { kind, attributes, links }, parent);
  if (!eager) addLazyAttributes(span, options.attributes);
  const handlerContext = setChainFacts(trace.setSpan(parent, span), chain);
  return {
    span,
    context: handlerContext,
    chain,
    chainFromHeader: fromHeader !== undefined,
    sentAtKnown: fromHeader !== undefined || options.fallbackSentAt !== undefined,
  };
}
