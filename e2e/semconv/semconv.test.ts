import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { RenamedAttr, type RenamedAttribute, type SemconvMode, semconvNames } from '@mqtrail/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints } from '../support/endpoints';
import { fetchTrace, type JaegerSpan, tagOf } from '../support/jaeger';
import { leaseMetricsPort, waitForOwnMetrics } from '../support/metrics-port';
import { opsQueries, queryResultText, variableQueries } from '../support/ops-queries';
import { query, waitForSeries } from '../support/prometheus';

// OTEL_SEMCONV_STABILITY_OPT_IN end to end: the same application, started with @mqtrail/register
// as a user starts it, once per mode. Jaeger must show the span attributes, and Prometheus the
// metric labels, under the names of that mode; the CLI must read the spans, and every dashboard
// query must return the application's data, whichever names it wrote.

const run = randomUUID().slice(0, 8);
const fixture = path.join(__dirname, 'fixtures', 'round-trip.cjs');
const cli = path.join(__dirname, '../../packages/cli/bin/mqtrail.js');

/** Each mode with an opt-in value as a person might type it. */
const MODES: [SemconvMode, string | undefined][] = [
  ['old', undefined],
  ['new', ' Messaging '],
  ['dup', 'http,messaging/dup'],
];

interface App {
  service: string;
  /** Start of every queue, topic and group name the app uses. */
  prefix: string;
  child: ChildProcess;
  /** Hands the metrics port back. */
  release: () => void;
  /** What the app printed once its round trips were done and its metrics were served. */
  ready: Promise<Ready>;
}

interface Ready {
  queue: string;
  topic: string;
  group: string;
  amqpTraceId: string;
  kafkaTraceId: string;
  offset: string;
  failedSend?: string;
}

const apps = new Map<SemconvMode, App>();
const ready = new Map<SemconvMode, Ready>();

async function startApp(mode: SemconvMode, optIn: string | undefined): Promise<App> {
  const { port, release } = await leaseMetricsPort();
  const service = `semconv-${mode}-${run}`;
  const prefix = `semconv-${mode}-${run}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoints.otlpHttp,
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
    OTEL_BSP_SCHEDULE_DELAY: '200',
    MQTRAIL_E2E_PREFIX: prefix,
  };
  delete env.OTEL_SEMCONV_STABILITY_OPT_IN;
  if (optIn !== undefined) env.OTEL_SEMCONV_STABILITY_OPT_IN = optIn;
  const child = spawn(process.execPath, ['--require', '@mqtrail/register', fixture], {
    cwd: __dirname,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  const readyLine = new Promise<Ready>((resolve, reject) => {
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const line = buffered.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as Ready);
    });
    child.once('exit', (code, signal) => reject(new Error(`${service} exited (${code ?? signal}):\n${stderr}`)));
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${service} not ready after 60 s:\n${stderr}`)), 60_000).unref(),
  );
  return {
    service,
    prefix,
    child,
    release,
    ready: Promise.race([readyLine, timeout]).then(async (value) => {
      await waitForOwnMetrics(port, value.topic);
      return value;
    }),
  };
}

