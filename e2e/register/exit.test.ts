import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchTrace } from '../support/jaeger';
import { leaseMetricsPort } from '../support/metrics-port';
import { type Run, run, warningCount } from './run';

/** packages/register/README.md, "Exit": a finished process exits within 5 s even with the collector down. */
const COLLECTOR_DOWN_BOUND_MS = 5_000;
/** Generous on purpose, this is not a benchmark: without telemetry the job ends within milliseconds. */
const SCRAPED_BOUND_MS = 2_000;

describe('@mqtrail/register lets a finished process exit', () => {
  it('promptly, although its metrics endpoint is being scraped over a keep-alive connection (10 runs of 10)', async () => {
    const { port, release } = await leaseMetricsPort();
    const delays: number[] = [];
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        const app = run('--require', 'job.cjs', {
          OTEL_SERVICE_NAME: 'register-exit-scraped',
          OTEL_METRICS_EXPORTER: undefined,
          OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
          // The job's work lasts until it has been scraped: the connection is open when it is done.
          MQTRAIL_E2E_SCRAPES: '3',
        });
        const scraping = scrapeWithKeepAlive(port, app.exit);
        const done = await app.line((line) => line.done === true);
        const exit = await exitOrKill(app, 15_000);
        const scraped = await scraping;
        expect(exit.signal, `run ${attempt + 1} did not exit by itself; stderr:\n${app.stderr()}`).toBeNull();
        expect(exit.code, app.stderr()).toBe(0);
        expect(scraped.reused, 'scrapes reused one keep-alive connection').toBeGreaterThan(0);
        delays.push(Math.round(exit.at - done.at));
      }
    } finally {
      release();
    }
    console.log(`exit after work done, scraped with keep-alive (ms): ${delays.join(', ')}`);
    expect(delays.filter((delay) => delay > SCRAPED_BOUND_MS)).toEqual([]);
  }, 300_000);

  describe.each([
    ['refuses connections', 'http/protobuf', refusingCollector],
    ['accepts connections and never answers', 'http/protobuf', silentCollector],
    ['accepts connections and never answers', 'grpc', silentCollector],
  ] as const)('within the documented bound when the collector %s (%s)', (_what, protocol, collector) => {
    it('exits, with one warning', async () => {
      const { url, close } = await collector();
      try {
        const app = run('--require', 'job.cjs', {
          OTEL_SERVICE_NAME: 'register-exit-collector-down',
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_ENDPOINT: url,
          // Batches go out every 100 ms, so an export is in flight when the work ends: the worst case.
          OTEL_BSP_SCHEDULE_DELAY: '100',
          MQTRAIL_E2E_WORK_MS: '1500',
        });
        const done = await app.line((line) => line.done === true);
        const exit = await exitOrKill(app, 30_000);
        const delay = Math.round(exit.at - done.at);
        console.log(`exit after work done, collector down (${protocol}, ${_what}): ${delay} ms`);
        expect(exit.code, app.stderr()).toBe(0);
        expect(delay).toBeLessThan(COLLECTOR_DOWN_BOUND_MS);
        expect(warningCount(app, 'MQTRAIL_EXPORT_FAILED'), app.stderr()).toBe(1);
      } finally {
        await close();
      }
    });
  });

  it('and the spans of a short job still reach Jaeger when the collector is up', async () => {
    const app = run('--require', 'job.cjs', { OTEL_SERVICE_NAME: 'register-exit-flush' });
    const done = await app.line((line) => line.done === true);
    const exit = await exitOrKill(app, 15_000);
    expect(exit.code, app.stderr()).toBe(0);
    // Root span plus at least one step: the final flush at exit delivered what the job made.
    await fetchTrace(String(done.value.traceId), 2);
  });
});

/** Waits for the app to exit; kills it after `timeoutMs` so a hang fails the test instead of the run. */
async function exitOrKill(app: Run, timeoutMs: number) {
  const timer = setTimeout(() => app.child.kill('SIGKILL'), timeoutMs);
  try {
    return await app.exit;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Scrapes `/metrics` the way Prometheus does, over one keep-alive connection, every 50 ms until
 * `stop` settles. Errors (not listening yet, connection closed at exit) are expected and skipped.
 */
async function scrapeWithKeepAlive(port: number, stop: Promise<unknown>): Promise<{ ok: number; reused: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let stopped = false;
  void stop.finally(() => {
    stopped = true;
  });
  const counts = { ok: 0, reused: 0 };
  try {
    while (!stopped) {
      await new Promise<void>((resolve) => {
        const request = http.get({ host: '127.0.0.1', port, path: '/metrics', agent }, (response) => {
          response.on('end', () => {
            if (response.statusCode !== 200) return;
            counts.ok += 1;
            if (request.reusedSocket) counts.reused += 1;
          });
          response.on('close', resolve);
          response.resume();
        });
        request.on('error', () => resolve());
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    agent.destroy();
  }
  return counts;
}

/** Nothing listens on the discard port. */
async function refusingCollector() {
  return { url: 'http://127.0.0.1:9', close: async () => {} };
}

/** A collector that accepts connections and never answers, as behind a stuck proxy: the slowest failure. */
async function silentCollector() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
