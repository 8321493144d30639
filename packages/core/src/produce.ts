import { type Attributes, type Context, context, propagation, type Span, type Tracer, trace } from '@opentelemetry/api';
import { CHAIN_HEADER, type ChainFacts, encodeChainHeader, getChainFacts, nextChainFacts } from './chain-header';
import type { SpanTarget } from './destination';
import { copyHeaders, headerSetter, type MessageHeaders } from './header-carrier';
import { addLazyAttributes, underUnsampledParent } from './span-outcome';

export interface SendSpan {
  span: Span;
  /** The span's context: what goes on the wire as the message's creation context. */
  context: Context;
  /** Chain facts for this message, carried on from the message being processed, if any. */
  chain: ChainFacts;
}

/**
 * Starts the PRODUCER span of one message. Each message gets its own span, so its span id is
 * the message's identity in the trace (the "creation context" of the messaging conventions), and
 * its trace flags carry the sampling decision downstream: an unsampled send still propagates.
 *
 * `target` (a `SpanTargets` entry, one per destination) holds the name and the sampling-relevant
 * attributes, given at the start (see `underUnsampledParent`). `attributes(subject)` builds the
 * others, only for a span that records, after the start. Passing a function and its subject rather
 * than a closure keeps an unsampled send free of per-message allocations of its own.
 */
export function startSendSpan<S>(
  tracer: Tracer,
  target: SpanTarget,
  attributes: ((subject: S) => Attributes) | undefined,
  subject: S,
  parent: Context = context.active(),
  now: number = Date.now(),
): SendSpan {
  const unsampled = underUnsampledParent(parent);
  const span = tracer.startSpan(target.name, unsampled ? target.bare : target.withAttributes, parent);
  if (span.isRecording()) {
    // A span that fails to take its attributes (a throwing SDK) is ended, never left open.
    try {
      if (unsampled) span.setAttributes(target.attributes);
      addLazyAttributes(span, attributes, subject);
    } catch (error) {
      span.end();
      throw error;
    }
  }
  const chain = nextChainFacts(now, getChainFacts(parent));
  return { span, context: trace.setSpan(parent, span), chain };
}

/** How `injectHeaders` writes for one client and configuration; one object per configuration. */
export interface InjectOptions {
  /** Add the `mqtrail` chain header (option `chainHeader`). Default true. */
  chainHeader?: boolean;
  /** Copy only the caller's own header keys, as a client that writes `Object.keys` does (kafkajs). */
  ownKeysOnly?: boolean;
}

const DEFAULT_INJECT: InjectOptions = {};

/**
 * A copy of the user's headers with trace context (through the global propagator) and, unless
 * turned off, the `mqtrail` chain header added. Called last, after user hooks ran, so nothing can
 * alter what goes on the wire. The user's object is never touched.
 */
export function injectHeaders(
  sendContext: Context,
  chain: ChainFacts,
  headers: unknown,
  options: InjectOptions = DEFAULT_INJECT,
): MessageHeaders {
  const copy = copyHeaders(headers, options.ownKeysOnly === true);
  propagation.inject(sendContext, copy, headerSetter);
  if (options.chainHeader !== false) copy[CHAIN_HEADER] = encodeChainHeader(chain);
  return copy;
}
