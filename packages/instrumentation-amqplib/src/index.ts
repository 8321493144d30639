// The producer that reports mqtrail's aggregated histograms: pass it to every metric reader (README, Metrics).
export { MqtrailMetricProducer, mqtrailMetricProducer } from '@mqtrail/core';
export { AmqplibInstrumentation, SUPPORTED_VERSIONS } from './instrumentation';
// Every name `@opentelemetry/instrumentation-amqplib` exports is exported here too, with its
// shape or a superset of it, so switching is a change of the import (see the README's migration notes).
export {
  type AmqplibConsumeCustomAttributeFunction,
  type AmqplibConsumeEndCustomAttributeFunction,
  type AmqplibInstrumentationConfig,
  type AmqplibPublishConfirmCustomAttributeFunction,
  type AmqplibPublishCustomAttributeFunction,
  type AmqplibPublishOptions,
  type AmqpMessage,
  type AmqpMessageFields,
  type AmqpMessageProperties,
  type AmqpPublishOptions,
  type CommonMessageFields,
  type ConsumeEndInfo,
  type ConsumeInfo,
  type ConsumeMessage,
  type ConsumeMessageFields,
  DEFAULT_CONFIG,
  EndOperation,
  type Message,
  type MessageFields,
  type MessageProperties,
  type PublishConfirmedInfo,
  type PublishInfo,
  type ResolvedAmqplibConfig,
} from './types';
