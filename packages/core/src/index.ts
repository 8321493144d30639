export {
  CHAIN_HEADER,
  CHAIN_HEADER_VERSION,
  type ChainFacts,
  decodeChainHeader,
  encodeChainHeader,
  getChainFacts,
  MAX_CHAIN_HEADER_LENGTH,
  nextChainFacts,
  setChainFacts,
} from './chain-header';
export { CHAIN_HEADER_ENV, chainHeaderEnabled } from './chain-header-option';
export {
  type ConsumeSpan,
  type ConsumeSpanOptions,
  creationIdentity,
  type ExtractedMessage,
  extractMessage,
  startConsumeSpan,
} from './consume';
export {
  destinationLabel,
  isTemporaryDestination,
  type SpanTarget,
  SpanTargets,
  spanName,
  spanTarget,
  TEMPORARY_DESTINATION,
} from './destination';
export { DuplicateDetector, type DuplicateDetectorOptions } from './duplicate-detector';
export { errorType } from './error-type';
export { callInContext, reportFailure, runHook, safely } from './guard';
export {
  copyHeaders,
  findHeader,
  headerGetter,
  headerSetter,
  headerText,
  MAX_HEADER_KEYS_SCANNED,
  MAX_HEADER_VALUE_BYTES,
  type MessageHeaders,
} from './header-carrier';
export { type BeginProcessOptions, MessageProcess, type ProcessDeps, type ProcessEnd } from './message-process';
export {
  type InstrumentationScopeLike,
  type MqtrailCollectionResult,
  MqtrailMetricProducer,
  type MqtrailScopeMetrics,
  mqtrailMetricProducer,
} from './metric-producer';
export {
  DURATION_BUCKETS,
  LATENCY_BUCKETS,
  MessagingMetrics,
  type MetricLabels,
  metricAttributes,
} from './metrics';
export { claimClient } from './ownership';
export {
  type AnyFunction,
  hasForeignWrapper,
  isWrapped,
  type MethodPatch,
  markInstalled,
  type Shim,
  unwrapAll,
  unwrapped,
  type Wrapped,
  wrapAll,
} from './patch';
export { type InjectOptions, injectHeaders, type SendSpan, startSendSpan } from './produce';
export { redactUrl } from './redact';
export { assertSdkGeneration, type InstrumentationBaseClass } from './sdk-generation';
export {
  Attr,
  CHILD_OF_LINK,
  type MessagingSystem,
  MessagingSystems,
  MetricName,
  type OperationType,
  RenamedAttr,
  type RenamedAttribute,
  type SettleOutcome,
} from './semconv';
export {
  parseSemconvMode,
  SEMCONV_MODE,
  SEMCONV_NAMES,
  SEMCONV_STABILITY_OPT_IN,
  type SemconvMode,
  type SemconvNames,
  semconvNames,
  setRenamed,
} from './semconv-stability';
export { recordSettlement, recordSpanError, underUnsampledParent } from './span-outcome';
