import { chainHeaderEnabled, type InjectOptions, type SettleOutcome } from '@mqtrail/core';
import type { Span } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';

// The amqplib shapes are declared here rather than imported from `@types/amqplib` (amqplib 2.x
// ships its own, 0.10 has none), so this package's types never depend on which amqplib, if any,
// the application installed. Two sets: the narrow `Amqp*` shapes mqtrail's own code reads, which
// promise nothing it has not checked, and the shapes hooks are given, with the names and types of
// `@opentelemetry/instrumentation-amqplib`'s exports, which hooks written for it rely on.

/**
 * Where contrib (and `@types/amqplib`) type a value as `any`, so does this package: with a
 * narrower type, contrib code such as `info.msg.properties.headers['x-tenant'].toString()` would
 * stop compiling after the switch.
 */
// biome-ignore lint/suspicious/noExplicitAny: contrib's hook-facing types are `any` here; see above.
type ContribAny = any;

/** amqplib's (and contrib's) `CommonMessageFields`. */
export interface CommonMessageFields {
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
}

/** amqplib's (and contrib's) `MessageFields`: of a consumed (`consumerTag`) or pulled (`messageCount`) message. */
export interface MessageFields extends CommonMessageFields {
  messageCount?: number;
  consumerTag?: string;
}

/** mqtrail's earlier name for `MessageFields`. */
export type AmqpMessageFields = MessageFields;

export interface AmqpMessageProperties {
  headers?: Record<string, unknown>;
  correlationId?: string;
  replyTo?: string;
  messageId?: string;
  timestamp?: number;
  [property: string]: unknown;
}

export interface AmqpMessage {
  content: Buffer;
  fields: MessageFields;
  properties: AmqpMessageProperties;
}

/** `Options.Publish` of amqplib: what `publish` and `sendToQueue` accept. */
export interface AmqpPublishOptions {
  headers?: Record<string, unknown>;
  mandatory?: boolean;
  persistent?: boolean;
  deliveryMode?: boolean | number;
  expiration?: string | number;
  CC?: string | string[];
  BCC?: string | string[];
  contentType?: string;
  contentEncoding?: string;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
}

/** Contrib's `AmqplibPublishOptions`: what `PublishInfo.options` is, `headers` as loose as contrib's. */
export interface AmqplibPublishOptions extends Omit<AmqpPublishOptions, 'headers'> {
  headers?: ContribAny;
}

/** Contrib's `ConsumeMessageFields`. */
export interface ConsumeMessageFields extends CommonMessageFields {
  deliveryTag: number;
}

/**
 * Contrib's (and `@types/amqplib`'s) `MessageProperties`. amqplib decodes every property, `undefined`
 * when absent (none at all for a message without properties, which `any` covers too).
 */
export interface MessageProperties {
  contentType: ContribAny;
  contentEncoding: ContribAny;
  headers: ContribAny;
  deliveryMode: ContribAny;
  priority: ContribAny;
  correlationId: ContribAny;
  replyTo: ContribAny;
  expiration: ContribAny;
  messageId: ContribAny;
  timestamp: ContribAny;
  type: ContribAny;
  userId: ContribAny;
  appId: ContribAny;
  clusterId: ContribAny;
}

/** Contrib's `Message`: a message as amqplib delivers it. */
export interface Message {
  content: Buffer;
  fields: MessageFields;
  properties: MessageProperties;
}

/** Contrib's `ConsumeMessage`: what `consumeHook` and `consumeEndHook` get as `msg`. */
export interface ConsumeMessage extends Message {
  fields: ConsumeMessageFields;
}

/**
 * A delivered message as hooks get it: the object amqplib delivered, under contrib's looser type.
 * mqtrail's own code reads it through `AmqpMessage`, which promises nothing it has not checked.
 */
export function hookMessage(message: AmqpMessage): ConsumeMessage {
  return message as unknown as ConsumeMessage;
}

/**
 * How mqtrail learned that a consumed message is done with. The same enum as the contrib amqplib
 * instrumentation's `EndOperation`, with the same values, so a `consumeEndHook` written for it
 * keeps compiling and working; comparing with the plain strings (`=== 'ack'`) works too.
 */
export enum EndOperation {
  AutoAck = 'auto ack',
  Ack = 'ack',
  AckAll = 'ackAll',
  Reject = 'reject',
  Nack = 'nack',
  NackAll = 'nackAll',
  ChannelClosed = 'channel closed',
  ChannelError = 'channel error',
  InstrumentationTimeout = 'instrumentation timeout',
}

export interface PublishInfo {
  /** Version of the amqplib package that was patched. */
  moduleVersion: string | undefined;
  exchange: string;
  routingKey: string;
  content: Buffer;
  /** A copy of the caller's options, without the propagation headers (they are added after the hook). */
  options?: AmqplibPublishOptions;
  /** Always set here; optional in contrib's type. */
  isConfirmChannel: boolean;
}

export interface PublishConfirmedInfo extends PublishInfo {
  /**
   * `null` when the broker acked (as amqplib reports it); else why it did not confirm: a nack, the
   * channel closing, or mqtrail's confirm timeout.
   */
  confirmError?: ContribAny;
}

