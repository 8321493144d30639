/**
 * `producer.send` and `producer.sendBatch`: one PRODUCER span per message, its context injected
 * into a copy of the message's headers, ended when the broker acknowledges the send.
 */

import {
  type AnyFunction,
  Attr,
  errorType,
  injectHeaders,
  type MetricLabels,
  recordSpanError,
  reportFailure,
  runHook,
  safely,
  startSendSpan,
} from '@mqtrail/core';
import { context, type Span } from '@opentelemetry/api';
import type { Message } from 'kafkajs';
import { type ClientInfo, partitionsByTopic, SYSTEM, sendAttributes, sendTargets } from './attributes';
import { type Fields, isObject } from './fields';
import { type CallOutcome, failure, runTraced } from './run-traced';
import type { WrapContext } from './wrap-context';

/** A message kafkajs will accept: an object with a `value` (null for a tombstone). */
type SendableMessage = Message & Fields;

/** One topic's messages in a send call, as kafkajs takes them. */
export interface TopicMessages {
  topic: string;
  messages: readonly SendableMessage[];
}

/**
 * The spans of one send call, the topic and partition of each, and the timer of the call itself.
 * Parallel arrays rather than an object per message: what each message needs after the ack (its
 * span ended, its count under its partition) is kept without allocating for it.
 */
export interface TracedSend {
  spans: Span[];
  topics: string[];
  /** Set when the caller chose the partition; otherwise learned from the broker's answer. */
  partitions: (number | undefined)[];
  endTiming: (errorType?: string) => void;
}

function isSendable(message: unknown): message is SendableMessage {
  return isObject(message) && message.value !== undefined;
}

/**
 * The messages of one topic when kafkajs will accept them. Anything it rejects before sending
 * (no topic, messages not an array, a message without `value`) gives undefined: that call goes to
 * kafkajs untouched, so its own error, naming the caller's own objects, reaches the caller.
 */
export function topicMessages(topic: unknown, messages: unknown): TopicMessages | undefined {
  if (typeof topic !== 'string' || topic === '' || !Array.isArray(messages)) return undefined;
  const checked: unknown[] = messages;
  return checked.every(isSendable) ? { topic, messages: checked } : undefined;
}

/** All topics of a `sendBatch` argument, or undefined when any of them is not shaped as expected. */
export function batchTopicMessages(topicMessagesList: unknown): TopicMessages[] | undefined {
  if (!Array.isArray(topicMessagesList)) return undefined;
  const batches: TopicMessages[] = [];
  for (const entry of topicMessagesList) {
    const batch = isObject(entry) ? topicMessages(entry.topic, entry.messages) : undefined;
    if (batch === undefined) return undefined;
    batches.push(batch);
  }
  return batches;
}

/**
 * Starts a span per message of every topic not ignored and returns copies of the messages with
 * the spans' contexts in their headers (undefined for an ignored topic: its messages go as they
 * are). Order per message: span, user hook, injection last, so no hook alters what is sent.
 */
export function startSend(
  ctx: WrapContext,
  client: ClientInfo,
  batches: readonly TopicMessages[],
): { outgoing: (Fields[] | undefined)[]; traced: TracedSend } | undefined {
  const config = ctx.config();
  if (batches.every((batch) => config.isIgnored(batch.topic))) return undefined;
  const traced: TracedSend = { spans: [], topics: [], partitions: [], endTiming: noTiming };
  // One function per call, not a closure per message; it runs only for a span that records.
  const attributes = (message: SendableMessage) => sendAttributes(client, message, config);
  const parent = context.active();
  const now = Date.now();
  const traceMessage = (topic: string, message: SendableMessage): Fields => {
    const {
      span,
      context: sendContext,
      chain,
    } = startSendSpan(ctx.tracer, sendTargets.get(topic), attributes, message, parent, now);
    traced.spans.push(span);
    traced.topics.push(topic);
    traced.partitions.push(Number.isInteger(message.partition) ? Number(message.partition) : undefined);
    if (config.producerHook !== undefined && span.isRecording()) {
      runHook('producerHook', config.producerHook, span, { topic, message });
    }
    return { ...message, headers: injectHeaders(sendContext, chain, message.headers, config.inject) };
  };
  let outgoing: (Fields[] | undefined)[];
  try {
    outgoing = batches.map(({ topic, messages }) =>
      config.isIgnored(topic) ? undefined : messages.map((message) => traceMessage(topic, message)),
    );
  } catch (error) {
    // The call goes out untraced: spans already started must not stay open.
    for (const span of traced.spans) span.end();
    throw error;
  }
  const topics = new Set(batches.map((batch) => batch.topic));
  const labels: MetricLabels = { system: SYSTEM, operation: 'send' };
  // One call may span topics; only a single-topic call has a destination to label its duration with.
  if (topics.size === 1) labels.destination = batches[0]?.topic;
  traced.endTiming = ctx.metrics.startOperation(labels);
  return { outgoing, traced };
}

