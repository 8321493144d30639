import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { MqtrailError } from './errors';
import { warn } from './warn';

/** What one outage has cost so far: the batches the collector never got. */
interface Outage {
  since: number;
  batches: number;
  spans: number;
}

/**
 * Wraps the trace exporter so an unreachable collector (Jaeger down, wrong endpoint) is reported
 * once when it starts and once when it ends, instead of silence (OpenTelemetry's own diagnostics
 * are off unless OTEL_LOG_LEVEL is set) or a log line per failed batch (when it is). The app is
 * unaffected either way: the batch processor's queue is bounded and drops spans it cannot send.
 *
 * Only results are watched: every call, result and error passes through unchanged, and nothing
 * here holds a timer or a handle, so the process exits exactly as it would without the wrapper.
 */
export class ExportHealthExporter implements SpanExporter {
  private outage: Outage | undefined;

  constructor(
    private readonly inner: SpanExporter,
    /** Where spans go, as the operator configured it, e.g. `http://collector:4318/v1/traces over http/protobuf`. */
    private readonly endpoint: string,
    private readonly report: (error: MqtrailError) => void = warn,
    private readonly now: () => number = Date.now,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      try {
        this.observe(result, spans.length);
      } catch {
        // Reporting is a courtesy: a failure here must not keep the batch processor from its result.
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

  private observe(result: ExportResult, spans: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.outage !== undefined) this.report(this.recovered(this.outage));
      this.outage = undefined;
      return;
    }
    if (this.outage === undefined) {
      this.outage = { since: this.now(), batches: 0, spans: 0 };
      this.report(this.failing(result.error));
    }
    // A failed batch is dropped by the batch processor, which never retries it.
    this.outage.batches += 1;
    this.outage.spans += spans;
  }

  private failing(error: Error | undefined): MqtrailError {
    return new MqtrailError(
      'MQTRAIL_EXPORT_FAILED',
      `cannot export traces to ${this.endpoint} (${describe(error)}). The application runs on; spans are dropped until it is reachable.`,
    );
  }

  private recovered({ since, batches, spans }: Outage): MqtrailError {
    const seconds = Math.round((this.now() - since) / 1000);
    return new MqtrailError(
      'MQTRAIL_EXPORT_RECOVERED',
      `traces reach ${this.endpoint} again after ${seconds} s; during the outage ${batches} ` +
        `${batches === 1 ? 'batch' : 'batches'} (${spans} spans) failed to export and were dropped ` +
        '(spans the batch processor turned away while its queue was full come on top).',
    );
  }
}

/**
 * The error in a few words. Connection errors to a host with several addresses (`localhost`: ::1
 * and 127.0.0.1) are AggregateErrors with an empty message; their code still says what happened.
 */
function describe(error: Error | undefined): string {
  if (error === undefined) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  return error.message || (typeof code === 'string' ? code : error.name);
}
