import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { onJsonLines } from '../support/json-lines';

const fixtures = path.join(__dirname, 'fixtures');

export interface Line {
  value: Record<string, unknown>;
  /** `performance.now()` in this process when the line arrived. */
  at: number;
}

export interface Run {
  child: ChildProcess;
  /** Every JSON line the app printed so far, in order. */
  lines: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves with the first line for which `match` holds (waiting for it), or fails when the app exits first. */
  line: (match: (value: Record<string, unknown>) => boolean) => Promise<Line>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/**
 * Starts a fixture the way a user starts an app: `node --require|--import @mqtrail/register`.
 * An `undefined` in `env` removes that variable from the child's environment.
 */
export function run(flag: '--require' | '--import', script: string, env: Record<string, string | undefined>): Run {
  const child = spawn(process.execPath, [flag, '@mqtrail/register', path.join(fixtures, script)], {
    cwd: __dirname,
    env: {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      // Several fixtures run at once; metrics are proven elsewhere, so no Prometheus port here.
      OTEL_METRICS_EXPORTER: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  const waiting = new Set<() => void>();
  let stderr = '';
  onJsonLines(child.stdout, (value) => {
    lines.push({ value, at: performance.now() });
    for (const wake of waiting) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      const at = performance.now();
      // stdout may still hold lines the app wrote just before exiting.
      child.once('close', () => {
        exited = true;
        for (const wake of waiting) wake();
        resolve({ code, signal, at });
      });
    });
  });
  const line = (match: (value: Record<string, unknown>) => boolean) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.find((candidate) => match(candidate.value));
        if (found !== undefined) resolve(found);
        else if (exited) reject(new Error(`${script} exited without the expected line; stderr:\n${stderr}`));
        else return;
        waiting.delete(check);
      };
      waiting.add(check);
      check();
    });
  return {
    child,
    get lines() {
      return lines.map((entry) => entry.value);
    },
    stderr: () => stderr,
    line,
    exit,
  };
}

/** How many process warnings with this code the app printed. */
export function warningCount(app: Run, code: string): number {
  return app.stderr().split(`[${code}] MqtrailWarning`).length - 1;
}

export function traceIdOf(traceparent: unknown): string {
  const match = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(String(traceparent));
  if (!match?.[1]) throw new Error(`not a traceparent: ${String(traceparent)}`);
  return match[1];
}
