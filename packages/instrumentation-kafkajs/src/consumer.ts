/**
 * `consumer.run({ eachMessage | eachBatch })`: a `process` span per message (or per batch, see
 * batch.ts) with the handler running inside it, plus what kafkajs reports through its public
 * instrumentation events: offset commits (settle outcome `commit`) and consumer lag.
 */
import {
  type AnyFunction,
  extractMessage,
  MessageProcess,
  reportFailure,
  runHook,
  safely,
  wrapAll,
} from '@mqtrail/core';
import type { Attributes } from '@opentelemetry/api';
import type { KafkaMessage } from 'kafkajs';
import {
  type ConsumerScope,
  messageIdentity,
  offsetNumber,
  partitionNumber,
  processAttributes,
  processLabels,
  processTargets,
  timestampMs,
} from './attributes';
import { traceEachBatch } from './batch';
import { type Fields, isObject } from './fields';
import { runProcess } from './run-traced';
import type { WrapContext } from './wrap-context';

/**
 * Starts the `process` span of one delivered message (the `eachMessage` payload, from which
 * `attributes` builds the span's further attributes if it records), or undefined when the payload
 * is not the shape kafkajs delivers or the topic is ignored (the handler then runs untraced).
 *
 * Unsampled, this is the fast path: the span costs the SDK the least it can, no attributes, links
 * or hook arguments are built, and what remains is what sampling cannot switch off: the trace
 * context and chain for the handler, the metrics, the duplicate check and commit accounting.
 */
export function beginMessage(
  ctx: WrapContext,
  scope: ConsumerScope,
  payload: Fields,
  attributes: (payload: Fields) => Attributes,
): MessageProcess | undefined {
  const { topic, partition, message } = payload;
  if (typeof topic !== 'string' || !Number.isInteger(partition) || !isObject(message)) return undefined;
  const config = ctx.config();
  if (config.isIgnored(topic)) return undefined;
  const partitionId = Number(partition);
  const extracted = extractMessage(message.headers);
  const process = new MessageProcess(ctx, {
    target: processTargets.get(topic),
    message: extracted,
    useLinksForConsume: config.useLinksForConsume,
    attributes,
    subject: payload,
    fallbackSentAt: timestampMs(message.timestamp),
    labels: processLabels(scope, topic, partitionId),
    duplicateScope: scope.groupId,
    identity: messageIdentity(extracted, topic, partitionId, message.offset),
  });
  try {
    if (config.consumerHook !== undefined && process.span.isRecording()) {
      // Checked to be an object only: the hook's type promises what kafkajs delivers, not more.
      const delivered = message as unknown as KafkaMessage;
      runHook('consumerHook', config.consumerHook, process.span, { topic, partition: partitionId, message: delivered });
    }
    const offset = offsetNumber(message.offset);
    if (offset !== undefined) ctx.commits.delivered(scope.groupId, topic, partitionId, offset);
  } catch (error) {
    // The handler will run untraced: the span must not stay open.
    process.end();
    throw error;
  }
  return process;
}

/**
 * The user's `eachMessage`, run inside the message's `process` span. The span ends when the
 * handler's promise settles. It carries no settle outcome: kafkajs commits offsets later and for
 * many messages at once, which the COMMIT_OFFSETS listener counts.
 */
export function traceEachMessage(ctx: WrapContext, scope: ConsumerScope, handler: AnyFunction): AnyFunction {
  // One function per consumer, not a closure per message; it runs only for a span that records.
  const attributes = (payload: Fields) =>
    processAttributes(scope, Number(payload.partition), payload.message as Fields, ctx.config());
  return function eachMessage(this: unknown, payload: unknown, ...rest: unknown[]) {
    // Guarded inline rather than through `safely`: no closure per message.
    let process: MessageProcess | undefined;
    try {
      process = isObject(payload) ? beginMessage(ctx, scope, payload, attributes) : undefined;
    } catch (error) {
      reportFailure('starting a kafkajs process span', error);
    }
    if (process === undefined) return handler.call(this, payload, ...rest);
    return runProcess(process, () => handler.call(this, payload, ...rest));
  };
}

