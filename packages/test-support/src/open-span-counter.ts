import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';

/** Counts spans started and ended, and keeps the open ones, to prove none is left open. */
export class OpenSpanCounter implements SpanProcessor {
  started = 0;
  ended = 0;
  readonly open = new Set<Span>();

  onStart(span: Span): void {
    this.started++;
    this.open.add(span);
  }

  onEnd(span: ReadableSpan): void {
    this.ended++;
    this.open.delete(span as Span);
  }

  /** Counts from zero again. */
  reset(): void {
    this.started = 0;
    this.ended = 0;
    this.open.clear();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