function mqtrail(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, MQTRAIL_JAEGER_URL: endpoints.jaegerQuery, NO_COLOR: '1' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

async function mqtrailJson(args: string[]): Promise<unknown> {
  const result = await mqtrail([...args, '--json']);
  if (result.code !== 0 || result.stdout === '')
    throw new Error(`mqtrail ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A trace once all of its spans (send and process) are in Jaeger. */
async function messageTrace(traceId: string): Promise<{ send: JaegerSpan; consume: JaegerSpan }> {
  const trace = await fetchTrace(traceId, 2);
  const byType = (type: string) => trace.spans.find((span) => tagOf(span, 'messaging.operation.type') === type);
  const send = byType('send');
  const consume = byType('process');
  if (send === undefined || consume === undefined) throw new Error(`trace ${traceId} has no send and process span`);
  return { send, consume };
}

/**
 * What a span must carry of the attributes 1.45 renamed: each under every name the mode writes,
 * and not at all under the names it does not.
 */
function expectRenamed(span: JaegerSpan, mode: SemconvMode, expected: Partial<Record<RenamedAttribute, unknown>>) {
  const names = semconvNames(mode);
  for (const [key, value] of Object.entries(expected) as [RenamedAttribute, unknown][]) {
    const written = names[key];
    for (const name of [RenamedAttr[key].old, RenamedAttr[key].new]) {
      const where = `${mode}: ${span.operationName} ${name}`;
      if (written.includes(name)) expect(tagOf(span, name), where).toEqual(value);
      else expect(tagOf(span, name), where).toBeUndefined();
    }
  }
}

beforeAll(async () => {
  if (!existsSync(path.join(__dirname, '../../packages/cli/dist/cli.js')))
    throw new Error('packages are not built: run `scripts/pnpm run build` first');
  for (const [mode, optIn] of MODES) apps.set(mode, await startApp(mode, optIn));
  const started = await Promise.all([...apps].map(async ([mode, app]) => [mode, await app.ready] as const));
  for (const [mode, value] of started) ready.set(mode, value);
  // A rate needs two scrapes of a series. Each app recorded everything before it printed ready, so
  // once its consumed counters have two samples, so has every series of that app.
  for (const { queue, topic } of ready.values()) {
    await waitForSeries(`rate(messaging_client_consumed_messages_total{messaging_destination_name="${queue}"}[1m])`);
    await waitForSeries(`rate(messaging_client_consumed_messages_total{messaging_destination_name="${topic}"}[1m])`);
  }
}, 180_000);

afterAll(async () => {
  for (const app of apps.values()) {
    if (app.child.exitCode === null && app.child.signalCode === null) {
      const exited = once(app.child, 'exit');
      app.child.kill('SIGTERM');
      await exited;
    }
    app.release();
  }
});

describe.each(MODES.map(([mode, optIn]) => [mode, JSON.stringify(optIn ?? null)] as const))(
  'OTEL_SEMCONV_STABILITY_OPT_IN mode %s (%s)',
  (mode) => {
    const app = () => {
      const found = ready.get(mode);
      if (found === undefined) throw new Error(`the ${mode} app did not start`);
      return found;
    };

    it('writes span attributes under the names of the mode, in Jaeger', async () => {
      const { queue, topic, amqpTraceId, kafkaTraceId, offset } = app();
      const amqp = await messageTrace(amqpTraceId);
      expectRenamed(amqp.send, mode, { SYSTEM: 'rabbitmq', RABBITMQ_ROUTING_KEY: queue });
      expectRenamed(amqp.consume, mode, {
        SYSTEM: 'rabbitmq',
        RABBITMQ_ROUTING_KEY: queue,
        RABBITMQ_DELIVERY_TAG: 1,
      });
      const kafka = await messageTrace(kafkaTraceId);
      expectRenamed(kafka.send, mode, { SYSTEM: 'kafka', KAFKA_MESSAGE_KEY: `${topic}-key` });
      expectRenamed(kafka.consume, mode, {
        SYSTEM: 'kafka',
        KAFKA_MESSAGE_KEY: `${topic}-key`,
        KAFKA_OFFSET: Number(offset),
      });
      // What 1.45 did not rename is the same in every mode.
      for (const span of [amqp.send, amqp.consume]) expect(tagOf(span, 'messaging.destination.name')).toBe(queue);
      expect(tagOf(kafka.consume, 'messaging.destination.partition.id')).toBe('0');
    });

    it('labels every metric series with the system under the names of the mode, in Prometheus', async () => {
      const { prefix } = apps.get(mode) as App;
      const series = await query(`{__name__=~"messaging_.+|mqtrail_.+", messaging_destination_name=~"${prefix}.*"}`);
      const metrics = new Set(series.map((sample) => sample.metric.__name__));
      for (const name of [
        'messaging_client_sent_messages_total',
        'messaging_client_consumed_messages_total',
        'messaging_client_operation_duration_count',
        'messaging_process_duration_bucket',
        'mqtrail_delivery_latency_bucket',
        'mqtrail_chain_latency_bucket',
        'mqtrail_settled_messages_total',
        'mqtrail_kafka_consumer_lag',
      ])
        expect(metrics, name).toContain(name);
      const shapes = new Set(
        series.map(({ metric }) =>
          JSON.stringify([metric.messaging_system ?? null, metric.messaging_system_name ?? null]),
        ),
      );
      const expected = {
        old: [
          ['kafka', null],
          ['rabbitmq', null],
        ],
        new: [
          [null, 'kafka'],
          [null, 'rabbitmq'],
        ],
        dup: [
          ['kafka', 'kafka'],
          ['rabbitmq', 'rabbitmq'],
        ],
      }[mode];
      expect([...shapes].sort()).toEqual(expected.map((shape) => JSON.stringify(shape)));
    });

    it('is read by the CLI: trace and find', async () => {
      const { queue, topic, group, amqpTraceId, kafkaTraceId, offset } = app();
      const service = (apps.get(mode) as App).service;
      const amqp = (await mqtrailJson(['trace', amqpTraceId])) as {
        messages: Record<string, unknown>[];
        hops: Record<string, unknown>[];
      };
      expect(amqp.messages).toEqual([
        expect.objectContaining({ system: 'rabbitmq', destination: queue, routingKey: queue, service }),
      ]);
      expect(amqp.hops).toEqual([
        expect.objectContaining({ system: 'rabbitmq', destination: queue, outcome: 'ack', failed: false }),
      ]);
      const kafka = (await mqtrailJson(['trace', kafkaTraceId])) as typeof amqp;
      expect(kafka.messages).toEqual([expect.objectContaining({ system: 'kafka', key: `${topic}-key` })]);
      expect(kafka.hops).toEqual([
        expect.objectContaining({ system: 'kafka', consumerGroup: group, partition: '0', offset }),
      ]);

      const found = async (args: string[]) =>
        ((await mqtrailJson(['find', ...args, '--service', service, '--since', '10m'])) as { traceId: string }[]).map(
          (trace) => trace.traceId,
        );
      expect(await found(['--routing-key', queue])).toEqual([amqpTraceId]);
      expect(await found(['--topic', topic, '--partition', '0', '--offset', offset])).toEqual([kafkaTraceId]);
    });

    it('returns data for every dashboard query, filtered to this application', async () => {
      const { prefix } = apps.get(mode) as App;
      const empty: string[] = [];
      const unlabelled: string[] = [];
      const panels = opsQueries({ semconv: mode, values: { destination: `${prefix}.*` } }).filter(
        (q) => q.kind === 'panel' && q.metrics.some((name) => /^(messaging|mqtrail)_/.test(name)),
      );
      expect(panels.length).toBeGreaterThan(20);
      for (const panel of panels) {
        const result = await query(panel.expr);
        if (result.length === 0) empty.push(`${panel.where}: ${panel.expr}`);
        // A panel grouped by the system shows it in its legend: series on the 1.45 names get it too.
        if (/by \([^)]*\bmessaging_system\b/.test(panel.rawExpr) && result.some((s) => !s.metric.messaging_system))
          unlabelled.push(panel.where);
      }
      expect(empty).toEqual([]);
      expect(unlabelled).toEqual([]);
    });

    it("lists this application's systems and destinations in the dashboard variables", async () => {
      const { queue, topic } = app();
      const options = async (name: string, values: Record<string, string> = {}) => {
        const variable = variableQueries({ values }).find((v) => v.name === name);
        if (variable === undefined) throw new Error(`no query variable ${name}`);
        const texts = (await query(variable.expr)).map(queryResultText);
        return { texts, values: texts.map((text) => variable.regex.exec(text)?.[1]) };
      };
      // The system variable lists both systems, also from series labelled only one way.
      const systems = await options('system');
      const shape = (system: string) =>
        ({
          old: `{messaging_system="${system}"}`,
          new: `{messaging_system_name="${system}"}`,
          dup: `{messaging_system="${system}",messaging_system_name="${system}"}`,
        })[mode];
      for (const system of ['kafka', 'rabbitmq']) {
        const line = systems.texts.find((text) => text.startsWith(shape(system)));
        expect(line, `${mode}: ${shape(system)} in ${systems.texts.join(' | ')}`).toBeDefined();
        expect(systems.values[systems.texts.indexOf(line ?? '')]).toBe(system);
      }
      // The destination variable, for one selected system, lists its destinations of this app only.
      const kafkaDestinations = (await options('destination', { system: 'kafka' })).values;
      expect(kafkaDestinations).toContain(topic);
      expect(kafkaDestinations).not.toContain(queue);
      expect((await options('destination', { system: 'rabbitmq' })).values).toContain(queue);
    });

    it("returns data for Grafana's trace-to-metrics queries from this application's process span", async () => {
      const { queue, amqpTraceId } = app();
      const { consume } = await messageTrace(amqpTraceId);
      const spanTags = Object.fromEntries(consume.tags.map((tag) => [tag.key, tag.value]));
      const queries = opsQueries({ spanTags }).filter((q) => q.kind === 'trace-to-metrics');
      expect(queries.length).toBeGreaterThan(0);
      for (const found of queries) {
        expect(found.expr).toContain(`messaging_destination_name="${queue}"`);
        expect(await query(found.expr), `${found.where}: ${found.expr}`).not.toEqual([]);
      }
    });
  },
);
