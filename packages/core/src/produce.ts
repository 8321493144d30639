import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { CHAIN_HEADER, type ChainFacts, encodeChainHeader, getChainFacts, nextChainFacts } from './chain-header';
import { isTemporaryDestination, spanName } from './destination';
import { copyHeaders, headerSetter, type MessageHeaders } from './header-carrier';
import { Attr, type MessagingSystem } from './semconv';
import { SEMCONV_NAMES, type SemconvNames, setRenamed } from './semconv-stability';
import { addEagerAttributes, addLazyAttributes } from './span-outcome';

export interface SendSpanOptions {
  system: MessagingSystem;
  /** Topic or exchange the message is sent to. */
  destination: string;
  /** `messaging.operation.name`; also the first word of the span name. Default `send`. */
  operationName?: string;
  /**
   * Further span attributes, built only when the span records: given at start when the parent
   * is sampled, else added after the start if the sampler chose to record (so a root span's
   * sampler decides on system, operation and destination alone).
   */
  attributes?: () => Attributes;
  /** Context the send happens in. Default: the active context. */
  parent?: Context;
  /** Epoch ms of the send; replaceable in tests. */
  now?: number;
  /** Names of renamed attributes. Default: the process's, from `OTEL_SEMCONV_STABILITY_OPT_IN`. */
  semconv?: SemconvNames;
}

export interface SendSpan {
  span: Span;
  /** The span's context: what goes on the wire as the message's creation context. */
  context: Context;
  /** Chain facts for this message, carried on from the message being processed, if any. */
  chain: ChainFacts;
}

/**
 * Starts the PRODUCER span of one message. Each message gets its own span, so its span id is
 * the message's identity in the trace (the "creation context" of the messaging conventions).
 */
export function startSendSpan(tracer: Tracer, options: SendSpanOptions): SendSpan {
  const parent = options.parent ?? context.active();
  const operation = options.operationName ?? 'send';
  const attributes: Attributes = {
    [Attr.OPERATION_NAME]: operation,
    [Attr.OPERATION_TYPE]: 'send',
    [Attr.DESTINATION_NAME]: options.destination,
  };
  setRenamed(attributes, (options.semconv ?? SEMCONV_NAMES).SYSTEM, options.system);
  if (isTemporaryDestination(options.destination)) attributes[Attr.DESTINATION_TEMPORARY] = true;
  const eager = addEagerAttributes(parent, attributes, options.attributes);
  const span = tracer.startSpan(
    spanName(operation, options.destination),
    { kind: SpanKind.PRODUCER, attributes },
    parent,
  );
  if (!eager) addLazyAttributes(span, options.attributes);
  const chain = nextChainFacts(options.now ?? Date.now(), getChainFacts(parent));
  return { span, context: trace.setSpan(parent, span), chain };
}

/**
 * A copy of the user's headers with trace context (through the global propagator) and the
 * `mqtrail` chain header added. Called last, after user hooks ran, so nothing can alter what goes
 * on the wire. The user's object is never touched.
 */
export function injectHeaders(sendContext: Context, chain: ChainFacts, headers: unknown): MessageHeaders {
  const copy = copyHeaders(headers);
  propagation.inject(sendContext, copy, headerSetter);
  copy[CHAIN_HEADER] = encodeChainHeader(chain);
  return copy;
}
