import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { endpoints } from '../../support/endpoints';
import { fetchTrace, type JaegerSpan, type JaegerTrace, serviceOf, tagOf } from '../../support/jaeger';
import { leaseMetricsPort } from '../../support/metrics-port';
import { type PromSample, query } from '../../support/prometheus';
import { waitFor } from '../../support/wait';
import { type AppExit, AppProcess } from './app-process';
import { createTopic, deleteQueue, deleteTopic } from './brokers';
import { assertInstalled, type InstalledApp } from './npm';

export type System = 'rabbitmq' | 'kafka';
export const SYSTEMS: System[] = ['rabbitmq', 'kafka'];

export const SCOPE: Record<System, string> = {
  rabbitmq: '@mqtrail/instrumentation-amqplib',
  kafka: '@mqtrail/instrumentation-kafkajs',
};

/** What the consumer reports per message: its id and every header it arrived with. */
export interface Received {
  id: string;
  headers: Record<string, string[]>;
}

export interface PairOptions {
  app: InstalledApp;
  /** Short name of the scenario, in queue, topic and service names. */
  label: string;
  /** Node arguments ahead of the entry script: the app's way of starting OpenTelemetry. */
  nodeArgs: string[];
  entries: { producer: string; consumer: string };
  messages: number;
  env?: Record<string, string>;
}

/**
 * One producer process and one consumer process of an installed app, each with its own service
 * name and its own metrics port (one Prometheus scrapes), exchanging `messages` messages over a
 * fresh RabbitMQ queue and a fresh Kafka topic. Both stay up after the exchange, so their metrics
 * can be read from Prometheus, until `stop()`.
 */
export class PairRun {
  readonly id = randomUUID().slice(0, 8);
  readonly destination: Record<System, string>;
  readonly group: string;
  readonly services: { producer: string; consumer: string };
  /** Metrics port of each process, leased just before it starts (other runs lease the same ports). */
  readonly ports = { producer: 0, consumer: 0 };
  producer!: AppProcess;
  consumer!: AppProcess;
  sent!: Record<System, string[]>;
  received!: Record<System, Received[]>;
  private readonly leases: { release: () => void }[] = [];
  private stopping: Promise<{ producer: AppExit; consumer: AppExit }> | undefined;

  private constructor(readonly options: PairOptions) {
    const base = `compat-${options.label}-${this.id}`;
    this.destination = { rabbitmq: `${base}-queue`, kafka: `${base}-topic` };
    this.group = `${base}-group`;
    this.services = { producer: `${base}-producer`, consumer: `${base}-consumer` };
  }

  static async start(options: PairOptions): Promise<PairRun> {
    assertInstalled(options.app);
    const run = new PairRun(options);
    try {
      await run.exchange();
    } catch (error) {
      await run.stop();
      throw error;
    }
    return run;
  }

  private async spawn(role: 'producer' | 'consumer'): Promise<AppProcess> {
    const { app, nodeArgs, entries, messages, env } = this.options;
    const lease = await leaseMetricsPort();
    this.leases.push(lease);
    this.ports[role] = lease.port;
    const port = String(lease.port);
    return new AppProcess(`${this.options.label} ${role}`, app.dir, [...nodeArgs, entries[role]], {
      AMQP_URL: endpoints.amqpUrl,
      KAFKA_BROKER: endpoints.kafkaBroker,
      QUEUE: this.destination.rabbitmq,
      TOPIC: this.destination.kafka,
      GROUP: this.group,
      MESSAGES: String(messages),
      OTEL_SERVICE_NAME: this.services[role],
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoints.otlpHttp,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      // The app's own PrometheusExporter reads METRICS_PORT; @mqtrail/register the standard variables.
      METRICS_PORT: port,
      OTEL_EXPORTER_PROMETHEUS_PORT: port,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      ...env,
    });
  }

  private async exchange(): Promise<void> {
    await createTopic(this.destination.kafka);
    this.consumer = await this.spawn('consumer');
    await this.consumer.waitFor('ready');
    this.producer = await this.spawn('producer');
    this.sent = await this.producer.waitFor<Record<System, string[]>>('sent');
    this.received = await this.consumer.waitFor<Record<System, Received[]>>('received');
  }

  /** Closes both apps (they flush their telemetry and exit) and removes the queue and topic. Once. */
  stop(): Promise<{ producer: AppExit; consumer: AppExit }> {
    this.stopping ??= (async () => {
      const none: AppExit = { code: null, signal: null };
      const [producer, consumer] = await Promise.all([this.producer?.stop() ?? none, this.consumer?.stop() ?? none]);
      for (const lease of this.leases) lease.release();
      await Promise.allSettled([deleteQueue(this.destination.rabbitmq), deleteTopic(this.destination.kafka)]);
      return { producer, consumer };
    })();
    return this.stopping;
  }
}

