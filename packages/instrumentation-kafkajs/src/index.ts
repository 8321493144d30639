// The producer that reports mqtrail's aggregated histograms: pass it to every metric reader (README, Metrics).
export { MqtrailMetricProducer, mqtrailMetricProducer } from '@mqtrail/core';
export { traceBatchMessage } from './batch';
export { KafkaJsInstrumentation, SUPPORTED_VERSIONS } from './instrumentation';
// Every name `@opentelemetry/instrumentation-kafkajs` exports is exported here too, with its shape
// or a superset of it, so switching is a change of the import (see the README's migration notes).
export type {
  KafkaConsumerCustomAttributeFunction,
  KafkaConsumerHook,
  KafkaConsumerHookInfo,
  KafkaJsInstrumentationConfig,
  KafkajsMessage,
  KafkaProducerCustomAttributeFunction,
  KafkaProducerHook,
  KafkaProducerHookInfo,
  MessageInfo,
} from './types';
