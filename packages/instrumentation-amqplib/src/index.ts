export { AmqplibInstrumentation, SUPPORTED_VERSIONS } from './instrumentation';
export {
  type AmqplibConsumeCustomAttributeFunction,
  type AmqplibConsumeEndCustomAttributeFunction,
  type AmqplibInstrumentationConfig,
  type AmqplibPublishConfirmCustomAttributeFunction,
  type AmqplibPublishCustomAttributeFunction,
  type AmqpMessage,
  type AmqpMessageFields,
  type AmqpMessageProperties,
  type AmqpPublishOptions,
  type ConsumeEndInfo,
  type ConsumeInfo,
  DEFAULT_CONFIG,
  EndOperation,
  type PublishConfirmedInfo,
  type PublishInfo,
  type ResolvedAmqplibConfig,
} from './types';
