import { type BeginProcessOptions, MessageProcess, type ProcessDeps } from '@mqtrail/core';
import type { Span } from '@opentelemetry/api';
import { type Expiring, OpenRegistry, type OpenRegistryOptions } from './open-registry';
import type { AmqpMessage } from './types';

/**
 * Most spans one channel keeps open at once, per kind. Far above any sane prefetch or confirm
 * window; past it the oldest is ended (outcome `timeout`) so memory stays bounded even with an
 * unlimited prefetch and an application that never acks.
 */
export const MAX_OPEN_PER_CHANNEL = 20_000;

/**
 * A delivered message (consume or get) whose span waits for settlement: core's `MessageProcess`
 * with what settling it needs, in one object per message.
 */
export class OpenDelivery extends MessageProcess<AmqpMessage> implements Expiring {
  /** What the application's callback threw or rejected with, reported when the span ends. */
  handlerError?: unknown;
  /** When the registry ends it as timed out (set by `OpenRegistry.add`). */
  expiresAt = 0;

  constructor(
    deps: ProcessDeps,
    options: BeginProcessOptions<AmqpMessage>,
    readonly message: AmqpMessage,
    readonly noAck: boolean,
  ) {
    super(deps, options);
  }
}

/** A confirm-channel publish whose span waits for the broker's ack or nack. */
export interface PendingConfirm extends Expiring {
  readonly span: Span;
  /** Ends the span (idempotent); `error` is set for a nack, close or timeout. */
  finish(error: unknown): void;
  /** The broker returned the message; the span ends as failed when the confirm comes. */
  markReturned(error: Error): void;
}

/** What mqtrail remembers about one amqplib channel. Lives exactly as long as the channel does. */
export interface ChannelState {
  deliveries?: OpenRegistry<number, OpenDelivery>;
  /** Confirm-channel publishes by delivery tag. */
  confirms?: OpenRegistry<number, PendingConfirm>;
  /** The error the channel emitted last: the reason its open spans end with when it closes. */
  lastError?: unknown;
}

const states = new WeakMap<object, ChannelState>();

export function stateOf(channel: object): ChannelState {
  let state = states.get(channel);
  if (state === undefined) {
    state = {};
    states.set(channel, state);
  }
  return state;
}

/** The state if mqtrail ever tracked anything on this channel, without creating it. */
export function existingStateOf(channel: object): ChannelState | undefined {
  return states.get(channel);
}

export function newRegistry<K, V extends Expiring>(onExpire: OpenRegistryOptions<V>['onExpire']): OpenRegistry<K, V> {
  return new OpenRegistry<K, V>({ maxEntries: MAX_OPEN_PER_CHANNEL, onExpire });
}
