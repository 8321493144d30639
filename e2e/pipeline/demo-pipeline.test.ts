import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints } from '../support/endpoints';
import { fetchTrace, serviceOf } from '../support/jaeger';
import { waitFor } from '../support/wait';

const REPO = path.join(__dirname, '..', '..');
const SPAN_TOPIC = 'otlp_spans';

interface Record_ {
  partition: number;
  key: string | undefined;
  value: Buffer;
  traceIds: Set<string>;
  spans: number;
}

/**
 * `pnpm demo -- --pipeline`: the shop's four services export to the collector, so every span
 * they make goes through Kafka before Jaeger shows it. Also measures what a real mqtrail span
 * weighs on the topic (docs/scale.md sizes the topic with it).
 */
describe('the shop demo through the pipeline', () => {
  const kafka = new Kafka({
    clientId: 'e2e-demo-pipeline',
    brokers: [endpoints.kafkaBroker],
    logLevel: logLevel.NOTHING,
  });
  const summaryFile = path.join(mkdtempSync(path.join(tmpdir(), 'mqtrail-demo-pipeline-')), 'summary.json');
  const records: Record_[] = [];
  let reader: Consumer | undefined;
  let output = '';
  let code: number | null = null;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(SPAN_TOPIC).finally(() => admin.disconnect());
    reader = kafka.consumer({ groupId: `e2e-demo-pipeline-${Date.now()}`, maxWaitTimeInMs: 200 });
    await reader.connect();
    await reader.subscribe({ topic: SPAN_TOPIC });
    const joined = new Promise<void>((resolve) => reader?.on(reader.events.GROUP_JOIN, () => resolve()));
    await reader.run({
      eachMessage: async ({ partition, message }) => {
        if (message.value === null) return;
        try {
          const value = JSON.parse(message.value.toString('utf8')) as {
            resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[];
          };
          const spans = value.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
          records.push({
            partition,
            key: message.key?.toString('utf8'),
            value: message.value,
            traceIds: new Set(spans.map((s) => s.traceId)),
            spans: spans.length,
          });
        } catch {
          // not otlp_json: not the collector's
        }
      },
    });
    for (const { partition, high } of ends) reader.seek({ topic: SPAN_TOPIC, partition, offset: high });
    await joined;

    const demo = spawn(
      process.execPath,
      [
        path.join(REPO, 'examples/shop/dist/demo/main.js'),
        '--pipeline',
        '--duration',
        '10',
        '--rate',
        '10',
        '--summary-json',
        summaryFile,
      ],
      { cwd: REPO, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    demo.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    demo.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    code = await new Promise<number | null>((resolve) => demo.once('exit', resolve));
  }, 240_000);

  afterAll(async () => {
    await reader?.disconnect();
  });

  it('runs, and says where the spans go', () => {
    expect(code, output).toBe(0);
    expect(output).toMatch(/Spans: shop → collector http:\/\/127\.0\.0\.1:4328 → Kafka .* topic otlp_spans/);
    expect(output).toContain('Span topic     otlp_spans');
  });

  it('streams findings from one `audit --follow` worker, and they count as the batch audit does', () => {
    const { audit } = JSON.parse(readFileSync(summaryFile, 'utf8')) as {
      audit?: { stream: Record<string, number>; batch: Record<string, number>; equal: boolean };
    };
    expect(audit, output).toBeDefined();
    expect(output).toMatch(
      /^Audit: mqtrail audit --follow on otlp_spans, group mqtrail-demo-\S+, findings → mqtrail_demo_findings_\S+$/m,
    );
    // Each finding streamed is printed as it comes, compactly.
    const lines = output
      .split('\n')
      .filter((line) => /^\[audit --follow\] (lost|duplicate|redelivered|dead-letter|failed|returned) /.test(line));
    const streamed = Object.values(audit?.stream ?? {}).reduce((n, c) => n + c, 0);
    expect(streamed, output).toBeGreaterThan(0);
    expect(lines.length).toBe(streamed);
    expect(audit?.stream, output).toEqual(audit?.batch);
    expect(audit?.equal).toBe(true);
    expect(output).toContain('The streaming audit (--follow) and the batch audit agree.');
    expect(output).toMatch(/Audit worker stopped \(SIGTERM\), exit code 0\./);
  });

  it('the chain it shows is in Jaeger, from the ingester, and on the topic in one partition', async () => {
    const { traceId } = JSON.parse(readFileSync(summaryFile, 'utf8')) as { traceId?: string };
    expect(traceId).toBeDefined();
    const trace = await fetchTrace(traceId as string, 6);
    const services = new Set(trace.spans.map((span) => serviceOf(trace, span)));
    expect([...services].sort()).toEqual(['notifications', 'orders', 'payments', 'shipping']);

    const ofTrace = await waitFor(
      `the spans of trace ${traceId} on ${SPAN_TOPIC}`,
      async () => {
        const found = records.filter((r) => r.traceIds.has(traceId as string));
        const spans = found.reduce((n, r) => n + r.spans, 0);
        return spans >= trace.spans.length ? found : undefined;
      },
      { timeoutMs: 20_000 },
    );
    // Four services export the trace's spans: several records, one key, one partition.
    expect(ofTrace.length).toBeGreaterThan(1);
    expect(new Set(ofTrace.map((r) => r.key))).toEqual(new Set([traceId]));
    expect(new Set(ofTrace.map((r) => r.partition)).size).toBe(1);
  });

  it('measures a real span on the topic (docs/scale.md)', () => {
    const ours = records.filter((r) => r.key !== undefined);
    expect(ours.length).toBeGreaterThan(0);
    const bytes = ours.reduce((n, r) => n + r.value.length, 0);
    const spans = ours.reduce((n, r) => n + r.spans, 0);
    const gzipped = gzipSync(Buffer.concat(ours.map((r) => r.value)), { level: 1 }).length;
    const sizes = ours.map((r) => r.value.length / r.spans).sort((a, b) => a - b);
    console.log(
      `shop spans on ${SPAN_TOPIC}: ${ours.length} records, ${spans} spans, ${bytes} bytes otlp_json = ` +
        `${Math.round(bytes / spans)} bytes/span (${(spans / ours.length).toFixed(2)} spans/record; ` +
        `per-record bytes/span p50 ${Math.round(sizes[Math.floor(sizes.length / 2)] ?? 0)}, ` +
        `min ${Math.round(sizes[0] ?? 0)}, max ${Math.round(sizes.at(-1) ?? 0)}); ` +
        `gzip -1 of them all: ${gzipped} bytes (${(bytes / gzipped).toFixed(1)}x)`,
    );
  });
});
