import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseMetricsPort, waitForOwnMetrics } from '../support/metrics-port';
import { waitForSeries } from '../support/prometheus';
import { waitFor } from '../support/wait';
import { consume, request, send } from './otlp';
import {
  assertBuilt,
  createTopic,
  deleteTopics,
  kafka,
  sleep,
  startWorker,
  stopWorker,
  TopicReader,
  type Worker,
  waitStarted,
} from './support';

// `audit --follow` across crashes and rebalances, deterministic: the test writes the span topic
// itself (OTLP/JSON records, as the collector's kafka exporter would), with a known set of
// faults in every wave, while three workers of one group follow it; one is SIGKILLed mid-run and
// a fourth joins. The findings topic, read read_committed, must hold every injected fault once.

const run = randomUUID().slice(0, 8);
const topics = { spans: `follow-spans-${run}`, findings: `follow-findings-${run}` };
const group = `follow-${run}`;
const destination = `orders-${run}`;
const WAVES = 6;
const OK_PER_WAVE = 20;
const GRACE = '4s';

const workers: Worker[] = [];
const releases: (() => void)[] = [];
const reader = new TopicReader(topics.findings);
const expected = new Set<string>();
let spansWritten = 0;

/**
 * A worker; `metrics` ones serve Prometheus on a scraped port. Only two do: the six scraped ports
 * are shared with every other suite and the demo.
 */
async function worker(name: string, metrics = false): Promise<Worker> {
  const lease = metrics ? await leaseMetricsPort() : undefined;
  if (lease !== undefined) releases.push(lease.release);
  const started = startWorker(name, [
    '--spans-topic',
    topics.spans,
    '--findings-topic',
    topics.findings,
    '--group',
    group,
    '--grace',
    GRACE,
    '--slow',
    '2s',
    '--partitions',
    '6',
    ...(lease === undefined ? [] : ['--metrics-port', String(lease.port)]),
  ]);
  workers.push(started);
  if (lease !== undefined) void started.exit.then(lease.release);
  return started;
}

/** One wave of messages: healthy ones in every consumer style, and one of each fault. */
function wave(index: number): { records: string[]; faults: string[] } {
  const now = Date.now();
  const api = `api-${run}`;
  const billing = `billing-${run}`;
  const records: string[] = [];
  const faults: string[] = [];
  for (let i = 0; i < OK_PER_WAVE; i++) {
    const sent = send(api, destination, now + i, { messageId: `ok-${index}-${i}` });
    if (i % 4 === 3) {
      // A links-mode consumer: its span is in a trace of its own, so likely another partition.
      records.push(request([sent]), request([consume(billing, destination, [sent], now + i + 5, { links: 'links' })]));
    } else records.push(request([sent, consume(billing, destination, [sent], now + i + 5, { outcome: 'ack' })]));
  }
  // A kafkajs eachBatch span: one span, a link per message, in its own trace.
  const batch = [0, 1, 2].map((i) => send(api, destination, now + 30 + i));
  records.push(...batch.map((sent) => request([sent])));
  records.push(request([consume(`shipping-${run}`, destination, batch, now + 40, { batch: true })]));

  const lost = send(api, destination, now + 50, { messageId: `lost-${index}` });
  records.push(request([lost]));
  faults.push(`lost:${lost.traceId}:${lost.spanId}`);

  const duplicate = send(api, destination, now + 51);
  records.push(
    request([
      duplicate,
      consume(billing, destination, [duplicate], now + 55, { outcome: 'ack' }),
      consume(billing, destination, [duplicate], now + 70, { outcome: 'ack' }),
    ]),
  );
  faults.push(`duplicate:${duplicate.traceId}:${duplicate.spanId}:${billing}@${destination}`);

  const redelivered = send(api, destination, now + 52);
  records.push(request([redelivered, consume(billing, destination, [redelivered], now + 60, { redelivered: true })]));
  faults.push(`redelivered:${redelivered.traceId}:${redelivered.spanId}`);

  const dropped = send(api, destination, now + 53);
  records.push(request([dropped, consume(billing, destination, [dropped], now + 58, { outcome: 'drop' })]));
  faults.push(`dead-letter:${dropped.traceId}:${dropped.spanId}`);

  const returned = send(api, destination, now + 54, { returned: true });
  records.push(request([returned]));
  faults.push(`returned:${returned.traceId}:${returned.spanId}`);

  const failed = send(api, destination, now + 55);
  records.push(request([failed, consume(billing, destination, [failed], now + 59, { error: 'TypeError' })]));
  faults.push(`failed:${failed.traceId}:${failed.spanId}`);

  const slow = send(api, destination, now + 56);
  records.push(request([slow, consume(billing, destination, [slow], now + 3_056, { outcome: 'ack' })]));
  faults.push(`slow:${slow.traceId}`);
  return { records, faults };
}

