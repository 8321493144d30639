import { chainHeaderEnabled, type InjectOptions } from '@mqtrail/core';
import type { KafkaConsumerHook, KafkaJsInstrumentationConfig, KafkaProducerHook } from './types';

/** The configuration every wrapper reads: defaults applied, topic patterns compiled. */
export interface ResolvedConfig {
  useLinksForConsume: boolean;
  producerHook: KafkaProducerHook | undefined;
  consumerHook: KafkaConsumerHook | undefined;
  captureMessageKey: boolean;
  captureBodySize: boolean;
  /**
   * How headers are written: the chain header or not (option `chainHeader`, `MQTRAIL_CHAIN_HEADER`),
   * and only the caller's own keys, since kafkajs writes `Object.keys` of a message's headers.
   */
  inject: InjectOptions;
  /** True for topics the user asked to leave alone. */
  isIgnored(topic: string): boolean;
}

/** The one place defaults are merged into the user's configuration. */
export function resolveConfig(config: KafkaJsInstrumentationConfig): ResolvedConfig {
  return {
    useLinksForConsume: config.useLinksForConsume === true,
    producerHook: typeof config.producerHook === 'function' ? config.producerHook : undefined,
    consumerHook: typeof config.consumerHook === 'function' ? config.consumerHook : undefined,
    captureMessageKey: config.captureMessageKey !== false,
    captureBodySize: config.captureBodySize === true,
    inject: { chainHeader: chainHeaderEnabled(config.chainHeader), ownKeysOnly: true },
    isIgnored: topicMatcher(config.ignoreTopics),
  };
}

function topicMatcher(patterns: unknown): (topic: string) => boolean {
  if (!Array.isArray(patterns) || patterns.length === 0) return () => false;
  const names = new Set<string>();
  const expressions: RegExp[] = [];
  for (const pattern of patterns) {
    if (typeof pattern === 'string') names.add(pattern);
    // A global or sticky RegExp keeps `lastIndex` between `test` calls and would match every
    // other call; a private copy without those flags is stateless, and the user's object untouched.
    else if (pattern instanceof RegExp)
      expressions.push(new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')));
  }
  return (topic) => names.has(topic) || expressions.some((expression) => expression.test(topic));
}
