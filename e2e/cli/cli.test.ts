import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, startChild } from '../support/child';
import { endpoints } from '../support/endpoints';
import { waitFor } from '../support/wait';

// `mqtrail` against real RabbitMQ, Kafka and Jaeger: three instrumented services exchange orders
// and payments with known faults injected, then the built command (bin/mqtrail.js, as a user runs
// it) must count exactly those faults and draw the chains. Service and broker names are unique
// per run, so traces of earlier runs in the same Jaeger do not count.

const bin = path.join(__dirname, '../../packages/cli/bin/mqtrail.js');
const fixture = (name: string) => path.join(__dirname, 'fixtures', name);

const run = randomUUID().slice(0, 8);
const services = { api: `cli-api-${run}`, billing: `cli-billing-${run}`, shipping: `cli-shipping-${run}` };
const names = {
  exchange: `cli-orders-${run}`,
  ordersQueue: `cli-orders-${run}`,
  dlq: `cli-orders-dlq-${run}`,
  lostQueue: `cli-lost-${run}`,
  payments: `cli-payments-${run}`,
  group: `cli-shipping-${run}`,
};
/** What the publisher injects (see fixtures/publisher.cjs). */
const injected = { ok: 3, reject: 2, lost: 3 };
// api: ok + requeue + 2 dup + reject + lost + unroutable; billing: one payment per ok order.
const SENDS = injected.ok + 1 + 2 + injected.reject + injected.lost + 1 + injected.ok;
// billing: ok + requeue twice + 2 dup + reject, then the dead-lettered ones again; shipping: payments.
const ORDER_DELIVERIES = injected.ok + 2 + 2 + injected.reject;
const DELIVERIES = ORDER_DELIVERIES + injected.reject + injected.ok;

interface Published {
  traces: Record<'ok' | 'requeue' | 'dup' | 'reject' | 'lost' | 'unroutable', string[]>;
  messageIds: Record<string, string[]>;
}

let published: Published;
let publishedAt = 0;
/** Children still running when a set-up step fails are stopped in afterAll. */
const children: Child[] = [];

