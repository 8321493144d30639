/**
 * `mqtrail audit --follow` throughput: spans per second per worker, and how 1 → 2 → 3 workers of
 * one group scale, on this machine (Kafka on the same cores). Not part of `pnpm bench`'s default
 * run (it needs Kafka and takes a few minutes); `pnpm bench` builds it, then:
 *
 *   scripts/services/ctl up kafka
 *   scripts/with-node 24 node bench/dist/audit-follow.js [--messages 50000] [--workers 1,2,3] [--partitions 6]
 *
 * What it does: writes a span topic of OTLP/JSON records (each message a send span and a consume
 * span, one in ten consumed by a links-mode consumer in a trace of its own), then for each worker
 * count starts that many `mqtrail audit --follow` processes (the built bin, a fresh group) and
 * times them through the backlog: stage 1 from its first to its last committed span (read from
 * the workers' own `mqtrail_audit_spans_consumed_total`), and the whole pipeline until stage 2's
 * group has committed every fact. It also times both stages in-process on one core, without
 * Kafka (the CPU ceiling), and records each worker's peak RSS. Writes
 * bench/results/audit-follow-<date>.json and prints a Markdown table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { describeMachine } from './machine';

const REPO = resolve(__dirname, '../..');
const BIN = join(REPO, 'packages/cli/bin/mqtrail.js');
const RESULTS = join(REPO, 'bench/results');
const BROKER = process.env.MQTRAIL_BENCH_KAFKA ?? '127.0.0.1:9092';
const METRICS_BASE_PORT = 19_470;

interface CliLibrary {
  spansToFacts(
    records: { key: null; value: string }[],
    inScope: () => boolean,
    options: { chains: boolean },
  ): { records: { key: string; value: string | null; partition?: number }[] };
  JoinTask: new (
    partition: number,
    options: { graceUs: number },
    sources: number,
  ) => { facts(records: { key: string; value: string | null }[]): void; take(): { records: unknown[] } };
}

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const nanos = (ms: number) => `${Math.round(ms * 1_000)}000`;

function span(
  service: string,
  traceId: string,
  spanId: string,
  kind: 4 | 5,
  at: number,
  attributes: object,
  extra = {},
) {
  return {
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [
      {
        scope: { name: '@mqtrail/instrumentation-kafkajs' },
        spans: [
          {
            traceId,
            spanId,
            name: kind === 4 ? 'send orders' : 'process orders',
            kind,
            startTimeUnixNano: nanos(at),
            endTimeUnixNano: nanos(at + 2),
            attributes: Object.entries(attributes).map(([key, value]) => ({
              key,
              value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: String(value) },
            })),
            status: {},
            ...extra,
          },
        ],
      },
    ],
  };
}

/** One message's records: its send and its consume, in one trace or (links mode) two. */
function messageRecords(index: number, at: number): { traceId: string; value: string }[] {
  const traceId = hex(16);
  const sendId = hex(8);
  const common = {
    'messaging.system': 'kafka',
    'messaging.destination.name': 'orders',
    'messaging.destination.partition.id': '3',
  };
  const send = span('checkout', traceId, sendId, 4, at, {
    ...common,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    'messaging.message.id': `order-${index}`,
    'messaging.kafka.message.key': `customer-${index % 977}`,
  });
  const linksMode = index % 10 === 0;
  const consumeTrace = linksMode ? hex(16) : traceId;
  const consume = span(
    'billing',
    consumeTrace,
    hex(8),
    5,
    at + 5,
    {
      ...common,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': 'billing',
      'messaging.kafka.offset': index,
      'mqtrail.settle.outcome': 'commit',
    },
    { links: [{ traceId, spanId: sendId }], ...(linksMode ? {} : { parentSpanId: sendId }) },
  );
  if (linksMode)
    return [
      { traceId, value: JSON.stringify({ resourceSpans: [send] }) },
      { traceId: consumeTrace, value: JSON.stringify({ resourceSpans: [consume] }) },
    ];
  return [{ traceId, value: JSON.stringify({ resourceSpans: [send, consume] }) }];
}

async function scrapeSpans(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1_000) })).text();
    const line = text.split('\n').find((l) => l.startsWith('mqtrail_audit_spans_consumed_total'));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  } catch {
    return 0;
  }
}

function peakRssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kib / 1024);
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const messages = Number(option('messages', '50000'));
  const workerCounts = option('workers', '1,2,3').split(',').map(Number);
  const partitions = Number(option('partitions', '6'));
  const kafka = new Kafka({ clientId: 'bench-audit-follow', brokers: [BROKER], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const run = randomUUID().slice(0, 8);
  const topic = `bench-follow-spans-${run}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });

  // The span topic: as the collector writes it, keyed (partitioned) by trace id.
  const started = Date.now() - 60_000;
  const records = Array.from({ length: messages }, (_, i) => messageRecords(i, started + i / 10)).flat();
  const spans = messages * 2;
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < records.length; i += 2_000) {
    await producer.send({
      topic,
      messages: records.slice(i, i + 2_000).map((r) => ({ key: r.traceId, value: r.value })),
    });
  }
  await producer.disconnect();
  const bytes = records.reduce((sum, r) => sum + r.value.length, 0);
  process.stdout.write(
    `span topic ${topic}: ${records.length} records, ${spans} spans, ${Math.round(bytes / 2 ** 20)} MiB\n`,
  );

  // Both stages in-process, no Kafka: the CPU ceiling of one core.
  const cli = require(join(REPO, 'packages/cli/dist/index.js')) as CliLibrary;
  const inputs = records.map((r) => ({ key: null, value: r.value }));
  let t = performance.now();
  const facts: { key: string; value: string | null }[] = [];
  for (let i = 0; i < inputs.length; i += 500)
    for (const fact of cli.spansToFacts(inputs.slice(i, i + 500), () => true, { chains: false }).records)
      facts.push(fact);
  const stage1Ms = performance.now() - t;
  const join_ = new cli.JoinTask(0, { graceUs: 30_000_000 }, 1);
  t = performance.now();
  for (let i = 0; i < facts.length; i += 500) {
    join_.facts(facts.slice(i, i + 500));
    join_.take();
  }
  const stage2Ms = performance.now() - t;
  const inProcess = {
    stage1SpansPerSecond: Math.round(spans / (stage1Ms / 1_000)),
    stage2FactsPerSecond: Math.round(facts.length / (stage2Ms / 1_000)),
    stage2SpansPerSecond: Math.round(spans / (stage2Ms / 1_000)),
  };
  process.stdout.write(`in process, one core: ${JSON.stringify(inProcess)}\n`);

  const runs: Record<string, unknown>[] = [];
  for (const count of workerCounts) {
    const group = `bench-follow-${run}-${count}w`;
    const children: ChildProcess[] = [];
    const spawnedAt = performance.now();
    for (let i = 0; i < count; i++) {
      children.push(
        spawn(
          process.execPath,
          [
            BIN,
            'audit',
            '--follow',
            '--kafka-brokers',
            BROKER,
            '--spans-topic',
            topic,
            '--group',
            group,
            '--findings-topic',
            `${group}-findings`,
            '--grace',
            '30s',
            '--metrics-port',
            String(METRICS_BASE_PORT + i),
          ],
          { stdio: ['ignore', 'ignore', 'ignore'] },
        ),
      );
    }
    let first: { at: number; spans: number } | undefined;
    let stage1Done: number | undefined;
    const deadline = performance.now() + 10 * 60_000;
    while (performance.now() < deadline) {
      const counts = await Promise.all(children.map((_, i) => scrapeSpans(METRICS_BASE_PORT + i)));
      const total = counts.reduce((a, b) => a + b, 0);
      const now = performance.now();
      if (first === undefined && total > 0) first = { at: now, spans: total };
      if (total >= spans) {
        stage1Done = now;
        break;
      }
      await sleep(200);
    }
    // Stage 2 is done when its group has committed every fact (the facts topic's end).
    let stage2Done: number | undefined;
    while (stage1Done !== undefined && performance.now() < deadline) {
      const ends = await admin.fetchTopicOffsets(`${group}.facts`);
      const [committed] = await admin.fetchOffsets({ groupId: `${group}.join`, topics: [`${group}.facts`] });
      const behind = ends.some((end) => {
        const offset = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        return BigInt(offset) < BigInt(end.high) - 1n; // the last record may be a commit marker
      });
      if (!behind) {
        stage2Done = performance.now();
        break;
      }
      await sleep(200);
    }
    const rss = children.map((child) => peakRssMiB(child.pid));
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((r) => child.once('exit', r))));
    const stage1Seconds = first && stage1Done ? (stage1Done - first.at) / 1_000 : Number.NaN;
    const result = {
      workers: count,
      spansPerSecond: Math.round((spans - (first?.spans ?? 0)) / stage1Seconds),
      spansPerSecondPerWorker: Math.round((spans - (first?.spans ?? 0)) / stage1Seconds / count),
      stage1Seconds: Math.round(stage1Seconds * 10) / 10,
      endToEndSeconds: stage2Done ? Math.round(((stage2Done - spawnedAt) / 1_000) * 10) / 10 : Number.NaN,
      peakRssMiB: rss,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    runs.push(result);
    await admin
      .deleteTopics({ topics: [`${group}.facts`, `${group}.join-changelog`, `${group}-findings`] })
      .catch(() => {});
  }
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();

  const report = {
    date: new Date().toISOString(),
    machine: describeMachine(),
    messages,
    spans,
    partitions,
    inProcess,
    runs,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `audit-follow-${report.date.slice(0, 10)}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const base = (runs[0]?.spansPerSecond as number) ?? Number.NaN;
  const lines = [
    `| workers | spans/s | spans/s per worker | scaling | stage 1 s | end to end s | peak RSS MiB |`,
    `| ------: | ------: | -----------------: | ------: | --------: | -----------: | ------------ |`,
    ...runs.map(
      (r) =>
        `| ${r.workers} | ${r.spansPerSecond} | ${r.spansPerSecondPerWorker} | ${((r.spansPerSecond as number) / base).toFixed(2)}× | ${r.stage1Seconds} | ${r.endToEndSeconds} | ${(r.peakRssMiB as number[]).join(', ')} |`,
    ),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
