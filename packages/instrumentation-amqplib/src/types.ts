import type { SettleOutcome } from '@mqtrail/core';
import type { Span } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';

/**
 * The amqplib shapes mqtrail reads, declared here rather than imported from `@types/amqplib`
 * (amqplib 2.x ships its own, 0.10 has none), so this package's types never depend on which
 * amqplib, if any, the application installed.
 */
export interface AmqpMessageFields {
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
  consumerTag?: string;
  messageCount?: number;
}

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
  fields: AmqpMessageFields;
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

/**
 * How mqtrail learned that a consumed message is done with. The values are those of the
 * OpenTelemetry contrib amqplib instrumentation's `EndOperation`, so a `consumeEndHook` written
 * for it keeps working.
 */
export const EndOperation = {
  AutoAck: 'auto ack',
  Ack: 'ack',
  AckAll: 'ackAll',
  Reject: 'reject',
  Nack: 'nack',
  NackAll: 'nackAll',
  ChannelClosed: 'channel closed',
  ChannelError: 'channel error',
  InstrumentationTimeout: 'instrumentation timeout',
} as const;
export type EndOperation = (typeof EndOperation)[keyof typeof EndOperation];

export interface PublishInfo {
  /** Version of the amqplib package that was patched. */
  moduleVersion: string | undefined;
  exchange: string;
  routingKey: string;
  content: Buffer;
  /** A copy of the caller's options, without the propagation headers (they are added after the hook). */
  options?: AmqpPublishOptions;
  isConfirmChannel: boolean;
}

export interface PublishConfirmedInfo extends PublishInfo {
  /**
   * `null` when the broker acked (as amqplib reports it); else why it did not confirm: a nack, the
   * channel closing, or mqtrail's confirm timeout.
   */
  confirmError?: unknown;
}

export interface ConsumeInfo {
  moduleVersion: string | undefined;
  msg: AmqpMessage;
  /** Queue given to `consume` or `get`. */
  queue: string;
}

export interface ConsumeEndInfo {
  moduleVersion: string | undefined;
  msg: AmqpMessage;
  /** True for nack/reject, false for ack and auto-ack, null when the message was never settled. */
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
}

/** The configuration after defaults: what every wrapper reads. */
export interface ResolvedAmqplibConfig extends AmqplibInstrumentationConfig {
  useLinksForConsume: boolean;
  consumeTimeoutMs: number;
  confirmTimeoutMs: number;
  captureBodySize: boolean;
}

export const DEFAULT_CONFIG = {
  useLinksForConsume: false,
  // Contrib's default, so a span left unsettled ends (as `timeout`, ERROR) when it did there.
  consumeTimeoutMs: 60_000,
  confirmTimeoutMs: 60_000,
  captureBodySize: false,
} as const satisfies Partial<ResolvedAmqplibConfig>;

/** The one place defaults are merged; a timeout that is not a positive number falls back to its default. */
export function resolveConfig(config: AmqplibInstrumentationConfig = {}): ResolvedAmqplibConfig {
  return {
    ...config,
    useLinksForConsume: config.useLinksForConsume ?? DEFAULT_CONFIG.useLinksForConsume,
    consumeTimeoutMs: positiveOr(config.consumeTimeoutMs, DEFAULT_CONFIG.consumeTimeoutMs),
    confirmTimeoutMs: positiveOr(config.confirmTimeoutMs, DEFAULT_CONFIG.confirmTimeoutMs),
    captureBodySize: config.captureBodySize ?? DEFAULT_CONFIG.captureBodySize,
  };
}

function positiveOr(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
