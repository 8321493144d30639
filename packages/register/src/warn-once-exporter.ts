import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { MqtrailError } from './errors';
import { warn } from './warn';

/**
 * Wraps the trace exporter so an unreachable collector (Jaeger down, wrong endpoint) gives the
 * operator one clear warning instead of silence or a log line per batch. The app is unaffected
 * either way: the batch processor's queue is bounded and drops spans it cannot send. After a
 * success the warning is re-armed, so a later outage is reported again.
 */
export class WarnOnceExporter implements SpanExporter {
  private warned = false;

  constructor(
    private readonly inner: SpanExporter,
    /** Where spans go, as the operator configured it, e.g. `http://collector:4318/v1/traces over http/protobuf`. */
    private readonly endpoint: string,
    private readonly report: (error: MqtrailError) => void = warn,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.warned = false;
      } else if (!this.warned) {
        this.warned = true;
        const reason = result.error?.message ?? 'unknown error';
        this.report(
          new MqtrailError(
            'MQTRAIL_EXPORT_FAILED',
            `cannot export traces to ${this.endpoint} (${reason}). The application runs on; spans are dropped until it is reachable.`,
          ),
        );
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
