/**
 * With `--pipeline`: one `mqtrail audit --follow` worker reads the span topic while the shop runs,
 * its findings are printed as they stream in, and at the end its counts are set beside the batch
 * audit's (over Jaeger) for the same window.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { JaegerClient, runAudit } from '@mqtrail/cli';
import { JAEGER_URL, type SpanRoute } from './pipeline';
import { SHOP_SERVICES } from './services';

export const AUDIT_GRACE_MS = 5_000;
const BIN = path.join(__dirname, '..', '..', '..', '..', 'packages', 'cli', 'bin', 'mqtrail.js');

interface StreamedFinding {
  kind: string;
  service?: string;
  destination?: string;
  decidedAt?: string;
  finding?: { sentAt?: string };
}

export interface FollowAudit {
  group: string;
  findingsTopic: string;
  /** Counts by kind of the findings streamed about messages sent since `since` (epoch ms). */
  counts(since: number): Record<string, number>;
  stop(): Promise<number | null>;
}

/** Starts the worker in a fresh group writing to a fresh findings topic, so runs don't mix. */
export function startFollowAudit(route: SpanRoute, since: number): FollowAudit {
  if (route.kafka === undefined) throw new Error('the follow audit needs the span topic');
  const run = `${Date.now()}-${process.pid}`;
  const group = `mqtrail-demo-${run}`;
  const findingsTopic = `mqtrail_demo_findings_${run}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
      'audit',
      '--follow',
      '--kafka-brokers',
      route.kafka.brokers.join(','),
      '--spans-topic',
      route.kafka.topic,
      '--findings-topic',
      findingsTopic,
      '--group',
      group,
      '--grace',
      `${AUDIT_GRACE_MS / 1000}s`,
      '--json',
      ...SHOP_SERVICES.flatMap((service) => ['--service', service]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const streamed: StreamedFinding[] = [];
  const sentAt = (f: StreamedFinding) => Date.parse(f.finding?.sentAt ?? f.decidedAt ?? '');
  // The fresh group reads the span topic from its start: findings about earlier runs' messages
  // stream too; only those about this run's (sent in the window) are shown and counted.
  const inWindow = (f: StreamedFinding, from: number) => !(sentAt(f) < from);
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let finding: StreamedFinding;
      try {
        finding = JSON.parse(line) as StreamedFinding;
      } catch {
        return;
      }
      streamed.push(finding);
      if (inWindow(finding, since)) {
        console.log(
          `[audit --follow] ${finding.kind.padEnd(11)} ${finding.destination ?? '?'} (${finding.service ?? '?'})`,
        );
      }
    });
  }
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      // Its routine progress log (partitions assigned, restored, stopping) would drown the findings.
      const routine = /^\S+Z mqtrail audit --follow: /.test(line) && !/error|fail/i.test(line);
      if (line.trim() !== '' && !routine) console.error(`[audit --follow] ${line}`);
    });
  }
  console.log(`Audit: mqtrail audit --follow on ${route.kafka.topic}, group ${group}, findings → ${findingsTopic}`);
  return {
    group,
    findingsTopic,
    counts(from: number) {
      const counts: Record<string, number> = {};
      for (const f of streamed) if (inWindow(f, from)) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
      return counts;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

const KINDS = ['lost', 'duplicate', 'redelivered', 'dead-letter', 'failed', 'returned'] as const;

/**
 * Runs the batch audit over Jaeger for [startMs, endMs] with the same grace and services, prints
 * its counts beside the stream's, and says whether they are equal. Returns both.
 */
export async function compareWithBatch(
  follow: FollowAudit,
  startMs: number,
  endMs: number,
): Promise<{ stream: Record<string, number>; batch: Record<string, number>; equal: boolean }> {
  const report = await runAudit(new JaegerClient({ baseUrl: JAEGER_URL }), {
    startUs: startMs * 1000,
    endUs: endMs * 1000,
    graceUs: AUDIT_GRACE_MS * 1000,
    services: [...SHOP_SERVICES],
  });
  const streamCounts = follow.counts(startMs);
  const stream: Record<string, number> = {};
  const batch: Record<string, number> = {};
  for (const kind of KINDS) {
    stream[kind] = streamCounts[kind] ?? 0;
    batch[kind] = report.counts[kind] ?? 0;
  }
  const equal = KINDS.every((kind) => stream[kind] === batch[kind]);
  console.log(`\nAudit over the same window (${new Date(startMs).toISOString()} → ${new Date(endMs).toISOString()}):`);
  console.log(`  ${'kind'.padEnd(14)} ${'stream'.padStart(7)} ${'batch'.padStart(7)}`);
  for (const kind of KINDS)
    console.log(`  ${kind.padEnd(14)} ${String(stream[kind]).padStart(7)} ${String(batch[kind]).padStart(7)}`);
  console.log(
    equal
      ? '  The streaming audit (--follow) and the batch audit agree.'
      : '  The streaming audit (--follow) and the batch audit DIFFER.',
  );
  return { stream, batch, equal };
}
