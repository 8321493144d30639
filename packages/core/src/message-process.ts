import { type Context, context, type Span, type Tracer } from '@opentelemetry/api';
import type { ChainFacts } from './chain-header';
import { type ConsumeSpanOptions, consumedChain, consumeParent, startConsumeSpanIn } from './consume';
import type { DuplicateDetector } from './duplicate-detector';
import type { MessagingMetrics, MetricLabels } from './metrics';
import { processContext } from './process-context';
import { Attr, type SettleOutcome } from './semconv';
import { recordSettlement, recordSpanError } from './span-outcome';

export interface ProcessDeps {
  tracer: Tracer;
  metrics: MessagingMetrics;
  duplicates: DuplicateDetector;
}

export interface BeginProcessOptions<S = unknown> extends ConsumeSpanOptions<S> {
  /** Bounded metric labels for this message (system, operation, destination, group, partition). */
  labels: MetricLabels;
  /** Consumer scope for duplicate detection (consumer group, queue). */
  duplicateScope: string;
  /**
   * What makes this message the same message when it comes again: its creation span id
   * (`creationIdentity`), an application's message id, a Kafka offset. The instrumentation picks
   * the one that covers every way its broker repeats a message; one lookup per message, not one
   * per candidate. Undefined: the message is not checked.
   */
  identity: string | undefined;
  /** The broker said it delivered this message before. */
  redelivered?: boolean;
}

export interface ProcessEnd {
  outcome?: SettleOutcome;
  error?: unknown;
}

/**
 * One consumed message from delivery to settlement: the span, and every metric that belongs to
 * it, recorded at the right moment. Both instrumentations use this so a `process` span means the
 * same thing whichever broker it came from. `end` is idempotent: the first call wins, because a
 * message can be settled, time out and see its channel close, in any order.
 */
export class MessageProcess<S = unknown> {
  readonly span: Span;
  /** Context to run the user's handler in. */
  readonly context: Context;
  readonly chain: ChainFacts;
  readonly duplicate: boolean;
  private readonly labels: MetricLabels;
  private readonly metrics: MessagingMetrics;
  /** `performance.now()` when processing started, for the process duration. */
  private readonly processStart: number;
  private readonly duplicates: DuplicateDetector;
  private readonly duplicateScope: string;
  /** The identity, if this delivery was the first to record it: forgotten again if it does not complete. */
  private readonly firstSeen: string | undefined;
  private readonly latencyKnown: boolean;
  private ended = false;

  constructor(deps: ProcessDeps, options: BeginProcessOptions<S>) {
    const now = options.now ?? Date.now();
    const chain = consumedChain(options.message, options.fallbackSentAt, now);
    const parent = consumeParent(options, options.ambient ?? context.active());
    const span = startConsumeSpanIn(deps.tracer, options, parent, chain.hops);
    this.span = span;
    // Whatever fails after the start (a throwing SDK or meter), the span must not stay open.
    try {
      this.context = processContext(parent, span, chain);
      this.chain = chain;
      this.labels = options.labels;
      this.metrics = deps.metrics;

      this.metrics.recordConsumed(this.labels);
      // A message with neither a chain header nor a broker timestamp has no known send time: record
      // nothing rather than a latency of zero.
      this.latencyKnown = options.message.chain !== undefined || options.fallbackSentAt !== undefined;
      if (this.latencyKnown) this.metrics.recordDeliveryLatency(this.labels, chain.sentAt, now);
      this.processStart = performance.now();

      this.duplicates = deps.duplicates;
      this.duplicateScope = options.duplicateScope;
      const { identity } = options;
      this.duplicate = identity !== undefined && deps.duplicates.check(options.duplicateScope, identity);
      this.firstSeen = this.duplicate ? undefined : identity;
      // Span attributes only for a span that records: the metrics count every message regardless.
      const recording = span.isRecording();
      if (this.duplicate) {
        this.metrics.recordDuplicate(this.labels);
        if (recording) span.setAttribute(Attr.DUPLICATE, true);
      }
      if (options.redelivered) {
        this.metrics.recordRedelivered(this.labels);
        if (recording) span.setAttribute(Attr.REDELIVERED, true);
      }
    } catch (error) {
      span.end();
      throw error;
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Ends the span and records duration, chain latency and the settle outcome, once. */
  end({ outcome, error }: ProcessEnd = {}): void {
    if (this.ended) return;
    this.ended = true;
    // Requeued, left unacked by a closed channel (RabbitMQ requeues it), or failed with no
    // settlement (Kafka retries the offset): the next delivery is a redelivery of unfinished
    // work, not the same message processed twice.
    if (outcome === 'requeue' || outcome === 'closed' || (outcome === undefined && error !== undefined)) {
      if (this.firstSeen !== undefined) this.duplicates.forget(this.duplicateScope, this.firstSeen);
    }
    // The span ends even when recording the outcome throws (a failing SDK or meter).
    try {
      const type = error === undefined ? undefined : recordSpanError(this.span, error);
      if (outcome !== undefined) {
        recordSettlement(this.span, outcome);
        this.metrics.recordSettled(this.labels, outcome);
      }
      this.metrics.recordProcessDuration(this.labels, this.processStart, type);
      if (this.latencyKnown) this.metrics.recordChainLatency(this.labels, this.chain.originAt);
    } finally {
      this.span.end();
    }
  }
}
