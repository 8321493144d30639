export {
  type AggregatorStats,
  AuditAggregator,
  type AuditOptions,
  type DeliveryRecord,
  type MessageRecord,
} from './audit/aggregator';
export {
  type ChainFact,
  type DeliveryFact,
  type Fact,
  factKey,
  type HopFact,
  type SendFact,
  spanFacts,
} from './audit/facts';
export {
  type AuditReport,
  type DeadLetterFinding,
  type DuplicateFinding,
  type FailedFinding,
  FINDING_KINDS,
  type Finding,
  type FindingKind,
  type LostFinding,
  type MessageRef,
  type RedeliveredFinding,
  type ReturnedFinding,
  type SlowFinding,
} from './audit/findings';
export { breaches, DEFAULT_FAIL_ON, type FailPolicy, type PolicyBreach, parseFailOn } from './audit/policy';
export { type RenderAuditOptions, renderAudit, renderFinding } from './audit/render';
export { findingKey, judgeChain, judgeMessage } from './audit/rules';
export { type RunAuditOptions, runAudit } from './audit/run';
export { type ScanOptions, type ScanProgress, type ScanResult, scanWindow } from './audit/scan';
export { buildChain } from './chain/build';
export { type FetchChainOptions, fetchChain } from './chain/fetch';
export type { Chain, ChainHop, ChainMessage } from './chain/model';
export { type RenderOptions, renderChain } from './chain/render';
export { summarizeChain } from './chain/summary';
export { type CliIo, main, type OutputStream } from './cli';
export { type DurationRule, parseDuration } from './duration';
export {
  ExitCode,
  InvalidArgumentError,
  JaegerResponseError,
  JaegerUnreachableError,
  KafkaUnreachableError,
  MqtrailCliError,
  type MqtrailCliErrorCode,
  TraceNotFoundError,
} from './errors';
export { type FindOptions, type FoundTrace, findMessageTraces, type MessageQuery, messageTags } from './find';
export { JoinState } from './follow/join';
export { type FindingRecord, JoinTask, spansToFacts } from './follow/tasks';
export { type FollowOptions, FollowWorker } from './follow/worker';
export { formatDuration } from './format';
export {
  DEFAULT_JAEGER_URL,
  JaegerClient,
  type JaegerClientOptions,
  normalizeJaegerUrl,
  normalizeTraceId,
  type TraceQuery,
} from './jaeger/client';
export type {
  JaegerKeyValue,
  JaegerLog,
  JaegerProcess,
  JaegerReference,
  JaegerResponse,
  JaegerSpan,
  JaegerTrace,
} from './jaeger/types';
export {
  type MessagingSpan,
  readSpan,
  readTrace,
  type SpanError,
  type SpanRef,
  type SpanRole,
} from './spans/messaging-span';
export { type OtlpTraceRequest, readOtlpRequest, readOtlpSpan } from './spans/otlp';
