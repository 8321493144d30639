import { type AnyFunction, reportFailure, runHook, type SettleOutcome } from '@mqtrail/core';
import { SpanStatusCode } from '@opentelemetry/api';
import { existingStateOf, newRegistry, type OpenDelivery, stateOf } from './channel-state';
import type { AmqplibContext } from './context';
import { ChannelClosedError } from './errors';
import type { OpenRegistry } from './open-registry';
import { EndOperation, hookMessage } from './types';

/** How a delivery's span ends: the outcome recorded, and what the consumeEndHook is told. */
interface Settlement {
  outcome: SettleOutcome;
  endOperation: EndOperation;
  rejected: boolean | null;
  error?: unknown;
  /**
   * Status description for an end that is a failure although nothing threw: a message dropped
   * (nack/reject without requeue) or never settled. The span's status is ERROR, as the contrib
   * instrumentation sets it, so error rates read from span status count these messages.
   */
  failure?: string;
}

const AUTO_ACKED: Settlement = { outcome: 'auto', endOperation: EndOperation.AutoAck, rejected: false };
const ACKED: Settlement = { outcome: 'ack', endOperation: EndOperation.Ack, rejected: false };

const TIMED_OUT: Settlement = {
  outcome: 'timeout',
  endOperation: EndOperation.InstrumentationTimeout,
  rejected: null,
  failure: 'instrumentation timeout: not settled within consumeTimeoutMs',
};

function deliveriesOf(ctx: AmqplibContext, channel: object): OpenRegistry<number, OpenDelivery> {
  const state = stateOf(channel);
  state.deliveries ??= newRegistry<number, OpenDelivery>((delivery) => finish(ctx, delivery, TIMED_OUT));
  return state.deliveries;
}

/** Keeps a delivered message's span open until the application settles it (or the bounds end it). */
export function track(ctx: AmqplibContext, channel: object, delivery: OpenDelivery): void {
  deliveriesOf(ctx, channel).add(delivery.message.fields.deliveryTag, delivery, ctx.config().consumeTimeoutMs);
}

/** A `noAck` delivery is settled by the broker on delivery; its span ends when the handler is done. */
export function endAutoAcked(ctx: AmqplibContext, channel: object, delivery: OpenDelivery): void {
  existingStateOf(channel)?.deliveries?.take(delivery.message.fields.deliveryTag);
  finish(ctx, delivery, AUTO_ACKED);
}

/**
 * Ends a delivery's span with how it was settled. Never throws: it runs after amqplib did the
 * application's settle call, and in loops over every open delivery of a channel (ackAll, close),
 * where one failure must not leave the others open. Inline-guarded: no closure per message.
 */
function finish(ctx: AmqplibContext, delivery: OpenDelivery, settlement: Settlement): void {
  const { message, handlerError } = delivery;
  if (delivery.isEnded) return;
  try {
    // Set before the hook, as contrib does, so a consumeEndHook sees (and may change) the status.
    // An error to record sets its own ERROR status with its message when the span ends.
    // Span and hook work only for a span that records; the outcome's metrics are recorded regardless.
    const recording = delivery.span.isRecording();
    if (recording && settlement.failure !== undefined && settlement.error === undefined && handlerError === undefined) {
      delivery.span.setStatus({ code: SpanStatusCode.ERROR, message: settlement.failure });
    }
    const { consumeEndHook } = ctx.config();
    if (consumeEndHook !== undefined && recording) {
      runHook('consumeEndHook', consumeEndHook, delivery.span, {
        moduleVersion: ctx.moduleVersion,
        msg: hookMessage(message),
        rejected: settlement.rejected,
        endOperation: settlement.endOperation,
        outcome: settlement.outcome,
      });
    }
    // The handler's own failure is the root cause; keep it on the span even when the end has another.
    if (recording && handlerError !== undefined && settlement.error !== undefined) {
      delivery.span.recordException(handlerError instanceof Error ? handlerError : String(handlerError));
    }
  } catch (error) {
    // The span still ends below, with the outcome and the metrics that go with it.
    reportFailure('recording how a message was settled', error);
  }
  try {
    delivery.end({ outcome: settlement.outcome, error: settlement.error ?? handlerError });
  } catch (error) {
    reportFailure('ending a message span', error);
  }
}

/**
 * Ends the spans the application settled: the delivery of `message`, or with `allUpTo` every open
 * one up to it (delivery tags grow per channel). Inline-guarded, with no array or closure for the
 * common case of one message: this runs for every ack.
 */