/** Trace and span id of the one `traceparent` a message carried; throws unless there is exactly one. */
export function traceparentOf(message: Received): { traceId: string; spanId: string } {
  const values = message.headers.traceparent ?? [];
  const match = values.length === 1 ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$/.exec(values[0] ?? '') : null;
  if (!match) throw new Error(`message ${message.id} arrived with traceparent ${JSON.stringify(values)}`);
  return { traceId: match[1] as string, spanId: match[2] as string };
}

/** The trace once it has `minSpans` spans and a second later, so that late duplicates show too. */
export async function settledTrace(traceId: string, minSpans: number): Promise<JaegerTrace> {
  await fetchTrace(traceId, minSpans);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return fetchTrace(traceId, minSpans);
}

export interface SpanSummary {
  name: string;
  scope: unknown;
  service: string | undefined;
  spanId: string;
  message: unknown;
  childOf: string[];
}

function summarize(trace: JaegerTrace, span: JaegerSpan, system: System): SpanSummary {
  return {
    name: span.operationName,
    scope: tagOf(span, 'otel.scope.name') ?? tagOf(span, 'otel.library.name'),
    service: serviceOf(trace, span),
    spanId: span.spanID,
    message: tagOf(span, system === 'rabbitmq' ? 'messaging.message.id' : 'messaging.kafka.message.key'),
    childOf: span.references.filter((ref) => ref.refType === 'CHILD_OF').map((ref) => ref.spanID),
  };
}

export interface MessageTraceSummary {
  id: string;
  traceparents: string[];
  producer: SpanSummary[];
  consumer: SpanSummary[];
  /** Names of the trace's other spans (not PRODUCER or CONSUMER), e.g. a network span. */
  other: string[];
}

/** What Jaeger holds for one message: its trace's producer and consumer spans. */
export async function messageTrace(system: System, message: Received): Promise<MessageTraceSummary> {
  const { traceId } = traceparentOf(message);
  const trace = await settledTrace(traceId, 2);
  const ofKind = (kind: string) =>
    trace.spans.filter((span) => tagOf(span, 'span.kind') === kind).map((span) => summarize(trace, span, system));
  return {
    id: message.id,
    traceparents: message.headers.traceparent ?? [],
    producer: ofKind('producer'),
    consumer: ofKind('consumer'),
    other: trace.spans
      .filter((span) => !['producer', 'consumer'].includes(String(tagOf(span, 'span.kind'))))
      .map((span) => `${span.operationName} (${tagOf(span, 'otel.scope.name')})`),
  };
}

/** What a trace per message must look like: one mqtrail send span, one mqtrail process span CHILD_OF it. */
export function expectedMessageTrace(run: PairRun, system: System, message: Received): MessageTraceSummary {
  const { spanId } = traceparentOf(message);
  const destination = run.destination[system];
  return {
    id: message.id,
    traceparents: message.headers.traceparent ?? [],
    producer: [
      {
        name: `send ${destination}`,
        scope: SCOPE[system],
        service: run.services.producer,
        spanId,
        message: message.id,
        childOf: [],
      },
    ],
    consumer: [
      {
        name: `process ${destination}`,
        scope: SCOPE[system],
        service: run.services.consumer,
        spanId: expect.any(String) as unknown as string,
        message: message.id,
        childOf: [spanId],
      },
    ],
    other: [],
  };
}

export interface SeriesSummary {
  instance: string | undefined;
  job: string | undefined;
  scope: string | undefined;
  value: number;
}

/**
 * The series of `metric` for a destination in Prometheus, summed per scrape target and scope,
 * once their total reached `expected` (or the wait timed out: then what there is).
 */
export async function metricByTarget(metric: string, destination: string, expected: number): Promise<SeriesSummary[]> {
  const expression = `${metric}{messaging_destination_name="${destination}"}`;
  let samples: PromSample[] = [];
  await waitFor(
    `${expression} to reach ${expected} in Prometheus`,
    async () => {
      samples = await query(expression);
      const total = samples.reduce((sum, sample) => sum + Number(sample.value[1]), 0);
      return total >= expected ? true : undefined;
    },
    { timeoutMs: 30_000 },
  ).catch(() => {});
  const byTarget = new Map<string, SeriesSummary>();
  for (const sample of samples) {
    const { instance, job, otel_scope_name: scope } = sample.metric;
    const key = `${instance}|${job}|${scope}`;
    const summary = byTarget.get(key) ?? { instance, job, scope, value: 0 };
    summary.value += Number(sample.value[1]);
    byTarget.set(key, summary);
  }
  return [...byTarget.values()];
}

/** Which clients a process was told about in MQTRAIL_CLIENT_OWNED warnings, with how often. */
export function clientOwnedWarnings(stderr: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    if (!line.includes('[MQTRAIL_CLIENT_OWNED]')) continue;
    const client = /@opentelemetry\/instrumentation-(\w+)/.exec(line)?.[1] ?? 'unknown';
    counts[client] = (counts[client] ?? 0) + 1;
  }
  return counts;
}
