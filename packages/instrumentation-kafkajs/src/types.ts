import type { Span } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { KafkaMessage, Message } from 'kafkajs';

/** What a producer hook is told about the message whose `send` span it may enrich. */
export interface KafkaProducerHookInfo {
  topic: string;
  /** The caller's message, as passed to `send`. Read it; changing it changes the caller's object. */
  message: Readonly<Message>;
}

/** Runs after a message's `send` span started and before its context is injected into the headers. */
export type KafkaProducerHook = (span: Span, info: KafkaProducerHookInfo) => void;

/** What a consumer hook is told about the message whose `process` span it may enrich. */
export interface KafkaConsumerHookInfo {
  topic: string;
  partition: number;
  /** The message as kafkajs delivered it. */
  message: Readonly<KafkaMessage>;
}

/** Runs after a message's `process` span started and before the application's handler. */
export type KafkaConsumerHook = (span: Span, info: KafkaConsumerHookInfo) => void;

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
  /** Topics (exact names or patterns) that get no spans, no metrics and no injected headers. */
  ignoreTopics?: (string | RegExp)[];
}
