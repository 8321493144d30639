import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { endpoints } from './support/endpoints';
import { fetchTrace, serviceOf } from './support/jaeger';
import { activeTargets, waitForSeries } from './support/prometheus';
import { waitFor } from './support/wait';

// Proves each service the suite depends on is real and reachable, before any instrumentation
// is involved: a failure here points at the environment, not at mqtrail.
describe('real services', () => {
  it('Kafka: a message produced with kafkajs is consumed back', async () => {
    const kafka = new Kafka({ clientId: 'smoke', brokers: [endpoints.kafkaBroker], logLevel: logLevel.NOTHING });
    const topic = `smoke-${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` });
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello kafka', headers: { h: 'v' } }] });

      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<{ value: string; header: string }>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) =>
            resolve({ value: String(message.value), header: String(message.headers?.h) }),
        });
      });
      await expect(received).resolves.toEqual({ value: 'hello kafka', header: 'v' });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  it('RabbitMQ: a message published with amqplib is consumed back', async () => {
    const connection = await amqp.connect(endpoints.amqpUrl);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      const received = new Promise<{ body: string; header: unknown }>((resolve) => {
        void channel.consume(queue, (message) => {
          if (message === null) return;
          channel.ack(message);
          resolve({ body: message.content.toString(), header: message.properties.headers?.h });
        });
      });
      channel.sendToQueue(queue, Buffer.from('hello rabbit'), { headers: { h: 'v' } });
      await expect(received).resolves.toEqual({ body: 'hello rabbit', header: 'v' });
    } finally {
      await connection.close();
    }
  });

  it('Jaeger: a span exported over OTLP/HTTP is read back from the query API', async () => {
    const serviceName = `smoke-${randomUUID().slice(0, 8)}`;
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      spanProcessors: [
        new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoints.otlpHttp}/v1/traces` }) }),
      ],
    });
    const span = provider.getTracer('smoke').startSpan('send smoke', { kind: SpanKind.PRODUCER });
    const { traceId, spanId } = span.spanContext();
    span.end();
    await provider.forceFlush();
    await provider.shutdown();

    const trace = await fetchTrace(traceId);
    expect(trace.spans).toHaveLength(1);
    const [stored] = trace.spans;
    expect(stored?.spanID).toBe(spanId);
    expect(stored?.operationName).toBe('send smoke');
    expect(stored && serviceOf(trace, stored)).toBe(serviceName);
  });

  it('Prometheus: scrapes an app exposing OpenTelemetry metrics and reports it up', async () => {
    const port = 9464;
    const exporter = new PrometheusExporter({ host: '127.0.0.1', port });
    const provider = new MeterProvider({ readers: [exporter] });
    const run = randomUUID().slice(0, 8);
    provider.getMeter('smoke').createCounter('mqtrail.smoke.checks').add(1, { run });
    try {
      const target = await waitFor(
        `Prometheus target 127.0.0.1:${port} up`,
        async () => {
          const targets = await activeTargets();
          return targets.find((t) => t.labels.instance === `127.0.0.1:${port}` && t.health === 'up');
        },
        { timeoutMs: 30_000 },
      );
      expect(target.labels.job).toBe('mqtrail');
      const series = await waitForSeries(`mqtrail_smoke_checks_total{run="${run}"}`);
      expect(series[0]?.value[1]).toBe('1');
    } finally {
      await provider.shutdown();
    }
  });
});
