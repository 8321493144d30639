import { type Attributes, type Context, type Span, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { errorType } from './error-type';
import { Attr, type SettleOutcome } from './semconv';

/**
 * Marks a span failed the way the conventions ask: `error.type`, ERROR status, and the exception
 * recorded as an event. Returns the error type, for the metric recorded alongside.
 */
export function recordSpanError(span: Span, error: unknown): string {
  const type = errorType(error);
  span.setAttribute(Attr.ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  if (error instanceof Error) span.recordException(error);
  else span.recordException({ name: type, message: String(error) });
  return type;
}

/** Records how a consumed message was settled, as an attribute and as an event with its time. */
export function recordSettlement(span: Span, outcome: SettleOutcome): void {
  span.setAttribute(Attr.SETTLE_OUTCOME, outcome);
  span.addEvent(`settle ${outcome}`, { [Attr.SETTLE_OUTCOME]: outcome });
}

/**
 * Adds attributes built on demand, only when the span records: unsampled traces skip the work.
 * If building them throws (a hostile getter on a user's message), the span is ended before the
 * error goes on, so no span is left open.
 */
export function addLazyAttributes(span: Span, build: (() => Attributes) | undefined): void {
  if (build === undefined || !span.isRecording()) return;
  try {
    span.setAttributes(build());
  } catch (error) {
    span.end();
    throw error;
  }
}

/**
 * Builds the on-demand attributes into a span's start attributes when its parent is sampled: the
 * default ParentBased sampler then records the span for sure, and attributes given at start are
 * validated once by the SDK instead of a second time by `setAttributes`. Returns false when it
 * left them out; `addLazyAttributes` after the start adds them if the span records after all.
 */
export function addEagerAttributes(
  parent: Context,
  attributes: Attributes,
  build: (() => Attributes) | undefined,
): boolean {
  if (build === undefined) return true;
  const parentSpan = trace.getSpanContext(parent);
  if (parentSpan === undefined || (parentSpan.traceFlags & TraceFlags.SAMPLED) === 0) return false;
  Object.assign(attributes, build());
  return true;
}