function settle(
  ctx: AmqplibContext,
  channel: object,
  message: unknown,
  allUpTo: boolean,
  settlement: Settlement,
): void {
  try {
    const deliveries = existingStateOf(channel)?.deliveries;
    const tag = deliveryTagOf(message);
    if (deliveries === undefined || tag === undefined) return;
    if (!allUpTo) {
      const one = deliveries.take(tag);
      if (one !== undefined) settleOne(ctx, one, settlement);
      return;
    }
    for (const delivery of deliveries.takeUpTo((open) => open <= tag)) settleOne(ctx, delivery, settlement);
  } catch (error) {
    reportFailure('ending settled message spans', error);
  }
}

function settleAll(ctx: AmqplibContext, channel: object, settlement: Settlement): void {
  try {
    for (const delivery of takeAll(channel)) settleOne(ctx, delivery, settlement);
  } catch (error) {
    reportFailure('ending settled message spans', error);
  }
}

function settleOne(ctx: AmqplibContext, delivery: OpenDelivery, settlement: Settlement): void {
  // A noAck delivery in the same registry is already settled by the broker, whatever the app calls.
  finish(ctx, delivery, delivery.noAck ? AUTO_ACKED : settlement);
}

function deliveryTagOf(message: unknown): number | undefined {
  const tag = (message as { fields?: { deliveryTag?: unknown } } | null)?.fields?.deliveryTag;
  return typeof tag === 'number' ? tag : undefined;
}

function takeAll(channel: object): OpenDelivery[] {
  return existingStateOf(channel)?.deliveries?.takeAll() ?? [];
}

/**
 * A nack or reject: `requeue` when amqplib's `requeue` is true or omitted (its default,
 * lib/api_args.js), else `drop`, which is a failure (see `Settlement.failure`).
 */
function rejection(endOperation: EndOperation, requeue: unknown): Settlement {
  const requeued = requeue === undefined || Boolean(requeue);
  const key = `${endOperation}:${requeued}`;
  let settlement = REJECTIONS.get(key);
  if (settlement === undefined) {
    settlement = requeued
      ? { outcome: 'requeue', endOperation, rejected: true }
      : { outcome: 'drop', endOperation, rejected: true, failure: `${endOperation} called on message without requeue` };
    REJECTIONS.set(key, settlement);
  }
  return settlement;
}

/** The few settlements of a nack or reject, built once each: settling allocates nothing per message. */
const REJECTIONS = new Map<string, Settlement>();
const ACKED_ALL: Settlement = { outcome: 'ack', endOperation: EndOperation.AckAll, rejected: false };

// Each wrapper calls amqplib first: if it throws (the channel is closing), nothing was settled, and
// the channel's close ends the span instead.

/** Replaces `ack(message, allUpTo)`. */
export function ack(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function ack(this: object, message: unknown, allUpTo: unknown, ...rest: unknown[]) {
      const result = original.call(this, message, allUpTo, ...rest);
      settle(ctx, this, message, Boolean(allUpTo), ACKED);
      return result;
    };
}

/** Replaces `nack(message, allUpTo, requeue)`. */
export function nack(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function nack(this: object, message: unknown, allUpTo: unknown, requeue: unknown, ...rest: unknown[]) {
      const result = original.call(this, message, allUpTo, requeue, ...rest);
      settle(ctx, this, message, Boolean(allUpTo), rejection(EndOperation.Nack, requeue));
      return result;
    };
}

/** Replaces `reject(message, requeue)`. */
export function reject(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function reject(this: object, message: unknown, requeue: unknown, ...rest: unknown[]) {
      const result = original.call(this, message, requeue, ...rest);
      settle(ctx, this, message, false, rejection(EndOperation.Reject, requeue));
      return result;
    };
}

/** Replaces `ackAll()`. */
export function ackAll(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function ackAll(this: object, ...args: unknown[]) {
      const result = original.apply(this, args);
      settleAll(ctx, this, ACKED_ALL);
      return result;
    };
}

/** Replaces `nackAll(requeue)`. */
export function nackAll(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function nackAll(this: object, requeue: unknown, ...rest: unknown[]) {
      const result = original.call(this, requeue, ...rest);
      settleAll(ctx, this, rejection(EndOperation.NackAll, requeue));
      return result;
    };
}

/**
 * The channel closed (by the application, the broker, or with its connection): RabbitMQ requeues
 * what was not acked, so every open delivery ends as `closed`, failed with the reason. The
 * consumeEndHook is told `rejected: true`, as contrib tells it.
 */
export function closeDeliveries(ctx: AmqplibContext, channel: object, cause: unknown): void {
  const open = takeAll(channel);
  if (open.length === 0) return;
  const error = new ChannelClosedError(cause);
  const endOperation = cause === undefined ? EndOperation.ChannelClosed : EndOperation.ChannelError;
  for (const delivery of open) {
    finish(ctx, delivery, { outcome: 'closed', endOperation, rejected: true, error });
  }
}
