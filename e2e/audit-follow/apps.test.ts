import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints } from '../support/endpoints';
import { leaseMetricsPort } from '../support/metrics-port';
import { portOpen } from '../support/port-open';
import { query, waitForSeries } from '../support/prometheus';
import { waitFor } from '../support/wait';
import {
  type App,
  assertBuilt,
  BIN,
  batchFindingKey,
  createTopic,
  deleteTopics,
  kafka,
  startApp,
  startWorker,
  stopWorker,
  TopicReader,
  type Worker,
  waitStarted,
} from './support';

// The whole layout on the real services: three instrumented services (@mqtrail/register) export
// their spans to the collector, which writes them to Kafka (`otlp_spans`); three `audit --follow`
// workers of one group judge them while one is SIGKILLed and another joins; Jaeger's ingester
// stores the same spans, so the batch `mqtrail audit` over Jaeger must find the same findings.

const COLLECTOR = process.env.MQTRAIL_E2E_COLLECTOR_OTLP_HTTP ?? 'http://127.0.0.1:4328';
const SPANS_TOPIC = 'otlp_spans';
const run = randomUUID().slice(0, 8);
const services = { api: `follow-api-${run}`, billing: `follow-billing-${run}`, shipping: `follow-shipping-${run}` };
const names = {
  exchange: `follow-orders-${run}`,
  orders: `follow-orders-${run}`,
  dlq: `follow-orders-dlq-${run}`,
  lost: `follow-lost-${run}`,
  payments: `follow-payments-${run}`,
  shippingGroup: `follow-shipping-${run}`,
  group: `follow-apps-${run}`,
  findings: `follow-apps-findings-${run}`,
};
const ROUNDS = 3;
const OK = 4;
/** Per round: ok, requeue twice, dup twice, reject, slow. */
const ORDER_DELIVERIES = ROUNDS * (OK + 2 + 2 + 1 + 1);
const GRACE = '5s';
const SLOW = '4s';
const SLOW_MS = 4_500;

const workers: Worker[] = [];
const apps: App[] = [];
const reader = new TopicReader(names.findings);
let published: { traces: Record<string, string[]> };
let startedAt = 0;
let endedAt = 0;

function collectorUp(): Promise<boolean> {
  const url = new URL(COLLECTOR);
  return portOpen(url.hostname, Number(url.port));
}

/**
 * A worker; `metrics` ones serve Prometheus on a scraped port. The one to be killed does not: the
 * six scraped ports are shared with every other suite and the demo.
 */
async function worker(name: string, metrics = false): Promise<Worker> {
  const lease = metrics ? await leaseMetricsPort() : undefined;
  const started = startWorker(name, [
    '--spans-topic',
    SPANS_TOPIC,
    '--findings-topic',
    names.findings,
    '--group',
    names.group,
    '--grace',
    GRACE,
    '--slow',
    SLOW,
    ...(lease === undefined ? [] : ['--metrics-port', String(lease.port)]),
    ...Object.values(services).flatMap((service) => ['--service', service]),
  ]);
  if (lease !== undefined) void started.exit.then(lease.release);
  workers.push(started);
  return started;
}

function mqtrail(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, MQTRAIL_JAEGER_URL: endpoints.jaegerQuery, NO_COLOR: '1' }, maxBuffer: 50_000_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  assertBuilt();
  if (!(await collectorUp()))
    throw new Error(
      `the collector (OTLP → Kafka ${SPANS_TOPIC}) is not reachable at ${COLLECTOR}: start it with \`scripts/services/ctl up\``,
    );
  const connection = await amqp.connect(endpoints.amqpUrl);
  const channel = await connection.createChannel();
  await channel.assertExchange(names.exchange, 'direct', { durable: false });
  await channel.assertQueue(names.dlq, { durable: false });
  await channel.assertQueue(names.orders, { durable: false, deadLetterExchange: '', deadLetterRoutingKey: names.dlq });
  await channel.bindQueue(names.orders, names.exchange, 'order');
  await channel.assertQueue(names.lost, { durable: false });
  await connection.close();
  await createTopic(names.payments, 1);
}, 60_000);

afterAll(async () => {
  for (const app of apps) if (app.child.exitCode === null) app.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => stopWorker(w)));
  await reader.stop();
  const connection = await amqp.connect(endpoints.amqpUrl).catch(() => undefined);
  if (connection !== undefined) {
    const channel = await connection.createChannel();
    for (const queue of [names.orders, names.dlq, names.lost]) await channel.deleteQueue(queue).catch(() => {});
    await channel.deleteExchange(names.exchange).catch(() => {});
    await connection.close().catch(() => {});
  }
  await deleteTopics([names.payments, names.findings, `${names.group}.facts`, `${names.group}.join-changelog`]);
}, 60_000);

