import type { Span } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { KafkaMessage, Message } from 'kafkajs';

/**
 * Contrib's `KafkajsMessage`: the message fields a hook written for
 * `@opentelemetry/instrumentation-kafkajs` reads. mqtrail's hooks get kafkajs's own `Message` (for
 * `send`) or `KafkaMessage` (delivered), both of which fit this shape.
 */
export interface KafkajsMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  timestamp?: string;
}

/** Contrib's `MessageInfo`: what a hook is told, the topic and the message. */
export interface MessageInfo<T = KafkajsMessage> {
  topic: string;
  message: T;
}

/**
 * Contrib's producer hook type. A function of this type is a valid `producerHook`: what mqtrail
 * passes it (`KafkaProducerHookInfo`) has every field contrib's `MessageInfo` has.
 */
export type KafkaProducerCustomAttributeFunction<T = KafkajsMessage> = (span: Span, info: MessageInfo<T>) => void;

/** Contrib's consumer hook type; a valid `consumerHook` (`KafkaConsumerHookInfo` is a superset). */
export type KafkaConsumerCustomAttributeFunction<T = KafkajsMessage> = (span: Span, info: MessageInfo<T>) => void;

/** What a producer hook is told about the message whose `send` span it may enrich. */
export interface KafkaProducerHookInfo extends MessageInfo<Readonly<Message>> {
  /** The caller's message, as passed to `send`. Read it; changing it changes the caller's object. */
  message: Readonly<Message>;
}

/** Runs after a message's `send` span started and before its context is injected into the headers. */
export type KafkaProducerHook = (span: Span, info: KafkaProducerHookInfo) => void;

/** What a consumer hook is told about the message whose `process` span it may enrich. */
export interface KafkaConsumerHookInfo extends MessageInfo<Readonly<KafkaMessage>> {
  /** Not in contrib's `MessageInfo`: the partition the message was read from. */
  partition: number;
  /** The message as kafkajs delivered it. */
  message: Readonly<KafkaMessage>;
}

/** Runs after a message's `process` span started and before the application's handler. */
export type KafkaConsumerHook = (span: Span, info: KafkaConsumerHookInfo) => void;

/**
 * Options of `KafkaJsInstrumentation`. `producerHook` and `consumerHook` are contrib's options, and
 * take hooks typed with contrib's `KafkaProducerCustomAttributeFunction` and
 * `KafkaConsumerCustomAttributeFunction`.
 */
export interface KafkaJsInstrumentationConfig extends InstrumentationConfig {
  /**
   * Make a consumed message's creation context a span link only, and keep the context kafkajs
   * delivered the message in (with its baggage) as the parent of `process` spans. Default false:
   * the creation context is the parent and a link.
   */
  useLinksForConsume?: boolean;
  /** Enriches `send` spans; runs guarded, its errors go to `diag`. */
  producerHook?: KafkaProducerHook;
  /** Enriches per-message `process` spans; runs guarded, its errors go to `diag`. */
  consumerHook?: KafkaConsumerHook;
  /** Record `messaging.kafka.message.key` on spans. Default true. */
  captureMessageKey?: boolean;
  /** Record `messaging.message.body.size` on spans. Default false. */
  captureBodySize?: boolean;
  /**
   * Add the `mqtrail` chain header (about 46 bytes per record) next to the trace context. Default
   * true, or `MQTRAIL_CHAIN_HEADER=false`. Off, only `traceparent` (and `tracestate`/`baggage` when
   * set) is added; consumers then take delivery latency from the record's timestamp, and a chain
   * of hops is not followed: chain latency covers the last hop only and the hop count stays 1.
   */
  chainHeader?: boolean;
  /** Topics (exact names or patterns) that get no spans, no metrics and no injected headers. */
  ignoreTopics?: (string | RegExp)[];
}
