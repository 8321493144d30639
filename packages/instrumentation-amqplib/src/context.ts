import type { DuplicateDetector, MessagingMetrics } from '@mqtrail/core';
import type { Tracer } from '@opentelemetry/api';
import type { ResolvedAmqplibConfig } from './types';

/**
 * What every wrapper needs, handed to it instead of the instrumentation instance. `tracer` and
 * `metrics` are getters: the SDK may set providers after the patches are in place.
 */
export interface AmqplibContext {
  readonly tracer: Tracer;
  readonly metrics: MessagingMetrics;
  readonly duplicates: DuplicateDetector;
  /** The configuration with defaults merged; read on every call, so `setConfig` takes effect at once. */
  config(): ResolvedAmqplibConfig;
  /** Version of the amqplib package the patched file belongs to, for hook infos. */
  readonly moduleVersion: string | undefined;
}
