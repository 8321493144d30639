import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** What the worker reports on `--metrics-port`, read when Prometheus scrapes. */
export interface FollowGauges {
  /** Open (undecided) messages in this worker's join state. */
  openMessages(): number;
  /** Age of the oldest open message, seconds (0 when none). */
  oldestOpenAgeSeconds(): number;
  /** Per stage: seconds behind the newest record of its input (0 when caught up). */
  lagSeconds(): { stage: string; seconds: number }[];
}

/**
 * The worker's metrics, served for Prometheus by the OpenTelemetry SDK (the exporter the
 * instrumented apps use too). The names are the Prometheus names the contract gives:
 *
 *   mqtrail_audit_findings_total{kind,destination}   findings written (committed)
 *   mqtrail_audit_spans_consumed_total               spans read from the span topic (committed)
 *   mqtrail_audit_open_messages                      messages waiting for a decision
 *   mqtrail_audit_oldest_open_message_age_seconds    how long the oldest of them has waited
 *   mqtrail_audit_consumer_lag_seconds{stage}        how far each stage is behind its input
 */
export class FollowMetrics {
  private readonly provider: MeterProvider;
  private readonly exporter: PrometheusExporter;
  private readonly findings;
  private readonly spans;

  constructor(port: number, host: string | undefined, gauges: FollowGauges) {
    this.exporter = new PrometheusExporter({ port, preventServerStart: true, ...(host === undefined ? {} : { host }) });
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'mqtrail-audit-follow' }),
      readers: [this.exporter],
    });
    const meter = this.provider.getMeter('@mqtrail/cli');
    this.findings = meter.createCounter('mqtrail.audit.findings', {
      description: 'Findings written to the findings topic, by kind and destination',
    });
    this.spans = meter.createCounter('mqtrail.audit.spans.consumed', {
      description: 'Spans read from the span topic and turned into facts',
    });
    meter
      .createObservableGauge('mqtrail.audit.open_messages', {
        description: 'Messages in the join state with no decision yet (within their grace period)',
      })
      .addCallback((result) => result.observe(gauges.openMessages()));
    meter
      .createObservableGauge('mqtrail.audit.oldest_open_message.age_seconds', {
        description: 'Age of the oldest message in the join state, by the wall clock',
      })
      .addCallback((result) => result.observe(gauges.oldestOpenAgeSeconds()));
    meter
      .createObservableGauge('mqtrail.audit.consumer.lag_seconds', {
        description: 'How far each stage is behind the newest record of its input topic',
      })
      .addCallback((result) => {
        for (const { stage, seconds } of gauges.lagSeconds()) result.observe(seconds, { stage });
      });
  }

  /** Binds the port; rejects when it cannot. */
  async start(): Promise<void> {
    await this.exporter.startServer();
  }

  finding(kind: string, destination: string | undefined): void {
    this.findings.add(1, { kind, destination: destination ?? '' });
  }

  spansConsumed(count: number): void {
    if (count > 0) this.spans.add(count);
  }

  async stop(): Promise<void> {
    await this.provider.shutdown().catch(() => {});
  }
}
