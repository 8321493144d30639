/**
 * The floor under any span-per-message instrumentation: what the OpenTelemetry SDK itself costs
 * per message with the bench's set-up (src/telemetry.ts), before an instrumentation does anything
 * of its own. Each step is timed alone, in ns per call:
 *
 * - start and end one sampled CONSUMER span with a remote parent and the attributes a messaging
 *   span must carry (id generation, sampler, attribute cleaning, BatchSpanProcessor.onEnd);
 * - run a function inside that span's context (`context.with`, AsyncLocalStorage);
 * - extract a W3C `traceparent` from message headers;
 * - record one histogram point with the semconv metric attributes.
 *
 * The sum is the least a hot-path target can be measured against (see BENCHMARKS.md).
 *
 *   node bench/dist/micro/sdk-floor.js
 */
import { type Attributes, context, metrics, propagation, SpanKind, trace } from '@opentelemetry/api';
import { setUpTelemetry } from '../telemetry';

const CALLS = 200_000;
const WARMUP = 50_000;

function timeCalls(name: string, call: (i: number) => void): number {
  for (let i = 0; i < WARMUP; i++) call(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) call(i);
  const ns = Number(process.hrtime.bigint() - started) / CALLS;
  process.stdout.write(`${name.padEnd(58)} ${Math.round(ns).toLocaleString('en-US').padStart(6)} ns\n`);
  return ns;
}

async function main(): Promise<void> {
  // The `sdk` variant: the SDK and context manager, no instrumentation.
  const telemetry = setUpTelemetry('sdk', 'amqplib');
  const tracer = trace.getTracer('sdk-floor');
  const histogram = metrics.getMeter('sdk-floor').createHistogram('floor.duration', { unit: 's' });
  const headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const parent = propagation.extract(context.active(), headers);
  const spanAttributes: Attributes = {
    'messaging.system': 'rabbitmq',
    'messaging.operation.name': 'process',
    'messaging.operation.type': 'process',
    'messaging.destination.name': 'orders',
    'messaging.message.id': 'id',
    'messaging.message.body.size': 128,
    'server.address': '127.0.0.1',
    'server.port': 5672,
  };
  const metricAttributes: Attributes = {
    'messaging.system': 'rabbitmq',
    'messaging.operation.name': 'process',
    'messaging.destination.name': 'orders',
  };
  // A Kafka consumer's label set: partition and consumer group too.
  const kafkaMetricAttributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.name': 'process',
    'messaging.destination.name': 'orders',
    'messaging.destination.partition.id': '0',
    'messaging.consumer.group.name': 'shipping',
  };

  const total = [
    timeCalls('startSpan + end (CONSUMER, 8 attributes, remote parent)', () => {
      tracer.startSpan('process orders', { kind: SpanKind.CONSUMER, attributes: spanAttributes }, parent).end();
    }),
    timeCalls('context.with (AsyncLocalStorage)', () => {
      context.with(parent, () => undefined);
    }),
    timeCalls('propagation.extract (traceparent)', () => {
      propagation.extract(context.active(), headers);
    }),
    timeCalls('histogram.record (3 attributes, RabbitMQ labels)', (i) => {
      histogram.record(i / CALLS, metricAttributes);
    }),
  ].reduce((sum, ns) => sum + ns, 0);
  process.stdout.write(
    `${'sum: one span, one context, one extract, one histogram point'.padEnd(58)} ${Math.round(total).toLocaleString('en-US').padStart(6)} ns\n`,
  );
  // Not in the sum: the same point with a Kafka consumer's five labels.
  timeCalls('histogram.record (5 attributes, Kafka consumer labels)', (i) => {
    histogram.record(i / CALLS, kafkaMetricAttributes);
  });
  await telemetry.shutdown();
}

void main();
