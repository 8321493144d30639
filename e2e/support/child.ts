import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { onJsonLines } from './json-lines';

export interface ChildOptions {
  /** `OTEL_SERVICE_NAME` of the process. */
  serviceName: string;
  /** Which mqtrail instrumentations the process registers. */
  instrumentations: ('kafkajs' | 'amqplib')[];
  instrumentationConfig?: Record<string, unknown>;
  /** Port of the Prometheus exporter, if the test reads metrics. */
  metricsPort?: number;
  /** Extra environment for the script itself. */
  env?: Record<string, string>;
  /** Run the script as an ES module application (`--import` preload with the loader hook). */
  esm?: boolean;
  /** Most time the process may take before it is killed and the test fails. */
  timeoutMs?: number;
  /** Extra Node.js flags, e.g. `--expose-gc`, placed before the preload. */
  nodeArgs?: string[];
}

export interface Child {
  process: ChildProcess;
  /** Resolves with the JSON object the script printed last on stdout, once it exits with 0. */
  result: Promise<Record<string, unknown>>;
  /** Resolves with the first JSON line the script prints (e.g. "ready"). */
  firstMessage: Promise<Record<string, unknown>>;
}

/**
 * Starts a script in its own OS process with the OpenTelemetry set-up of support/preload.cjs,
 * so producer and consumer never share a tracer, a context manager or memory. Scripts talk back
 * by printing one JSON object per line on stdout.
 */
export function startChild(script: string, options: ChildOptions): Child {
  const preload = options.esm
    ? ['--import', path.join(__dirname, 'preload.mjs')]
    : ['--require', path.join(__dirname, 'preload.cjs')];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...preload, script], {
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: options.serviceName,
      MQTRAIL_E2E_INSTRUMENTATIONS: options.instrumentations.join(','),
      MQTRAIL_E2E_INSTRUMENTATION_CONFIG: JSON.stringify(options.instrumentationConfig ?? {}),
      MQTRAIL_E2E_METRICS_PORT: String(options.metricsPort ?? 0),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages: Record<string, unknown>[] = [];
  let stderr = '';
  let resolveFirst: (value: Record<string, unknown>) => void;
  const firstMessage = new Promise<Record<string, unknown>>((resolve) => {
    resolveFirst = resolve;
  });
  onJsonLines(child.stdout, (message) => {
    messages.push(message);
    if (messages.length === 1) resolveFirst(message);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });

  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} timed out; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 90_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = messages.at(-1);
      if (code === 0 && last !== undefined) resolve(last);
      else reject(new Error(`${path.basename(script)} exited with ${code ?? signal}; stderr:\n${stderr}`));
    });
  });
  return { process: child, result, firstMessage };
}
