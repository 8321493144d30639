import { type AnyFunction, runHook, type SettleOutcome, safely } from '@mqtrail/core';
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

function finish(ctx: AmqplibContext, delivery: OpenDelivery, settlement: Settlement): void {
  const { process, message, handlerError } = delivery;
  if (process.isEnded) return;
  // Set before the hook, as contrib does, so a consumeEndHook sees (and may change) the status.
  // An error to record sets its own ERROR status with its message when the span ends.
  if (settlement.failure !== undefined && settlement.error === undefined && handlerError === undefined) {
    process.span.setStatus({ code: SpanStatusCode.ERROR, message: settlement.failure });
  }
  const { consumeEndHook } = ctx.config();
  if (consumeEndHook !== undefined) {
    runHook('consumeEndHook', consumeEndHook, process.span, {
      moduleVersion: ctx.moduleVersion,
      msg: hookMessage(message),
      rejected: settlement.rejected,
      endOperation: settlement.endOperation,
      outcome: settlement.outcome,
    });
  }
  // The handler's own failure is the root cause; keep it on the span even when the end has another.
  if (handlerError !== undefined && settlement.error !== undefined) {
    process.span.recordException(handlerError instanceof Error ? handlerError : String(handlerError));
  }
  process.end({ outcome: settlement.outcome, error: settlement.error ?? handlerError });
}

function settle(ctx: AmqplibContext, taken: OpenDelivery[], settlement: Settlement): void {
  for (const delivery of taken) {
    // A noAck delivery in the same registry is already settled by the broker, whatever the app calls.
    finish(ctx, delivery, delivery.noAck ? AUTO_ACKED : settlement);
  }
}

function deliveryTagOf(message: unknown): number | undefined {
  const tag = (message as { fields?: { deliveryTag?: unknown } } | null)?.fields?.deliveryTag;
  return typeof tag === 'number' ? tag : undefined;
}

/** One message, or with `allUpTo` every open one up to it (delivery tags grow per channel). */
function takeFor(channel: object, message: unknown, allUpTo: boolean): OpenDelivery[] {
  const deliveries = existingStateOf(channel)?.deliveries;
  const tag = deliveryTagOf(message);
  if (deliveries === undefined || tag === undefined) return [];
  if (allUpTo) return deliveries.takeUpTo((open) => open <= tag);
  const one = deliveries.take(tag);
  return one === undefined ? [] : [one];
}

function takeAll(channel: object): OpenDelivery[] {
  return existingStateOf(channel)?.deliveries?.takeAll() ?? [];
}

/**
 * A nack or reject: `requeue` when amqplib's `requeue` is true or omitted (its default,
 * lib/api_args.js), else `drop`, which is a failure (see `Settlement.failure`).
 */
function rejection(endOperation: EndOperation, requeue: unknown): Settlement {
  if (requeue === undefined || requeue) return { outcome: 'requeue', endOperation, rejected: true };
  return {
    outcome: 'drop',
    endOperation,
    rejected: true,
    failure: `${endOperation} called on message without requeue`,
  };
}

// Each wrapper calls amqplib first: if it throws (the channel is closing), nothing was settled, and
// the channel's close ends the span instead.

/** Replaces `ack(message, allUpTo)`. */
export function ack(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function ack(this: object, message: unknown, allUpTo: unknown, ...rest: unknown[]) {
      const result = original.call(this, message, allUpTo, ...rest);
      safely(
        'ending acked message spans',
        () => settle(ctx, takeFor(this, message, Boolean(allUpTo)), ACKED),
        undefined,
      );
      return result;
    };
}

/** Replaces `nack(message, allUpTo, requeue)`. */
export function nack(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function nack(this: object, message: unknown, allUpTo: unknown, requeue: unknown, ...rest: unknown[]) {
      const result = original.call(this, message, allUpTo, requeue, ...rest);
      safely(
        'ending nacked message spans',
        () => settle(ctx, takeFor(this, message, Boolean(allUpTo)), rejection(EndOperation.Nack, requeue)),
        undefined,
      );
      return result;
    };
}

/** Replaces `reject(message, requeue)`. */
export function reject(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function reject(this: object, message: unknown, requeue: unknown, ...rest: unknown[]) {
      const result = original.call(this, message, requeue, ...rest);
      safely(
        'ending rejected message spans',
        () => settle(ctx, takeFor(this, message, false), rejection(EndOperation.Reject, requeue)),
        undefined,
      );
      return result;
    };
}

/** Replaces `ackAll()`. */
export function ackAll(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function ackAll(this: object, ...args: unknown[]) {
      const result = original.apply(this, args);
      safely(
        'ending acked message spans',
        () => settle(ctx, takeAll(this), { outcome: 'ack', endOperation: EndOperation.AckAll, rejected: false }),
        undefined,
      );
      return result;
    };
}

/** Replaces `nackAll(requeue)`. */
export function nackAll(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function nackAll(this: object, requeue: unknown, ...rest: unknown[]) {
      const result = original.call(this, requeue, ...rest);
      safely(
        'ending nacked message spans',
        () => settle(ctx, takeAll(this), rejection(EndOperation.NackAll, requeue)),
        undefined,
      );
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
