import path from 'node:path';
import { type Child, startChild } from '../../support/child';

/** A dedicated broker the scenario can wait on and start again (dedicated-rabbitmq.ts, dedicated-kafka.ts). */
export interface RestartableBroker {
  /** Pid of the process the application kills. */
  readonly pid: number;
  waitDown(): Promise<void>;
  restart(): Promise<void>;
}

/** How a span open at the kill ended (fixtures/broker-telemetry.cjs). */
export interface FollowedSpan {
  name: string;
  ended: boolean;
  status?: 'unset' | 'ok' | 'error';
  outcome?: string;
  errorType?: string;
}

export interface SpanLedger {
  started: number;
  ended: number;
  open: string[];
  /** Count per `name / status / outcome / error.type` of every span that ended. */
  endings: Record<string, number>;
  followed: FollowedSpan[];
}

export interface Unhandled {
  type: 'unhandledRejection' | 'uncaughtException';
  kind: string;
  fromMqtrail: boolean;
  stack?: string;
}

/** What a broker-*-app fixture reports at the end (fixtures/broker-app.cjs has the shared parts). */
export interface RestartRun {
  /** Count per `where: ErrorClass: message` of every error the application was handed. */
  errors: Record<string, number>;
  events: Record<string, number>;
  unhandled: Unhandled[];
  total: number;
  consumed: number;
  deliveries: number;
  missing: number[];
  altered: number[];
  heap: { baseline: number; after: number };
  /** Counter sums for the run's destination; undefined in the uninstrumented run. */
  counters: { before?: Record<string, number>; after?: Record<string, number> };
  spans?: SpanLedger;
  /** Span names open when the broker was killed (instrumented run). */
  openAtKill?: string[];
  /** Milliseconds from the kill to the broker serving again, as the test timed it. */
  outageMs: number;
}

const running = new Set<Child>();

/**
 * Runs a broker-*-app fixture through a crash: the application kills the broker itself (see
 * killBroker in fixtures/broker-app.cjs), the test waits until the process is gone, keeps it down
 * for `downMs` — the same in every run — and starts it again on the same data. Resolves with the
 * application's report once it has drained everything and exited.
 */
export async function runThroughRestart(
  fixture: string,
  broker: RestartableBroker,
  options: { serviceName: string; env: Record<string, string>; downMs: number; timeoutMs: number },
): Promise<RestartRun> {
  const child = startChild(path.join(__dirname, '..', 'fixtures', fixture), {
    serviceName: options.serviceName,
    // The fixture registers mqtrail itself (INSTRUMENT), on a provider that keeps the span ledger.
    instrumentations: [],
    nodeArgs: ['--expose-gc'],
    env: { ...options.env, BROKER_PID: String(broker.pid) },
    timeoutMs: options.timeoutMs,
  });
  running.add(child);
  child.process.once('exit', () => running.delete(child));
  // A test that fails early never awaits the result; its rejection is the test's failure, not an
  // unhandled error of the run.
  child.result.catch(() => {});
  // A failure before the kill rejects `result`; the race makes it this run's failure.
  const killed = await Promise.race([child.firstMessage, child.result]);
  if (killed.event !== 'killed') throw new Error(`${fixture} ended before it killed the broker`);
  const down = Date.now();
  await broker.waitDown();
  await new Promise((resolve) => setTimeout(resolve, options.downMs));
  await broker.restart();
  const outageMs = Date.now() - down;
  const result = (await child.result) as unknown as RestartRun;
  return { ...result, openAtKill: killed.openAtKill as string[] | undefined, outageMs };
}

/** Kills applications a failed test left running. */
export function killLeftovers(): void {
  for (const child of running) child.process.kill('SIGKILL');
  running.clear();
}

/** The kinds of errors a run saw, without their counts (how many reconnect attempts fail is timing). */
export function errorKinds(run: RestartRun): string[] {
  return Object.keys(run.errors).sort();
}

/** Runs `scenario` once, on first use, for every test that asks (each run takes tens of seconds). */
export function once<T>(scenario: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= scenario();
    return result;
  };
}
