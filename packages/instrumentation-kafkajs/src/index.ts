export { traceBatchMessage } from './batch';
export { KafkaJsInstrumentation, SUPPORTED_VERSIONS } from './instrumentation';
export type {
  KafkaConsumerHook,
  KafkaConsumerHookInfo,
  KafkaJsInstrumentationConfig,
  KafkaProducerHook,
  KafkaProducerHookInfo,
} from './types';
