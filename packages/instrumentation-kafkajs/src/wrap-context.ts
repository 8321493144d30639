import { DuplicateDetector, type MessagingMetrics, type Shim } from '@mqtrail/core';
import type { Tracer } from '@opentelemetry/api';
import type { ClientInfo } from './attributes';
import { CommitTracker } from './commit-tracker';
import type { ResolvedConfig } from './config';

/**
 * What every wrapper needs, and nothing more: wrappers never see the instrumentation instance.
 * `tracer` and `metrics` are read on each use, because the SDK may hand the instrumentation a new
 * provider after the clients were patched.
 */
export interface WrapContext {
  readonly tracer: Tracer;
  readonly metrics: MessagingMetrics;
  /** The current configuration, defaults applied. */
  config(): ResolvedConfig;
  /** One per instrumentation: remembers consumed messages to count replays. */
  readonly duplicates: DuplicateDetector;
  /** One per instrumentation: turns offset commits into settled-message counts. */
  readonly commits: CommitTracker;
  /** Client id and first broker of each `Kafka` instance, recorded by the patched constructor. */
  readonly clients: WeakMap<object, ClientInfo>;
  /** Wraps methods of the objects kafkajs creates (producers, consumers, transactions). */
  readonly shim: Shim;
}

/** Where the context reads what may change over the instrumentation's life. */
export interface WrapContextSources {
  tracer: () => Tracer;
  metrics: () => MessagingMetrics;
  config: () => ResolvedConfig;
  shim: Shim;
}

export function createWrapContext(sources: WrapContextSources): WrapContext {
  return {
    get tracer() {
      return sources.tracer();
    },
    get metrics() {
      return sources.metrics();
    },
    config: sources.config,
    duplicates: new DuplicateDetector(),
    commits: new CommitTracker(),
    clients: new WeakMap(),
    shim: sources.shim,
  };
}