/** A copy of the `run` config with traced handlers; the caller's object is left as it is. */
export function traceRunConfig(ctx: WrapContext, scope: ConsumerScope, config: unknown): unknown {
  if (!isObject(config)) return config;
  const { eachMessage, eachBatch } = config;
  if (typeof eachMessage !== 'function' && typeof eachBatch !== 'function') return config;
  const copy: Fields = { ...config };
  if (typeof eachMessage === 'function') copy.eachMessage = traceEachMessage(ctx, scope, eachMessage as AnyFunction);
  if (typeof eachBatch === 'function') copy.eachBatch = traceEachBatch(ctx, scope, eachBatch as AnyFunction);
  return copy;
}

function wrapRun(ctx: WrapContext, scope: ConsumerScope): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function run(this: unknown, config: unknown, ...rest: unknown[]) {
      const traced = safely('instrumenting kafkajs consumer.run', () => traceRunConfig(ctx, scope, config), config);
      return original.call(this, traced, ...rest);
    };
}

/**
 * kafkajs's COMMIT_OFFSETS event fires after the broker accepted a commit, automatic or through
 * `consumer.commitOffsets`: each partition offset settles the delivered messages below it.
 */
export function recordCommit(ctx: WrapContext, scope: ConsumerScope, payload: unknown): void {
  if (!isObject(payload) || !Array.isArray(payload.topics)) return;
  const group = typeof payload.groupId === 'string' ? payload.groupId : scope.groupId;
  const config = ctx.config();
  for (const entry of payload.topics) {
    if (!isObject(entry) || typeof entry.topic !== 'string' || !Array.isArray(entry.partitions)) continue;
    if (config.isIgnored(entry.topic)) continue;
    for (const partitionOffset of entry.partitions) {
      if (!isObject(partitionOffset)) continue;
      const partition = partitionNumber(partitionOffset.partition);
      // Manual commits carry kafkajs Long objects, automatic ones strings: both print as decimals.
      const offset = offsetNumber(String(partitionOffset.offset));
      if (partition === undefined || offset === undefined) continue;
      const count = ctx.commits.committed(group, entry.topic, partition, offset);
      if (count > 0) ctx.metrics.recordSettled(processLabels(scope, entry.topic, partition), 'commit', count);
    }
  }
}

/**
 * kafkajs's END_BATCH_PROCESS event reports, per fetched batch and for `eachMessage` and
 * `eachBatch` alike, `offsetLag`: the high watermark minus one minus the batch's last offset,
 * i.e. the messages still waiting in the partition once this batch is processed.
 */
export function recordLag(ctx: WrapContext, scope: ConsumerScope, payload: unknown): void {
  if (!isObject(payload) || typeof payload.topic !== 'string') return;
  const partition = partitionNumber(payload.partition);
  if (partition === undefined || ctx.config().isIgnored(payload.topic)) return;
  const lag = offsetNumber(payload.offsetLag);
  if (lag !== undefined) ctx.metrics.recordConsumerLag(processLabels(scope, payload.topic, partition), lag);
}

interface EventSource {
  on(event: string, listener: (event: unknown) => void): unknown;
  events: Fields;
}

function isEventSource(value: Fields): value is Fields & EventSource {
  return typeof value.on === 'function' && isObject(value.events);
}

/** Listens to the consumer's public instrumentation events for commits and lag. */
function listen(ctx: WrapContext, scope: ConsumerScope, consumer: Fields): void {
  if (!isEventSource(consumer)) return;
  const { COMMIT_OFFSETS, END_BATCH_PROCESS } = consumer.events;
  // kafkajs calls listeners synchronously inside its commit and fetch loops: nothing may escape.
  const payloadOf = (event: unknown) => (isObject(event) ? event.payload : undefined);
  if (typeof COMMIT_OFFSETS === 'string') {
    consumer.on(COMMIT_OFFSETS, (event) =>
      safely('counting a kafkajs offset commit', () => recordCommit(ctx, scope, payloadOf(event)), undefined),
    );
  }
  if (typeof END_BATCH_PROCESS === 'string') {
    consumer.on(END_BATCH_PROCESS, (event) =>
      safely('recording kafkajs consumer lag', () => recordLag(ctx, scope, payloadOf(event)), undefined),
    );
  }
}

/** Instruments one consumer kafkajs created: its `run`, and listeners for commits and lag. */
export function instrumentConsumer(ctx: WrapContext, consumer: unknown, scope: ConsumerScope): void {
  if (!isObject(consumer)) return;
  wrapAll(ctx.shim, [{ target: consumer, method: 'run', wrapper: wrapRun(ctx, scope) }]);
  listen(ctx, scope, consumer);
}