beforeAll(async () => {
  assertBuilt();
  await createTopic(topics.spans, 6);
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => stopWorker(w)));
  for (const release of releases) release();
  await reader.stop();
  await deleteTopics([topics.spans, topics.findings, `${group}.facts`, `${group}.join-changelog`]);
}, 60_000);

describe('audit --follow across SIGKILL and rebalances', () => {
  it('writes every injected fault to the findings topic exactly once, as seen read_committed', async () => {
    const [a, b, c] = [await worker('a', true), await worker('b'), await worker('c')];
    await Promise.all([a, b, c].map((w) => waitStarted(w)));
    await reader.start(); // the workers created the findings topic

    const producer = kafka.producer();
    await producer.connect();
    let d: Worker | undefined;
    for (let index = 0; index < WAVES; index++) {
      const { records, faults } = wave(index);
      for (const fault of faults) expected.add(fault);
      await producer.send({
        topic: topics.spans,
        messages: records.map((value, i) => ({ key: `${index}-${i}`, value })),
      });
      spansWritten += records.length;
      if (index === 1) {
        // Mid-run: one worker dies without a chance to commit or leave its groups.
        b.child.kill('SIGKILL');
      }
      if (index === 3) d = await worker('d', true);
      await sleep(1_500);
    }
    await producer.disconnect();
    if (d !== undefined) await waitStarted(d);

    await waitFor(
      `all ${expected.size} injected faults in ${topics.findings}`,
      async () => {
        const keys = new Set(reader.records.map((record) => record.key));
        return [...expected].every((key) => keys.has(key)) ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch((error: Error) => {
      const keys = new Set(reader.records.map((record) => record.key));
      const missing = [...expected].filter((key) => !keys.has(key));
      throw new Error(
        `${error.message}; missing ${missing.length}: ${missing.slice(0, 5).join(', ')}\n` +
          workers.map((w) => `--- ${w.name}\n${w.stderr().slice(-3_000)}`).join('\n'),
      );
    });
    // Anything a replay would write twice would be there by now (a grace period and a tick later).
    await sleep(6_000);

    const keys = reader.records.map((record) => record.key);
    const repeated = keys.filter((key, i) => keys.indexOf(key) !== i);
    expect(repeated).toEqual([]);
    expect(keys.sort()).toEqual([...expected].sort());
    for (const { key, value } of reader.records) {
      expect(value.key).toBe(key);
      expect(value.kind).toBe(key.split(':')[0]);
      expect(value.destination).toBe(destination);
      expect(value.service).toBe(`api-${run}`);
      if (value.kind !== 'slow') expect(key).toContain(`${value.traceId}:${value.spanId}`);
    }
    const lost = reader.records.filter((record) => record.value.kind === 'lost');
    expect(lost.map((record) => record.value.messageId).sort()).toEqual(
      Array.from({ length: WAVES }, (_, i) => `lost-${i}`).sort(),
    );

    // The live view (--json on stdout) printed only committed findings.
    const printed = new Set(workers.flatMap((w) => w.lines.map((line) => line.key)));
    for (const key of printed) expect(expected.has(key)).toBe(true);
    expect(spansWritten).toBeGreaterThan(0);
  });

  it('serves its metrics to Prometheus', async () => {
    const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    expect(live.length).toBe(3);
    for (const name of [
      `mqtrail_audit_findings_total{destination="${destination}"}`,
      'mqtrail_audit_spans_consumed_total',
      'mqtrail_audit_open_messages',
      'mqtrail_audit_oldest_open_message_age_seconds',
      'mqtrail_audit_consumer_lag_seconds{stage="join"}',
    ]) {
      await waitForSeries(name);
    }
    void waitForOwnMetrics;
  });

  it('stops cleanly on SIGTERM: exit 0, groups left', async () => {
    const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    const exits = await Promise.all(live.map((w) => stopWorker(w)));
    for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const described = await admin.describeGroups([`${group}.spans`, `${group}.join`]);
      for (const described_ of described.groups) expect(described_.members).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
