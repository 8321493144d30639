import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { endpoints } from '../support/endpoints';
import { onJsonLines } from '../support/json-lines';

/** The built command, as a user runs it. */
export const BIN = path.join(__dirname, '../../packages/cli/bin/mqtrail.js');

export function assertBuilt(): void {
  if (!existsSync(path.join(__dirname, '../../packages/cli/dist/follow/worker.js'))) {
    throw new Error('packages/cli is not built: run `npm run build` (or tsc -b packages/cli/tsconfig.json) first');
  }
}

export const kafka = new Kafka({
  clientId: 'audit-follow-e2e',
  brokers: [endpoints.kafkaBroker],
  logLevel: logLevel.NOTHING,
});

export interface FindingLine {
  key: string;
  kind: string;
  traceId: string;
  spanId?: string;
  messageId?: string;
  service?: string;
  destination?: string;
  decidedAt: string;
  finding: Record<string, unknown>;
}

export interface Worker {
  name: string;
  child: ChildProcess;
  /** `--json` lines printed so far. */
  lines: FindingLine[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `mqtrail audit --follow --json` in its own process. */
export function startWorker(name: string, args: string[]): Worker {
  const child = spawn(
    process.execPath,
    [BIN, 'audit', '--follow', '--kafka-brokers', endpoints.kafkaBroker, '--json', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  const lines: FindingLine[] = [];
  let stderr = '';
  onJsonLines(child.stdout, (line) => lines.push(line as unknown as FindingLine));
  // MQTRAIL_E2E_FOLLOW_LOGS=<dir> keeps each worker's whole stderr, for a failure's post-mortem.
  const logDir = process.env.MQTRAIL_E2E_FOLLOW_LOGS;
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
    if (logDir) appendFileSync(path.join(logDir, `worker-${name}.log`), chunk);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { name, child, lines, stderr: () => stderr, exit };
}

/** Waits until the worker says it follows the topic (it has joined its groups). */
export async function waitStarted(worker: Worker, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!/assigned partitions/.test(worker.stderr())) {
    if (worker.child.exitCode !== null) throw new Error(`${worker.name} exited: ${worker.stderr()}`);
    if (Date.now() > deadline) throw new Error(`${worker.name} did not start: ${worker.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stops a worker with SIGTERM and resolves with its exit. */
export async function stopWorker(worker: Worker): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  return worker.exit;
}

/**
 * Reads a topic from its beginning as a `read_committed` consumer of a group of its own, for as
 * long as the test runs: `records` is what has been committed so far, in order per partition.
 */
export class TopicReader {
  readonly records: { key: string; value: FindingLine; partition: number; offset: string }[] = [];
  private consumer: Consumer | undefined;

  constructor(private readonly topic: string) {}

  async start(): Promise<void> {
    this.consumer = kafka.consumer({
      groupId: `audit-follow-e2e-reader-${Math.random().toString(16).slice(2)}`,
      readUncommitted: false,
      maxWaitTimeInMs: 200,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message, partition }) => {
        if (message.key === null || message.value === null) return;
        this.records.push({
          key: message.key.toString(),
          value: JSON.parse(message.value.toString()) as FindingLine,
          partition,
          offset: message.offset,
        });
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
  }
}

/** Creates a topic with `partitions` partitions and waits for its leaders. */
export async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the topics a run made (the worker's internal ones included), ignoring the missing. */
export async function deleteTopics(topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const found = topics.filter((topic) => existing.has(topic));
    if (found.length > 0) await admin.deleteTopics({ topics: found }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface App {
  name: string;
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** The first line for which `match` holds (waiting for it); fails if the app exits first. */
  line: (match: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a fixture the way a user runs an app: `node --require @mqtrail/register app.cjs`, its
 * spans exported over OTLP/HTTP to `otlpEndpoint` (the collector, which writes them to Kafka).
 */
export function startApp(script: string, serviceName: string, otlpEndpoint: string, env: Record<string, string>): App {
  const child = spawn(process.execPath, ['--require', '@mqtrail/register', path.join(__dirname, 'fixtures', script)], {
    cwd: __dirname,
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: serviceName,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
      OTEL_METRICS_EXPORTER: 'none',
      // Spans reach the collector within a fraction of the grace period.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiting = new Set<() => void>();
  let stderr = '';
  onJsonLines(child.stdout, (line) => {
    lines.push(line);
    for (const wake of waiting) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiting) wake();
    }),
  );
  const line = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(check);
        reject(new Error(`${script} printed no expected line in ${timeoutMs} ms; stderr:\n${stderr}`));
      }, timeoutMs);
      const check = () => {
        const found = lines.find(match);
        if (found !== undefined) {
          clearTimeout(timer);
          waiting.delete(check);
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          waiting.delete(check);
          reject(new Error(`${script} exited with ${child.exitCode ?? child.signalCode}; stderr:\n${stderr}`));
        }
      };
      waiting.add(check);
      check();
    });
  return { name: script, child, lines, stderr: () => stderr, line, exit };
}

/** The key `audit --follow` writes a finding under, for a finding of the batch audit's report. */
export function batchFindingKey(finding: Record<string, unknown>): string {
  const kind = String(finding.kind);
  if (kind === 'slow') return `slow:${finding.traceId}`;
  const identity = `${kind}:${finding.traceId}:${finding.sendSpanId ?? '-'}`;
  if (kind === 'duplicate')
    return `${identity}:${finding.consumer}${finding.consumerDestination === undefined ? '' : `@${finding.consumerDestination}`}`;
  return identity;
}
