import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { ShopEvent } from '../report';

export const SHOP_SERVICES = ['payments', 'shipping', 'notifications', 'orders'] as const;
export type ShopService = (typeof SHOP_SERVICES)[number];

/** Prometheus scrapes 127.0.0.1:9464–9469 (ops/prometheus/prometheus.yml, job `mqtrail`). */
const FIRST_METRICS_PORT = 9464;

export interface RunningService {
  name: ShopService;
  process: ChildProcess;
  metricsPort: number;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Starts one shop service as its own process, instrumented the way a user would:
 * `node --import @mqtrail/register`. Its reports (JSON lines) go to `onEvent`; anything else it
 * prints is passed through, prefixed with its name.
 */
export function startService(
  name: ShopService,
  env: Record<string, string>,
  onEvent: (event: ShopEvent) => void,
): RunningService {
  const metricsPort = FIRST_METRICS_PORT + SHOP_SERVICES.indexOf(name);
  const child = spawn(process.execPath, ['--import', '@mqtrail/register', path.join(__dirname, '..', `${name}.js`)], {
    cwd: path.join(__dirname, '..', '..'),
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: name,
      OTEL_EXPORTER_OTLP_ENDPOINT: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
      // Export spans every second, so the chain is in Jaeger soon after the demo stops.
      OTEL_BSP_SCHEDULE_DELAY: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let markReady: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) {
        if (line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`);
        continue;
      }
      const event = JSON.parse(line) as ShopEvent;
      if (event.event === 'ready') markReady();
      onEvent(event);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const failedEarly = exited.then((code) => {
    throw new Error(`${name} exited (code ${code}) before it was ready`);
  });
  return { name, process: child, metricsPort, ready: Promise.race([ready, failedEarly]), exited };
}

/** Asks a service to stop (SIGTERM) and waits for it, killing it if it takes too long. */
export async function stopService(service: RunningService, timeoutMs = 15_000): Promise<void> {
  if (service.process.exitCode !== null) return;
  service.process.kill('SIGTERM');
  const timer = setTimeout(() => service.process.kill('SIGKILL'), timeoutMs);
  await service.exited;
  clearTimeout(timer);
}