const noTiming = () => {};

/**
 * Ends every span of a send call once the broker answered: partition from the produce response
 * when it is unambiguous, or the error on each span. Counts sent messages per topic and partition.
 */
export function finishSend(ctx: WrapContext, traced: TracedSend, outcome: CallOutcome): void {
  const error = failure(outcome);
  const partitions = outcome.failed ? new Map<string, number | null>() : partitionsByTopic(outcome.value);
  const type = outcome.failed ? errorType(error) : undefined;
  // Per topic, then per partition: counted without building a key string per message.
  const counts = new Map<string, Map<number | undefined, { labels: MetricLabels; count: number }>>();
  const { spans, topics } = traced;
  for (let index = 0; index < spans.length; index++) {
    const span = spans[index] as Span;
    const topic = topics[index] as string;
    const chosen = traced.partitions[index];
    const partition = chosen ?? partitions.get(topic) ?? undefined;
    try {
      if (span.isRecording()) {
        if (chosen === undefined && partition !== undefined)
          span.setAttribute(Attr.DESTINATION_PARTITION_ID, String(partition));
        if (outcome.failed) recordSpanError(span, error);
      }
    } catch (failure) {
      // A span that failed to take its attributes still ends, and so do the others of the call.
      reportFailure('recording the outcome of a kafkajs send', failure);
    }
    span.end();
    let byPartition = counts.get(topic);
    if (byPartition === undefined) {
      byPartition = new Map();
      counts.set(topic, byPartition);
    }
    const tally = byPartition.get(partition);
    if (tally !== undefined) tally.count += 1;
    else
      byPartition.set(partition, {
        labels: { system: SYSTEM, operation: 'send', destination: topic, partition, errorType: type },
        count: 1,
      });
  }
  for (const byPartition of counts.values()) {
    for (const { labels, count } of byPartition.values()) ctx.metrics.recordSent(labels, count);
  }
  traced.endTiming(type);
}

/**
 * Calls the original send with the traced copy, in the caller's context (the spans carry their own
 * in the headers), ending the spans when its promise settles.
 */
function sendTraced(ctx: WrapContext, traced: TracedSend, call: () => unknown): unknown {
  return runTraced(undefined, call, (outcome) => finishSend(ctx, traced, outcome));
}

/** `send({ topic, messages, ... })`, on producers and transactions alike. */
export function wrapSend(ctx: WrapContext, client: ClientInfo): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function send(this: unknown, record: unknown, ...rest: unknown[]) {
      const started = safely(
        'tracing a kafkajs send',
        () => {
          const batch = isObject(record) ? topicMessages(record.topic, record.messages) : undefined;
          return batch === undefined ? undefined : startSend(ctx, client, [batch]);
        },
        undefined,
      );
      if (started === undefined || !isObject(record)) return original.call(this, record, ...rest);
      const copy = { ...record, messages: started.outgoing[0] ?? record.messages };
      return sendTraced(ctx, started.traced, () => original.call(this, copy, ...rest));
    };
}

/** `sendBatch({ topicMessages, ... })`, on producers and transactions alike. */
export function wrapSendBatch(ctx: WrapContext, client: ClientInfo): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function sendBatch(this: unknown, batch: unknown, ...rest: unknown[]) {
      const started = safely(
        'tracing a kafkajs sendBatch',
        () => {
          const batches = isObject(batch) ? batchTopicMessages(batch.topicMessages) : undefined;
          return batches === undefined ? undefined : startSend(ctx, client, batches);
        },
        undefined,
      );
      if (started === undefined || !isObject(batch) || !Array.isArray(batch.topicMessages)) {
        return original.call(this, batch, ...rest);
      }
      const entries: unknown[] = batch.topicMessages;
      const copy = {
        ...batch,
        topicMessages: entries.map((entry, index) => {
          const messages = started.outgoing[index];
          return messages === undefined || !isObject(entry) ? entry : { ...entry, messages };
        }),
      };
      return sendTraced(ctx, started.traced, () => original.call(this, copy, ...rest));
    };
}
