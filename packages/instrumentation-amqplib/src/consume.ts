import {
  type AnyFunction,
  callInContext,
  creationIdentity,
  destinationLabel,
  extractMessage,
  type MetricLabels,
  reportFailure,
  runHook,
  type SpanTarget,
  safely,
} from '@mqtrail/core';
import type { Attributes } from '@opentelemetry/api';
import {
  applicationMessageId,
  brokerTimestampMs,
  consumeLabels,
  consumeTarget,
  deliveryAttributes,
  deliveryCount,
  messageIdScope,
} from './attributes';
import { OpenDelivery } from './channel-state';
import { serverOfChannel } from './connect';
import type { AmqplibContext } from './context';
import { endAutoAcked, track } from './settle';
import { type AmqpMessage, hookMessage } from './types';

/**
 * How messages of one `consume` or `get` call are delivered, and everything about them that is the
 * same for each: built once per call, so a message adds only what is its own.
 */
interface Subscription {
  queue: string;
  noAck: boolean;
  /** `process` for push (`consume`), `receive` for pull (`get`). */
  operation: 'process' | 'receive';
  /** Span name, kind and sampling-relevant attributes. */
  target: SpanTarget;
  /** Builds a message's further span attributes, only when its span records. */
  attributes: (message: AmqpMessage) => Attributes;
  /** One labels object for all its messages: core caches label sets by object identity. */
  labels: MetricLabels;
  /**
   * Scoped per queue (temporary reply queues folded into one), since a fan-out delivers the
   * same message to several queues and that is not a duplicate: creation span ids in the first,
   * application message ids in the second.
   */
  duplicateScope: string;
  messageIdScope: string;
}

type Callback = (this: unknown, ...args: unknown[]) => unknown;

function subscription(
  ctx: AmqplibContext,
  channel: object,
  queue: unknown,
  options: unknown,
  operation: Subscription['operation'],
): Subscription {
  const noAck = options !== null && typeof options === 'object' && Boolean((options as { noAck?: unknown }).noAck);
  const name = typeof queue === 'string' ? queue : '';
  const duplicateScope = destinationLabel(name);
  return {
    queue: name,
    noAck,
    operation,
    target: consumeTarget(operation, name),
    attributes: (message) => deliveryAttributes(message, serverOfChannel(channel), ctx.config().captureBodySize),
    labels: consumeLabels(operation, name),
    duplicateScope,
    messageIdScope: messageIdScope(duplicateScope),
  };
}