/** Contrib's fields, and `queue`: a superset, so a hook written for contrib reads what it read there. */
export interface ConsumeInfo {
  moduleVersion: string | undefined;
  msg: ConsumeMessage;
  /** Queue given to `consume` or `get`. */
  queue: string;
}

/** Contrib's fields, and `moduleVersion` and `outcome`: a superset, as `ConsumeInfo` is. */
export interface ConsumeEndInfo {
  moduleVersion: string | undefined;
  msg: ConsumeMessage;
  /**
   * As contrib sets it: true for nack/reject and when the channel closed first, false for ack and
   * auto-ack, null when mqtrail stopped waiting (consumeTimeoutMs).
   */
  rejected: boolean | null;
  endOperation: EndOperation;
  outcome: SettleOutcome;
}

/** Runs after the send span started and before context is injected; may add attributes. */
export type AmqplibPublishCustomAttributeFunction = (span: Span, info: PublishInfo) => void;
/** Runs on a confirm channel when the broker acks or nacks the message, before the span ends. */
export type AmqplibPublishConfirmCustomAttributeFunction = (span: Span, info: PublishConfirmedInfo) => void;
/** Runs when a message is delivered, before the application's callback. */
export type AmqplibConsumeCustomAttributeFunction = (span: Span, info: ConsumeInfo) => void;
/** Runs when a consumed message is settled, closed or timed out, before its span ends. */
export type AmqplibConsumeEndCustomAttributeFunction = (span: Span, info: ConsumeEndInfo) => void;

/**
 * Options of `AmqplibInstrumentation`. The hook names and signatures are those of
 * `@opentelemetry/instrumentation-amqplib`, so switching between the two keeps user code.
 */
export interface AmqplibInstrumentationConfig extends InstrumentationConfig {
  /** Make a consumed message's creation context a span link only; the ambient context stays parent. */
  useLinksForConsume?: boolean;
  publishHook?: AmqplibPublishCustomAttributeFunction;
  publishConfirmHook?: AmqplibPublishConfirmCustomAttributeFunction;
  consumeHook?: AmqplibConsumeCustomAttributeFunction;
  consumeEndHook?: AmqplibConsumeEndCustomAttributeFunction;
  /**
   * How long a consumed message's span waits for ack/nack/reject before it is ended with outcome
   * `timeout` and status ERROR, so a message the application never settles cannot hold memory
   * forever. Default 60000, as in contrib.
   */
  consumeTimeoutMs?: number;
  /** How long a confirm-channel publish span waits for the broker's ack or nack. */
  confirmTimeoutMs?: number;
  /** Record `messaging.message.body.size` (the body itself is never recorded). */
  captureBodySize?: boolean;
  /**
   * Add the `mqtrail` chain header (about 50 bytes per message) next to the trace context. Default
   * true, or `MQTRAIL_CHAIN_HEADER=false`. Off, only `traceparent` (and `tracestate`/`baggage` when
   * set) is added; consumers then take delivery latency from the `timestamp` property when the
   * publisher set one, and a chain of hops is not followed: chain latency covers the last hop only
   * and the hop count stays 1.
   */
  chainHeader?: boolean;
}

/** The configuration after defaults: what every wrapper reads. */
export interface ResolvedAmqplibConfig extends AmqplibInstrumentationConfig {
  useLinksForConsume: boolean;
  consumeTimeoutMs: number;
  confirmTimeoutMs: number;
  captureBodySize: boolean;
  /** How headers are written: the chain header or not (option `chainHeader`, `MQTRAIL_CHAIN_HEADER`). */
  inject: InjectOptions;
}

/**
 * The defaults `resolveConfig` merges in. Typed as the whole configuration, as contrib's is, so
 * reading any option of it compiles; read-only, since changing it would change every instance's
 * defaults.
 */
export const DEFAULT_CONFIG: Readonly<ResolvedAmqplibConfig> = {
  useLinksForConsume: false,
  // Contrib's default, so a span left unsettled ends (as `timeout`, ERROR) when it did there.
  consumeTimeoutMs: 60_000,
  confirmTimeoutMs: 60_000,
  captureBodySize: false,
  inject: { chainHeader: true },
};

/** The one place defaults are merged; a timeout that is not a positive number falls back to its default. */
export function resolveConfig(config: AmqplibInstrumentationConfig = {}): ResolvedAmqplibConfig {
  return {
    ...config,
    useLinksForConsume: config.useLinksForConsume ?? DEFAULT_CONFIG.useLinksForConsume,
    consumeTimeoutMs: positiveOr(config.consumeTimeoutMs, DEFAULT_CONFIG.consumeTimeoutMs),
    confirmTimeoutMs: positiveOr(config.confirmTimeoutMs, DEFAULT_CONFIG.confirmTimeoutMs),
    captureBodySize: config.captureBodySize ?? DEFAULT_CONFIG.captureBodySize,
    inject: { chainHeader: chainHeaderEnabled(config.chainHeader) },
  };
}

function positiveOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
