/**
 * `eachBatch`: one CONSUMER `process <topic>` span per batch, linked to every message's creation
 * context, with the handler running inside it. Every per-message metric (consumed, delivery and
 * chain latency, duplicates, commit accounting) is recorded here, once per message, whether or
 * not the application also asks for per-message spans with `traceBatchMessage`.
 */

import {
  type AnyFunction,
  Attr,
  type ExtractedMessage,
  extractMessage,
  recordSpanError,
  runHook,
  safely,
  spanName,
  startConsumeSpan,
  underUnsampledParent,
} from '@mqtrail/core';
import { type Attributes, type Context, context, type Link, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { Batch, KafkaMessage } from 'kafkajs';
import {
  batchAttributes,
  type ConsumerScope,
  messageIdentity,
  offsetNumber,
  processAttributes,
  processLabels,
  processTargets,
  timestampMs,
} from './attributes';
import { type Fields, isObject } from './fields';
import { failure, runTraced } from './run-traced';
import type { WrapContext } from './wrap-context';

/** What `traceBatchMessage` needs to know about a batch the instrumentation traced. */
interface TracedBatch {
  ctx: WrapContext;
  scope: ConsumerScope;
  topic: string;
  partition: number;
  span: Span;
  /** Context the batch handler runs in. */
  context: Context;
  /** What each message's headers said, extracted once for the batch and again for none of its messages. */
  extracted: Map<object, ExtractedMessage>;
  /** The messages this consumer scope had seen before. */
  duplicates: Set<object>;
  /** Builds a message's `process` span attributes, only when that span records. */
  attributes: (message: Fields) => Attributes;
}

// Keyed by kafkajs's batch object, so the entry goes away with the batch.
const tracedBatches = new WeakMap<object, TracedBatch>();

/**
 * Starts the batch span and records every per-message metric, or returns undefined when the
 * payload is not shaped as kafkajs delivers it or the topic is ignored.
 */
export function beginBatch(
  ctx: WrapContext,
  scope: ConsumerScope,
  batch: unknown,
): { traced: TracedBatch; end: (error: unknown) => void } | undefined {
  if (!isObject(batch) || typeof batch.topic !== 'string' || !Number.isInteger(batch.partition)) return undefined;
  if (!Array.isArray(batch.messages)) return undefined;
  const topic = batch.topic;
  if (ctx.config().isIgnored(topic)) return undefined;
  const partition = Number(batch.partition);
  const labels = processLabels(scope, topic, partition);
  const now = Date.now();
  const ambient = context.active();
  // Links to every message's creation context go to the sampler of a root batch span, and into a
  // batch span under a sampled parent; under an unsampled one none is built (see core's
  // `underUnsampledParent`) unless the span records after all.
  const unsampled = underUnsampledParent(ambient);
  const links: Link[] = [];
  const extractedMessages = new Map<object, ExtractedMessage>();
  const duplicates = new Set<object>();
  const origins: number[] = [];
  const firstSeen: string[] = [];
  const messages: unknown[] = batch.messages;

  for (const message of messages) {
    if (!isObject(message)) continue;
    const extracted = extractMessage(message.headers);
    if (extracted.creation !== undefined && !unsampled) links.push({ context: extracted.creation });
    const sentAt = extracted.chain?.sentAt ?? timestampMs(message.timestamp) ?? now;
    ctx.metrics.recordDeliveryLatency(labels, sentAt, now);
    origins.push(extracted.chain?.originAt ?? sentAt);
    const identity = messageIdentity(extracted, topic, partition, message.offset);
    const duplicate = ctx.duplicates.check(scope.groupId, identity);
    if (!duplicate) firstSeen.push(identity);
    if (duplicate) {
      ctx.metrics.recordDuplicate(labels);
      duplicates.add(message);
    }
    extractedMessages.set(message, extracted);
    const offset = offsetNumber(message.offset);
    if (offset !== undefined) ctx.commits.delivered(scope.groupId, topic, partition, offset);
  }
  ctx.metrics.recordConsumed(labels, messages.length);

  const span = ctx.tracer.startSpan(
    spanName('process', topic),
    { kind: SpanKind.CONSUMER, attributes: batchAttributes(scope, topic, partition, messages.length), links },
    ambient,
  );
  if (unsampled && span.isRecording() && typeof span.addLinks === 'function') {
    const late: Link[] = [];
    for (const extracted of extractedMessages.values()) {
      if (extracted.creation !== undefined) late.push({ context: extracted.creation });
    }
    try {
      span.addLinks(late);
    } catch (error) {
      // The handler will run untraced: the span must not stay open.
      span.end();
      throw error;
    }
  }
  const endTiming = ctx.metrics.startProcess(labels);
  const traced: TracedBatch = {
    ctx,
    scope,
    topic,
    partition,
    span,
    context: trace.setSpan(ambient, span),
    extracted: extractedMessages,
    duplicates,
    attributes: (message) => processAttributes(scope, partition, message, ctx.config()),
  };
  tracedBatches.set(batch, traced);
  const end = (error: unknown) => {
    // kafkajs delivers a failed batch again: that is a retry of unfinished work, not a duplicate.
    if (error !== undefined) for (const identity of firstSeen) ctx.duplicates.forget(scope.groupId, identity);
    try {
      const type = error === undefined ? undefined : recordSpanError(span, error);
      endTiming(type);
      for (const origin of origins) ctx.metrics.recordChainLatency(labels, origin);
    } finally {
      span.end();
    }
  };
  return { traced, end };
}

/** The user's `eachBatch`, run inside the batch's `process` span, which ends when it settles. */
export function traceEachBatch(ctx: WrapContext, scope: ConsumerScope, handler: AnyFunction): AnyFunction {
  return function eachBatch(this: unknown, payload: unknown, ...rest: unknown[]) {
    const started = safely(
      'starting a kafkajs batch span',
      () => (isObject(payload) ? beginBatch(ctx, scope, payload.batch) : undefined),
      undefined,
    );
    if (started === undefined) return handler.call(this, payload, ...rest);
    return runTraced(
      started.traced.context,
      () => handler.call(this, payload, ...rest),
      (outcome) => started.end(failure(outcome)),
    );
  };
}

function startBatchMessage(batch: unknown, message: unknown): { span: Span; context: Context } | undefined {
  if (!isObject(batch) || !isObject(message)) return undefined;
  const traced = tracedBatches.get(batch);
  if (traced === undefined) return undefined;
  const { ctx, topic, partition } = traced;
  const config = ctx.config();
  const { span, context: handlerContext } = startConsumeSpan(ctx.tracer, {
    target: processTargets.get(topic),
    message: traced.extracted.get(message) ?? extractMessage(message.headers),
    useLinksForConsume: config.useLinksForConsume,
    attributes: traced.attributes,
    subject: message,
    fallbackSentAt: timestampMs(message.timestamp),
  });
  if (span.isRecording()) {
    try {
      if (traced.duplicates.has(message)) span.setAttribute(Attr.DUPLICATE, true);
    } catch (error) {
      // The handler will run untraced: the span must not stay open.
      span.end();
      throw error;
    }
    runHook('consumerHook', config.consumerHook, span, {
      topic,
      partition,
      message: message as unknown as KafkaMessage,
    });
  }
  return { span, context: handlerContext };
}

/**
 * Runs `handler` for one message of an `eachBatch` batch inside its own CONSUMER
 * `process <topic>` span: parented to the message's creation context (or, with
 * `useLinksForConsume`, to the active context, normally the batch span) and linked to it. What the
 * handler sends continues the message's trace and consumption chain. The span ends when the
 * handler returns or its promise settles; its result or error is returned or thrown unchanged.
 *
 * Metrics are not recorded again here: the batch already counted the message. For a batch the
 * instrumentation did not trace (instrumentation disabled, ignored topic) the handler simply runs.
 *
 * ```js
 * eachBatch: async ({ batch }) => {
 *   for (const message of batch.messages) {
 *     await traceBatchMessage(batch, message, () => handle(message));
 *   }
 * }
 * ```
 */
export function traceBatchMessage<T>(batch: Batch, message: KafkaMessage, handler: () => T): T {
  const started = safely('starting a kafkajs batch message span', () => startBatchMessage(batch, message), undefined);
  if (started === undefined) return handler();
  const { span } = started;
  return runTraced(started.context, handler, (outcome) => {
    const error = failure(outcome);
    try {
      if (error !== undefined) recordSpanError(span, error);
    } finally {
      span.end();
    }
  });
}