function isMessage(value: unknown): value is AmqpMessage {
  if (value === null || typeof value !== 'object') return false;
  const { fields } = value as { fields?: unknown };
  return fields !== null && typeof fields === 'object';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Replaces `consume(queue, onMessage, options, ...)` of both APIs: each delivery gets its own
 * `process` span, and the application's callback runs inside it.
 */
export function consume(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function consume(this: object, queue: unknown, onMessage: unknown, options: unknown, ...rest: unknown[]) {
      if (typeof onMessage !== 'function') return original.call(this, queue, onMessage, options, ...rest);
      const channel = this;
      const how = subscription(ctx, channel, queue, options, 'process');
      const handler = onMessage as Callback;
      const onDelivery = function (this: unknown, message: unknown, ...more: unknown[]) {
        return deliver(ctx, channel, how, message, () => handler.call(this, message, ...more));
      };
      return original.call(this, queue, onDelivery, options, ...rest);
    };
}

/** Replaces the promise API's `get(queue, options)`: a `receive` span for the message it resolves with. */
export function getPromise(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function get(this: object, queue: unknown, options: unknown, ...rest: unknown[]) {
      const result: unknown = original.call(this, queue, options, ...rest);
      if (!isThenable(result)) return result;
      const how = subscription(ctx, this, queue, options, 'receive');
      // The caller gets a promise settling exactly like amqplib's; the span is started (and for
      // noAck ended) before the caller's continuation runs.
      return result.then((message) => {
        const delivery = isMessage(message) ? begin(ctx, this, how, message) : undefined;
        if (delivery !== undefined && how.noAck) {
          safely('ending an auto-acked receive span', () => endAutoAcked(ctx, this, delivery), undefined);
        }
        return message;
      });
    };
}

/** Replaces the callback API's `get(queue, options, callback)`; the callback runs inside the `receive` span. */
export function getCallback(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function get(this: object, queue: unknown, options: unknown, callback: unknown, ...rest: unknown[]) {
      if (typeof callback !== 'function') return original.call(this, queue, options, callback, ...rest);
      const channel = this;
      const how = subscription(ctx, channel, queue, options, 'receive');
      const handler = callback as Callback;
      const onReply = function (this: unknown, error: unknown, message: unknown, ...more: unknown[]) {
        const run = () => handler.call(this, error, message, ...more);
        return error === null || error === undefined ? deliver(ctx, channel, how, message, run) : run();
      };
      return original.call(this, queue, options, onReply, ...rest);
    };
}

/**
 * Runs the application's handler for one message inside its span. A handler that throws or
 * rejects keeps doing so exactly as without mqtrail; the failure is only noted on the span.
 */
function deliver(ctx: AmqplibContext, channel: object, how: Subscription, message: unknown, run: () => unknown) {
  // `null` is amqplib's consumer-cancelled notification, not a message.
  const delivery = isMessage(message) ? begin(ctx, channel, how, message) : undefined;
  if (delivery === undefined) return run();
  let result: unknown;
  try {
    result = callInContext(delivery.context, run);
  } catch (error) {
    handlerDone(ctx, channel, how, delivery, error);
    throw error;
  }
  if (!isThenable(result)) {
    handlerDone(ctx, channel, how, delivery, undefined);
    return result;
  }
  // amqplib ignores what a consumer returns. Observing the promise through a derived one that
  // rejects with the same reason keeps an unhandled rejection unhandled, as without mqtrail.
  return safely(
    'observing an async message handler',
    () =>
      result.then(
        (value) => {
          handlerDone(ctx, channel, how, delivery, undefined);
          return value;
        },
        (error: unknown) => {
          handlerDone(ctx, channel, how, delivery, error ?? new Error('message handler rejected'));
          throw error;
        },
      ),
    result,
  );
}

function begin(
  ctx: AmqplibContext,
  channel: object,
  how: Subscription,
  message: AmqpMessage,
): OpenDelivery | undefined {
  // Guarded inline rather than through `safely`: no closure per message.
  try {
    const delivery = startDelivery(ctx, how, message);
    // noAck deliveries too: a handler whose promise never settles must not hold its span forever.
    track(ctx, channel, delivery);
    return delivery;
  } catch (error) {
    reportFailure('starting a message span', error);
    return undefined;
  }
}

/**
 * The span and metrics of one delivered message. Unsampled, this is the fast path: the span costs
 * the SDK the least it can, no attributes, links or hook arguments are built, and what remains is
 * what sampling cannot switch off: the trace context and chain for the handler, the metrics, the
 * duplicate check, and the settle tracking that the settle metrics need.
 */
function startDelivery(ctx: AmqplibContext, how: Subscription, message: AmqpMessage): OpenDelivery {
  const config = ctx.config();
  const headers = message.properties?.headers;
  const count = deliveryCount(headers);
  const extracted = extractMessage(headers);
  const messageId = applicationMessageId(message);
  const delivery = new OpenDelivery(
    ctx,
    {
      target: how.target,
      message: extracted,
      useLinksForConsume: config.useLinksForConsume,
      attributes: how.attributes,
      subject: message,
      fallbackSentAt: brokerTimestampMs(message.properties?.timestamp),
      labels: how.labels,
      duplicateScope: messageId === undefined ? how.duplicateScope : how.messageIdScope,
      identity: messageId ?? creationIdentity(extracted),
      // Quorum queues count deliveries; a count above zero is a redelivery even if the flag is unset.
      redelivered: message.fields.redelivered === true || (count !== undefined && count > 0),
    },
    message,
    how.noAck,
  );
  // Hook arguments are built only for a hook that exists and a span that records.
  if (config.consumeHook !== undefined && delivery.span.isRecording()) {
    runHook('consumeHook', config.consumeHook, delivery.span, {
      moduleVersion: ctx.moduleVersion,
      msg: hookMessage(message),
      queue: how.queue,
    });
  }
  return delivery;
}

function handlerDone(
  ctx: AmqplibContext,
  channel: object,
  how: Subscription,
  delivery: OpenDelivery,
  error: unknown,
): void {
  // Guarded inline rather than through `safely`: no closure per message.
  try {
    if (error !== undefined) delivery.handlerError = error;
    if (how.noAck) endAutoAcked(ctx, channel, delivery);
  } catch (failure) {
    reportFailure('recording the end of a message handler', failure);
  }
}
