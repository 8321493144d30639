import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTrace, type JaegerSpan, type JaegerTrace, serviceOf, tagOf } from '../support/jaeger';
import { opsQueries } from '../support/ops-queries';
import { query } from '../support/prometheus';
import { waitFor } from '../support/wait';

const REPO = path.join(__dirname, '..', '..');
const SHOP_SERVICES = ['orders', 'payments', 'shipping', 'notifications'];

interface DemoSummary {
  traceId: string;
  counts: {
    stranded: number;
    duplicatesPublished: number;
    duplicateDeliveries: number;
    paymentFailed: number;
    requeued: number;
    returned: number;
  };
}

/**
 * Runs `pnpm demo`'s program against the real services, with every fault made frequent enough to
 * show up in a short run, and checks what a user would: the chain in Jaeger, every dashboard and
 * alert query in Prometheus, and the audit agreeing with what the demo injected.
 */
describe('the shop demo', () => {
  const summaryFile = path.join(mkdtempSync(path.join(tmpdir(), 'mqtrail-demo-')), 'summary.json');
  let startedAt = 0;
  let output = '';
  let exit: Promise<number | null>;
  let progressSeconds = 0;

  beforeAll(() => {
    startedAt = Date.now();
    const demo = spawn(
      process.execPath,
      [
        path.join(REPO, 'examples/shop/dist/demo/main.js'),
        '--duration',
        '30',
        '--rate',
        '10',
        '--summary-json',
        summaryFile,
      ],
      {
        cwd: REPO,
        env: {
          ...process.env,
          SHOP_FAIL_RATE: '0.08',
          SHOP_SLOW_RATE: '0.05',
          SHOP_REDELIVER_RATE: '0.08',
          SHOP_DUPLICATE_RATE: '0.06',
          SHOP_UNROUTABLE_RATE: '0.05',
          SHOP_STRAND_RATE: '0.05',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    demo.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      for (const match of chunk.matchAll(/^\s*(\d+)s · placed/gm)) progressSeconds = Number(match[1]);
    });
    demo.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    exit = new Promise((resolve) => demo.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    await exit;
  });

  it('runs every dashboard panel and alert query against the real Prometheus with data', async () => {
    // While the shop runs: after its first 20 s every instrument has been scraped several times.
    await waitFor('the demo to run for 20 s', async () => (progressSeconds >= 20 ? true : undefined), {
      timeoutMs: 90_000,
    });
    const missing: string[] = [];
    for (const q of opsQueries()) {
      const expressions = q.expectsData ? [q.expr] : q.metrics;
      for (const expression of expressions) {
        const result = await query(expression);
        if (result.length === 0) missing.push(`${q.file} ${q.where}: ${expression}`);
      }
    }
    expect(missing, `queries without data:\n${missing.join('\n')}`).toEqual([]);
  });

  it('finishes, printing one chain that spans all four services in one trace', async () => {
    expect(await exit, output).toBe(0);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as DemoSummary;
    expect(output).toContain(`trace ${summary.traceId}`);

    // place order, then send and process at each of the three hops.
    const trace = await fetchTrace(summary.traceId, 7).catch(async (error: Error) => {
      const partial = await fetchTrace(summary.traceId, 1, 1_000).catch(() => undefined);
      const found = partial?.spans.map((span) => `${serviceOf(partial, span)}: ${span.operationName}`) ?? [];
      throw new Error(`${error.message}; found: ${found.join(', ') || 'nothing'}\n${output}`);
    });
    const services = new Set(trace.spans.map((span) => serviceOf(trace, span)));
    expect([...services].sort()).toEqual([...SHOP_SERVICES].sort());
    assertChainEdges(trace);
  });

  it('audits to exactly the faults the demo injected', async () => {
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as DemoSummary;
    const since = `${Math.ceil((Date.now() - startedAt) / 1000) + 5}s`;
    const args = [
      'audit',
      '--since',
      since,
      '--grace',
      '3s',
      '--json',
      ...SHOP_SERVICES.flatMap((s) => ['--service', s]),
    ];
    const { code, stdout, stderr } = await runCli(args);
    const report = JSON.parse(stdout) as { counts: Record<string, number> };
    const injected = summary.counts;
    expect(report.counts, stderr).toMatchObject({
      lost: injected.stranded,
      // Each duplicate publish, plus its second dead-lettering when both copies failed.
      duplicate: injected.duplicateDeliveries,
      'dead-letter': injected.paymentFailed,
      redelivered: injected.requeued,
      returned: injected.returned,
    });
    // Lost, duplicated and dead-lettered messages were injected, so the gate fails the run.
    expect(code).toBe(injected.stranded + injected.duplicateDeliveries + injected.paymentFailed > 0 ? 2 : 0);
  });
});

/**
 * Every consume span is a CHILD_OF the send span of the message it processed, and every send
 * after the first happens inside a consume span: orders → payments → shipping → notifications.
 */
function assertChainEdges(trace: JaegerTrace): void {
  const byId = new Map(trace.spans.map((span) => [span.spanID, span]));
  const parentOf = (span: JaegerSpan) =>
    byId.get(span.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID ?? '');
  const op = (span: JaegerSpan | undefined) => (span ? tagOf(span, 'messaging.operation.type') : undefined);

  const consumes = trace.spans.filter((span) => op(span) === 'process');
  const sends = trace.spans.filter((span) => op(span) === 'send');
  expect(consumes.length).toBeGreaterThanOrEqual(3);
  expect(sends.length).toBeGreaterThanOrEqual(3);
  for (const consume of consumes) {
    const parent = parentOf(consume);
    expect(op(parent), consume.operationName).toBe('send');
    expect(consume.references).toContainEqual(expect.objectContaining({ spanID: parent?.spanID }));
  }
  const hops = sends.map((send) => [serviceOf(trace, send), op(parentOf(send)) ?? parentOf(send)?.operationName]);
  expect(hops).toEqual(
    expect.arrayContaining([
      ['orders', 'place order'],
      ['payments', 'process'],
      ['shipping', 'process'],
    ]),
  );
  const last = consumes.find((span) => serviceOf(trace, span) === 'notifications');
  expect(last && tagOf(last, 'mqtrail.chain.hops')).toBe(3);
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'packages/cli/bin/mqtrail.js'), ...args], {
      env: { ...process.env, MQTRAIL_JAEGER_URL: 'http://127.0.0.1:16686' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
