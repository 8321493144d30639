import {
  type Attributes,
  type Context,
  INVALID_TRACEID,
  type Span,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { errorType } from './error-type';
import { Attr, type SettleOutcome } from './semconv';

/**
 * Marks a span failed the way the conventions ask: `error.type`, ERROR status, and the exception
 * recorded as an event. Returns the error type, for the metric recorded alongside; a span that does
 * not record is left alone, so an unsampled failure builds no status or exception event.
 */
export function recordSpanError(span: Span, error: unknown): string {
  const type = errorType(error);
  if (!span.isRecording()) return type;
  span.setAttribute(Attr.ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  if (error instanceof Error) span.recordException(error);
  else span.recordException({ name: type, message: String(error) });
  return type;
}

interface SettleEvent {
  name: string;
  attributes: Attributes;
}

/**
 * The settle event of each outcome, built on first use: name and attributes are the same for every
 * message, and the SDK copies the attributes, so one frozen object serves every span. A name built
 * per message was an allocation that then stayed alive with the span until its export.
 */
const SETTLE_EVENTS = new Map<SettleOutcome, SettleEvent>();

function settleEvent(outcome: SettleOutcome): SettleEvent {
  let event = SETTLE_EVENTS.get(outcome);
  if (event === undefined) {
    event = { name: `settle ${outcome}`, attributes: Object.freeze({ [Attr.SETTLE_OUTCOME]: outcome }) };
    SETTLE_EVENTS.set(outcome, event);
  }
  return event;
}

/** Records how a consumed message was settled, as an attribute and as an event with its time. */
export function recordSettlement(span: Span, outcome: SettleOutcome): void {
  if (!span.isRecording()) return;
  span.setAttribute(Attr.SETTLE_OUTCOME, outcome);
  const event = settleEvent(outcome);
  span.addEvent(event.name, event.attributes);
}

/**
 * What is built before a span starts depends on its parent, the one thing known before the
 * sampler has decided:
 * - under an unsampled parent (this function says true), `ParentBased` follows the parent and does
 *   not record, whatever the attributes say, so nothing is built before the start and the span
 *   costs the SDK the least it can. Should a sampler record it anyway (a custom
 *   `remoteParentNotSampled`, say), everything is added after the start; that sampler only sees the
 *   span's name and kind, which name the operation and the destination too. This is the unsampled
 *   fast path: with head sampling at a few percent nearly every span takes it;
 * - otherwise (a sampled parent, or none), the sampler gets the attributes the conventions call
 *   sampling-relevant (a `SpanTarget`'s, built once per destination) and the links; the rest is
 *   added after the start, only if the span records. After the start rather than in the start
 *   options even under a sampled parent, where it records for sure: the SDK validates start
 *   attributes twice (once for the sampler, once with the span limits), `setAttributes` once —
 *   with the eight further attributes of a delivery, 25% less per sampled span (bench/README.md,
 *   "Where the time goes").
 */
export function underUnsampledParent(parent: Context): boolean {
  const parentSpan = trace.getSpanContext(parent);
  // The SDK makes a root span under an invalid parent (suppressed tracing hands one out); checking
  // the trace id against the invalid one is enough here: extracted contexts are validated already.
  if (parentSpan === undefined || parentSpan.traceId === INVALID_TRACEID) return false;
  return (parentSpan.traceFlags & TraceFlags.SAMPLED) === 0;
}

/**
 * Adds attributes built on demand to a span that records; a span that does not is left alone, so
 * unsampled traces skip the work. Callers end the span if this throws (a hostile getter on a
 * user's message), so no span is left open.
 */
export function addLazyAttributes<S>(span: Span, build: ((subject: S) => Attributes) | undefined, subject: S): void {
  if (build !== undefined) span.setAttributes(build(subject));
}
