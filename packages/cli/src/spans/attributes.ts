import { Attr, RenamedAttr } from '@mqtrail/core';

/**
 * The span attributes the CLI reads. Names mqtrail writes come from `@mqtrail/core`'s `Attr`, so
 * the writer and the reader cannot drift apart; the rest are how Jaeger shows span kind and status.
 * Attributes that semconv 1.45 renamed are in `ReadRenamed`, read under either name.
 */
export const Read = {
  ...Attr,
  /** Jaeger's rendering of the OpenTelemetry span kind. */
  SPAN_KIND: 'span.kind',
  /** Jaeger's rendering of the span status. */
  STATUS_CODE: 'otel.status_code',
  STATUS_DESCRIPTION: 'otel.status_description',
  /** Jaeger's own error flag, set with an ERROR status. */
  ERROR: 'error',
  /** Older name of `messaging.operation.type`, still written by some instrumentations. */
  LEGACY_OPERATION: 'messaging.operation',
  /** A message the broker returned to the publisher as unroutable (amqplib `mandatory`). */
  RETURNED: 'mqtrail.returned',
  /** AMQP reply code and text of a returned message, e.g. 312 NO_ROUTE. */
  RETURN_CODE: 'mqtrail.rabbitmq.return.code',
  RETURN_REASON: 'mqtrail.rabbitmq.return.reason',
  /** Attributes a consumer adds to a message that reached it through dead-lettering. */
  DEAD_LETTER_PREFIX: 'mqtrail.dead_letter.',
} as const;

/**
 * The attributes 1.45 renamed (`messaging.system` → `messaging.system.name`, `messaging.kafka.*` →
 * `kafka.*`, `messaging.rabbitmq.*` → `rabbitmq.*`). An application writes the old names, the new
 * ones or both, depending on its `OTEL_SEMCONV_STABILITY_OPT_IN`; spans of all three are read alike.
 */
export const ReadRenamed = RenamedAttr;

/** Both names of a renamed attribute, the 1.45 one first. */
export function namesOf(renamed: { old: string; new: string }): readonly [string, string] {
  return [renamed.new, renamed.old];
}

/** Event (Jaeger log) names that mark a returned message on its send span. */
export const RETURNED_EVENTS: readonly string[] = ['returned', 'message returned', 'basic.return'];

/** Outcomes that mean the message left its queue without being processed successfully. */
export const DEAD_LETTER_OUTCOMES: readonly string[] = ['drop', 'dead-letter'];

/** Outcomes that mean processing failed even when the span status says nothing. */
export const FAILED_OUTCOMES: readonly string[] = ['error', 'timeout'];