describe('audit --follow on the span pipeline, with instrumented apps', () => {
  it('writes exactly the injected faults once each, through a SIGKILL and a joining worker', async () => {
    const [a, b, c] = [await worker('a', true), await worker('b'), await worker('c', true)];
    await Promise.all([a, b, c].map((w) => waitStarted(w, 60_000)));
    await reader.start();

    const common = { AMQP_URL: endpoints.amqpUrl, KAFKA_BROKER: endpoints.kafkaBroker, PAYMENTS: names.payments };
    const billing = startApp('billing.cjs', services.billing, COLLECTOR, {
      ...common,
      ORDERS_QUEUE: names.orders,
      DLQ: names.dlq,
      EXPECT_ORDERS: String(ORDER_DELIVERIES),
      EXPECT_DLQ: String(ROUNDS),
      SLOW_MS: String(SLOW_MS),
    });
    const shipping = startApp('shipping.cjs', services.shipping, COLLECTOR, {
      ...common,
      GROUP: names.shippingGroup,
      EXPECT: String(ROUNDS * OK),
    });
    apps.push(billing, shipping);
    await Promise.all([billing.line((l) => l.ready === true), shipping.line((l) => l.ready === true)]);

    startedAt = Date.now();
    const api = startApp('api.cjs', services.api, COLLECTOR, {
      ...common,
      RUN: run,
      ORDERS_EXCHANGE: names.exchange,
      LOST_QUEUE: names.lost,
      ROUNDS: String(ROUNDS),
      OK: String(OK),
      ROUND_GAP_MS: '3000',
    });
    apps.push(api);
    await api.line((l) => l.round === 0);
    b.child.kill('SIGKILL');
    await api.line((l) => l.round === 1);
    const d = await worker('d', true);
    published = (await api.line((l) => l.traces !== undefined)) as typeof published;
    await Promise.all([billing.line((l) => l.handled !== undefined), shipping.line((l) => l.received !== undefined)]);
    await Promise.all(apps.map((app) => app.exit));
    endedAt = Date.now();
    await waitStarted(d, 60_000);

    const expectedTraces: Record<string, string[]> = {
      lost: published.traces.lost ?? [],
      returned: published.traces.unroutable ?? [],
      redelivered: published.traces.requeue ?? [],
      'dead-letter': published.traces.reject ?? [],
      slow: published.traces.slow ?? [],
    };
    const expectedCount = Object.values(expectedTraces).reduce((sum, list) => sum + list.length, 0) + ROUNDS;
    const ours = () => reader.records.filter((record) => record.value.service !== undefined);
    await waitFor(
      `${expectedCount} findings in ${names.findings}`,
      async () => (ours().length >= expectedCount ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}; got ${JSON.stringify(ours().map((r) => r.key))}\n` +
          workers.map((w) => `--- ${w.name}\n${w.stderr().slice(-2_000)}`).join('\n'),
      );
    });
    // A repeat written by a replay would be in by now.
    await new Promise((resolve) => setTimeout(resolve, 6_000));

    const records = reader.records;
    const keys = records.map((record) => record.key);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
    const byKind = (kind: string) => records.filter((record) => record.value.kind === kind);
    for (const [kind, traces] of Object.entries(expectedTraces)) {
      expect(
        byKind(kind)
          .map((record) => record.value.traceId)
          .sort(),
        kind,
      ).toEqual([...traces].sort());
    }
    const duplicates = byKind('duplicate');
    expect(duplicates).toHaveLength(ROUNDS);
    for (const { value } of duplicates) {
      expect(published.traces.dup).toContain(value.traceId);
      expect(value.messageId).toMatch(new RegExp(`^dup-${run}-\\d$`));
    }
    expect(byKind('failed')).toEqual([]);
    expect(records).toHaveLength(expectedCount);
    for (const { value } of byKind('lost')) {
      expect(value).toMatchObject({ service: services.api, destination: names.lost });
      expect(value.messageId).toMatch(new RegExp(`^lost-${run}-`));
    }
  });

  it('agrees with the batch audit over Jaeger on the same window', async () => {
    if (startedAt === 0) throw new Error('the apps did not run (see the first test)');
    const serviceArgs = Object.values(services).flatMap((service) => ['--service', service]);
    const since = `${Math.ceil((Date.now() - startedAt) / 1_000) + 30}s`;
    const batch = await waitFor(
      'the batch audit to see every span the apps sent',
      async () => {
        const result = await mqtrail([
          'audit',
          '--since',
          since,
          '--grace',
          GRACE,
          '--slow',
          SLOW,
          ...serviceArgs,
          '--json',
        ]);
        if (result.stdout === '') throw new Error(result.stderr);
        const report = JSON.parse(result.stdout);
        return report.scanned.deliveries >= ORDER_DELIVERIES + ROUNDS + ROUNDS * OK ? report : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const batchKeys = Object.values(batch.findings as Record<string, Record<string, unknown>[]>)
      .flat()
      .map(batchFindingKey)
      .sort();
    expect(reader.records.map((record) => record.key).sort()).toEqual(batchKeys);
    expect(endedAt).toBeGreaterThan(startedAt);
  });

  it('serves its metrics to Prometheus', async () => {
    // Each finding is counted by the worker that wrote it; every live one serves its metrics.
    await waitForSeries(`mqtrail_audit_findings_total{destination=~"follow-.*-${run}"}`);
    for (const name of [
      'mqtrail_audit_spans_consumed_total',
      'mqtrail_audit_open_messages',
      'mqtrail_audit_oldest_open_message_age_seconds',
      'mqtrail_audit_consumer_lag_seconds',
    ])
      await waitForSeries(name);
    // The SIGKILLed worker's counts died with it; the live workers' are at most the topic's.
    const sum = await query(`sum(mqtrail_audit_findings_total{destination=~"follow-.*-${run}"})`);
    expect(Number(sum[0]?.value[1])).toBeGreaterThan(0);
    expect(Number(sum[0]?.value[1])).toBeLessThanOrEqual(reader.records.length);
    void kafka;
  });
});