function mqtrail(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, MQTRAIL_JAEGER_URL: endpoints.jaegerQuery, NO_COLOR: '1' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const serviceArgs = Object.values(services).flatMap((service) => ['--service', service]);

async function auditJson(...extra: string[]) {
  const result = await mqtrail(['audit', '--since', '5m', '--grace', '2s', ...serviceArgs, '--json', ...extra]);
  if (result.stdout === '') throw new Error(`mqtrail audit printed nothing (exit ${result.code}): ${result.stderr}`);
  return { code: result.code, report: JSON.parse(result.stdout) };
}

beforeAll(async () => {
  if (!existsSync(path.join(__dirname, '../../packages/cli/dist/cli.js'))) {
    throw new Error('packages/cli is not built: run `npm run build` (or tsc -b packages/cli/tsconfig.json) first');
  }
  const connection = await amqp.connect(endpoints.amqpUrl);
  const channel = await connection.createChannel();
  await channel.assertExchange(names.exchange, 'direct', { durable: false, autoDelete: false });
  await channel.assertQueue(names.dlq, { durable: false });
  await channel.assertQueue(names.ordersQueue, {
    durable: false,
    deadLetterExchange: '',
    deadLetterRoutingKey: names.dlq,
  });
  await channel.bindQueue(names.ordersQueue, names.exchange, 'order');
  await channel.assertQueue(names.lostQueue, { durable: false });
  await connection.close();

  const admin = new Kafka({
    clientId: 'cli-e2e',
    brokers: [endpoints.kafkaBroker],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: names.payments, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();

  const common = { AMQP_URL: endpoints.amqpUrl, KAFKA_BROKER: endpoints.kafkaBroker, PAYMENTS: names.payments };
  const billing = startChild(fixture('billing.cjs'), {
    serviceName: services.billing,
    instrumentations: ['amqplib', 'kafkajs'],
    env: {
      ...common,
      ORDERS_QUEUE: names.ordersQueue,
      DLQ: names.dlq,
      EXPECT_ORDERS: String(ORDER_DELIVERIES),
      EXPECT_DLQ: String(injected.reject),
    },
  });
  const shipping = startChild(fixture('shipping.cjs'), {
    serviceName: services.shipping,
    instrumentations: ['kafkajs'],
    env: { ...common, GROUP: names.group, EXPECT: String(injected.ok) },
  });
  children.push(billing, shipping);
  await Promise.all([billing.firstMessage, shipping.firstMessage]);

  const publisher = startChild(fixture('publisher.cjs'), {
    serviceName: services.api,
    instrumentations: ['amqplib'],
    env: {
      ...common,
      RUN: run,
      ORDERS_EXCHANGE: names.exchange,
      LOST_QUEUE: names.lostQueue,
      OK: String(injected.ok),
      REJECT: String(injected.reject),
      LOST: String(injected.lost),
    },
  });
  children.push(publisher);
  published = (await publisher.result) as unknown as Published;
  publishedAt = Date.now();
  await Promise.all([billing.result, shipping.result]);

  // Every span has been exported (each child shuts its SDK down before exiting); wait until Jaeger
  // serves them all, then until the lost messages are past the 2 s grace period.
  await waitFor(
    `all ${SENDS} sends and ${DELIVERIES} consumes of run ${run} in Jaeger`,
    async () => {
      const { report } = await auditJson('--fail-on', 'none');
      return report.scanned.messages === SENDS && report.scanned.deliveries === DELIVERIES ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, publishedAt + 2_500 - Date.now())));
}, 120_000);

afterAll(async () => {
  for (const child of children) {
    child.result.catch(() => {}); // its failure was already reported by the step that awaited it
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
  }
  const connection = await amqp.connect(endpoints.amqpUrl).catch(() => undefined);
  if (connection !== undefined) {
    const channel = await connection.createChannel();
    for (const queue of [names.ordersQueue, names.dlq, names.lostQueue])
      await channel.deleteQueue(queue).catch(() => {});
    await channel.deleteExchange(names.exchange).catch(() => {});
    await connection.close().catch(() => {});
  }
  const admin = new Kafka({
    clientId: 'cli-e2e',
    brokers: [endpoints.kafkaBroker],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [names.payments] }).catch(() => {});
  await admin.disconnect();
});

describe('mqtrail audit against real brokers and Jaeger', () => {
  it('counts exactly the injected faults and fails the run with exit code 2', async () => {
    const { code, report } = await auditJson();
    expect(report.scanned).toMatchObject({ messages: SENDS, deliveries: DELIVERIES });
    expect(report.counts).toEqual({
      lost: injected.lost,
      // The second of two messages sharing a message id. The requeued message is redelivered work,
      // reported as redelivered, not as a duplicate.
      duplicate: 1,
      redelivered: 1,
      'dead-letter': injected.reject,
      failed: 0,
      slow: 0,
      returned: 1,
    });
    expect(code).toBe(2);
    expect(report.pass).toBe(false);

    const lostTraces = report.findings.lost.map((finding: { traceId: string }) => finding.traceId).sort();
    expect(lostTraces).toEqual([...published.traces.lost].sort());
    for (const finding of report.findings.lost) {
      expect(finding).toMatchObject({ service: services.api, destination: names.lostQueue });
    }
    expect(report.findings.returned[0]).toMatchObject({
      traceId: published.traces.unroutable[0],
      destination: names.exchange,
    });

    const duplicates = report.findings.duplicate;
    const byTrace = (traceId: string | undefined) => duplicates.find((d: { traceId: string }) => d.traceId === traceId);
    expect(byTrace(published.traces.requeue[0])).toBeUndefined();
    expect(byTrace(published.traces.dup[1])).toMatchObject({ messageId: `dup-${run}`, times: 1, reasons: ['flagged'] });
    expect(report.findings.redelivered[0]).toMatchObject({
      traceId: published.traces.requeue[0],
      consumer: services.billing,
    });

    for (const finding of report.findings['dead-letter']) {
      expect(published.traces.reject).toContain(finding.traceId);
      expect(finding).toMatchObject({
        rejectedBy: { service: services.billing, destination: names.ordersQueue, outcome: 'drop' },
        arrivedAt: { service: services.billing, destination: names.dlq },
      });
    }
  });

  it('follows --fail-on and --destination, and prints a text report', async () => {
    expect((await auditJson('--fail-on', 'none')).code).toBe(0);
    expect(
      (await auditJson('--fail-on', `lost:${injected.lost},duplicate:1,dead-letter:${injected.reject}`)).code,
    ).toBe(0);
    const paymentsOnly = await auditJson('--destination', names.payments);
    expect(paymentsOnly.report.scanned).toMatchObject({ messages: injected.ok, deliveries: injected.ok });
    expect(paymentsOnly.code).toBe(0);

    const text = await mqtrail(['audit', '--since', '5m', '--grace', '2s', ...serviceArgs]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(`  lost              ${injected.lost}  sent, never consumed within the grace period`);
    expect(text.stdout).toContain(
      `FAIL: lost ${injected.lost} > 0, duplicate 1 > 0, dead-letter ${injected.reject} > 0`,
    );
  });
});

describe('mqtrail trace and find against real Jaeger', () => {
  it('draws an order chain across three services and both brokers', async () => {
    const traceId = published.traces.ok[0] ?? '';
    const { code, stdout, stderr } = await mqtrail(['trace', traceId]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^trace ${traceId} · .* · 2 messages · 2 hops · 3 services · took `));
    expect(lines[1]).toMatch(
      new RegExp(
        `^● send ${names.exchange} · ${services.api} · rabbitmq ${names.exchange} · routing key order · message id ok-${run}-`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^└─▶ process ${names.ordersQueue} · ${services.billing} · waited .+ · processed .+ · ack(  ◀ slowest)?$`,
      ),
    );
    expect(lines[3]).toMatch(
      new RegExp(
        `^  └─● send ${names.payments} · ${services.billing} · kafka ${names.payments} \\[0\\] · key ok-${run}-`,
      ),
    );
    expect(lines[4]).toMatch(
      new RegExp(
        `^    └─▶ process ${names.payments} · ${services.shipping} · group ${names.group} · partition 0 offset \\d+ · waited .+ · processed [^·]+$`,
      ),
    );
    expect(lines.filter((line) => line.endsWith('◀ slowest'))).toHaveLength(1);

    const json = JSON.parse((await mqtrail(['trace', '--json', traceId])).stdout);
    expect(json.services).toEqual([services.api, services.billing, services.shipping].sort());
    expect(json.hops.map((hop: { system: string }) => hop.system)).toEqual(['rabbitmq', 'kafka']);
    expect(json.hops.every((hop: { waitingUs: number }) => hop.waitingUs >= 0)).toBe(true);
  });

  it('shows a dead-lettered message dropped by one queue and arriving at its dead-letter queue', async () => {
    const { stdout } = await mqtrail(['trace', published.traces.reject[0] ?? '']);
    expect(stdout).toMatch(new RegExp(`process ${names.ordersQueue} · ${services.billing} · .* · drop  ✗ failed`));
    expect(stdout).toMatch(
      new RegExp(
        `process ${names.dlq} · ${services.billing} · .* · ack · arrived dead-lettered \\(from ${names.ordersQueue}, rejected\\)`,
      ),
    );
  });

  it('finds the traces of a message by message id and correlation id', async () => {
    const dup = await mqtrail(['find', '--message-id', `dup-${run}`, '--service', services.api, '--since', '10m']);
    expect(dup.code).toBe(0);
    const found = dup.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('  ')[0]);
    expect(found.sort()).toEqual([...published.traces.dup].sort());

    const json = JSON.parse(
      (await mqtrail(['find', '--message-id', published.messageIds.ok?.[0] ?? '', '--json'])).stdout,
    );
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({
      traceId: published.traces.ok[0],
      services: expect.arrayContaining(Object.values(services)),
    });
  });

  it('says which trace it could not find', async () => {
    const unknown = `${'0'.repeat(31)}1`;
    expect(await mqtrail(['trace', unknown])).toEqual({
      code: 1,
      stdout: '',
      stderr: `mqtrail: trace ${unknown} is not in Jaeger (unknown id, or older than Jaeger keeps traces)\n`,
    });
  });
});
