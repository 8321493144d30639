import type { ExtractedMessage } from '@mqtrail/core';
import type { Context, Link, Span } from '@opentelemetry/api';

/**
 * `opentracing.ref_type` from the semantic conventions' OpenTracing compatibility section.
 * Written out here because this package does not depend on the semconv package; it belongs in
 * core's `Attr` (see `relateToCreation`).
 */
export const OPENTRACING_REF_TYPE = 'opentracing.ref_type';
export const OPENTRACING_REF_TYPE_CHILD_OF = 'child_of';

/** How a `process` span relates to the message's creation context, as options for core. */
export interface CreationRelation {
  /** What to hand core's `startConsumeSpan` / `MessageProcess` as the message. */
  message: ExtractedMessage;
  /** The parent to hand core, when it is not the delivery context. */
  ambient?: Context;
  /** Duplicate identity core derives from the creation context, kept when core cannot see it. */
  identities: string[];
  /** Link to add once the span started. */
  link?: Link;
}

/**
 * A `process` span has the creation context as parent and also links to it. Jaeger's OTLP
 * translation (opentelemetry-collector-contrib `pkg/translator/jaeger`, makeJaegerProtoReferences)
 * merges a link to the parent span into the parent reference and gives it the link's type:
 * FOLLOWS_FROM, unless the link says `opentracing.ref_type=child_of`. Core's `startConsumeSpan`
 * adds that link without attributes, so Jaeger would show every consumer as FOLLOWS_FROM its
 * producer. Until core can mark the link itself, the creation context goes to core as the ambient
 * parent (core then adds no link) and the marked link is added here, right after the span starts.
 *
 * With `useLinksForConsume` the link is the only relation and stays FOLLOWS_FROM.
 */
export function relateToCreation(message: ExtractedMessage, useLinksForConsume: boolean): CreationRelation {
  const { creation } = message;
  if (useLinksForConsume || creation === undefined) return { message, identities: [] };
  return {
    message: { ...message, creation: undefined },
    ambient: message.context,
    identities: [`span:${creation.spanId}`],
    link: { context: creation, attributes: { [OPENTRACING_REF_TYPE]: OPENTRACING_REF_TYPE_CHILD_OF } },
  };
}

export function addCreationLink(span: Span, relation: CreationRelation): void {
  if (relation.link !== undefined) span.addLink(relation.link);
}
