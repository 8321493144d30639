import type http from 'node:http';
import { createRequire } from 'node:module';
import { DURATION_BUCKETS, LATENCY_BUCKETS, MessagingMetrics, type MetricLabels, semconvNames } from '@mqtrail/core';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsEndpoint } from './metrics-endpoint';

/**
 * The metrics SDK the Prometheus exporter itself runs on (register has no direct dependency on it:
 * NodeSDK brings it). Only its MeterProvider is used here.
 */
const { MeterProvider } = createRequire(require.resolve('@opentelemetry/exporter-prometheus'))(
  '@opentelemetry/sdk-metrics',
) as {
  MeterProvider: new (options: {
    readers: PrometheusExporter[];
  }) => { getMeter(name: string, version: string): Meter; shutdown(): Promise<void> };
};

const SCOPE = ['@mqtrail/instrumentation-kafkajs', '0.1.0'] as const;

/** The text the exporter serves on a scrape, through its own request handler. */
function scrape(exporter: PrometheusExporter): Promise<string> {
  return new Promise((resolve) => {
    const response = {
      statusCode: 0,
      setHeader: () => response,
      end: (body: string) => resolve(body),
    };
    exporter.getMetricsRequestHandler({} as http.IncomingMessage, response as unknown as http.ServerResponse);
  });
}

/**
 * Every histogram, several label sets (partitions that share a series, an error type, a temporary
 * queue), every boundary exactly, just above it, zero and beyond the last: recorded through the
 * public methods, with the clock under the test's control.
 */
function record(metrics: MessagingMetrics, clock: { now: number }): void {
  const rabbit: MetricLabels = { system: 'rabbitmq', operation: 'process', destination: 'orders' };
  const temporary: MetricLabels = { system: 'rabbitmq', operation: 'process', destination: 'amq.gen-Xy1' };
  const kafka = [0, 1, 2].map((partition) => ({
    system: 'kafka' as const,
    operation: 'process',
    destination: 'payments',
    partition,
    consumerGroup: 'billing',
  }));
  const latencies = [0, ...LATENCY_BUCKETS, ...LATENCY_BUCKETS.map((b) => b + 0.0001), 0.0123456, 1_000];
  latencies.forEach((seconds, i) => {
    metrics.recordDeliveryLatency(kafka[i % 3] as MetricLabels, 1_700_000_000_000, 1_700_000_000_000 + seconds * 1000);
    metrics.recordChainLatency(i % 2 === 0 ? rabbit : temporary, 1_700_000_000_000, 1_700_000_000_000 + seconds * 1000);
  });
  for (const [i, seconds] of [0, ...DURATION_BUCKETS, 0.0123, 42].entries()) {
    const process = metrics.startProcess(i % 2 === 0 ? rabbit : (kafka[0] as MetricLabels));
    const operation = metrics.startOperation({ ...rabbit, operation: 'ack' });
    clock.now += seconds * 1000;
    process(i % 3 === 0 ? 'TypeError' : undefined);
    operation(i % 4 === 0 ? 'IllegalOperationError' : undefined);
  }
}

const providers: { shutdown(): Promise<void> }[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(providers.splice(0).map((provider) => provider.shutdown()));
});

describe("register's Prometheus endpoint with mqtrail's aggregated histograms", () => {
  it.each(['old', 'new', 'dup'] as const)(
    'serves byte for byte what SDK histograms serve for the same recordings (semconv %s)',
    async (mode) => {
      const clock = { now: 10_000 };
      vi.spyOn(performance, 'now').mockImplementation(() => clock.now);

      // The SDK's own histograms: a plain PrometheusExporter, no producer.
      const plain = new PrometheusExporter({ preventServerStart: true });
      const sdkProvider = new MeterProvider({ readers: [plain] });
      // Register's endpoint: mqtrail's producer on it, so the histograms are aggregated by mqtrail.
      const endpoint = new MetricsEndpoint({ host: '127.0.0.1', port: 0 });
      const ownProvider = new MeterProvider({ readers: [endpoint] });
      providers.push(sdkProvider, ownProvider);

      const sdk = new MessagingMetrics(sdkProvider.getMeter(...SCOPE), semconvNames(mode));
      const own = new MessagingMetrics(ownProvider.getMeter(...SCOPE), semconvNames(mode));
      record(sdk, clock);
      clock.now = 10_000;
      record(own, clock);

      const expected = await scrape(plain);
      expect(expected).toContain('mqtrail_delivery_latency_bucket{');
      expect(expected).toContain('messaging_client_operation_duration_bucket{');
      expect(await scrape(endpoint)).toBe(expected);

      // And the endpoint's histograms did come from the producer: with a counter recorded, its
      // collection has the SDK's scope entry (the counter) and the producer's (the histograms).
      own.recordConsumed({ system: 'kafka', operation: 'process', destination: 'payments' });
      sdk.recordConsumed({ system: 'kafka', operation: 'process', destination: 'payments' });
      const entries = async (exporter: PrometheusExporter) =>
        (await exporter.collect()).resourceMetrics.scopeMetrics.map(({ metrics }) =>
          metrics.map((metric) => metric.descriptor.name),
        );
      expect(await entries(plain)).toHaveLength(1);
      expect(await entries(endpoint)).toEqual([
        ['messaging.client.consumed.messages'],
        [
          'messaging.client.operation.duration',
          'messaging.process.duration',
          'mqtrail.delivery.latency',
          'mqtrail.chain.latency',
        ],
      ]);
    },
  );
});
