import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsEndpoint } from './metrics-endpoint';

/** Stands in for the MeterProvider: one resource, no instruments. */
const producer = {
  collect: async () => ({
    resourceMetrics: { resource: { attributes: { 'service.name': 'unit' } }, scopeMetrics: [] },
    errors: [],
  }),
} as unknown as Parameters<MetricsEndpoint['setMetricProducer']>[0];

const endpoints: MetricsEndpoint[] = [];
const blockers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.shutdown()));
  await Promise.all(blockers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function start(host = '127.0.0.1', port = 0, report = vi.fn()): MetricsEndpoint {
  const endpoint = new MetricsEndpoint({ host, port }, report);
  endpoint.setMetricProducer(producer);
  endpoints.push(endpoint);
  return endpoint;
}

function get(port: number, path: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Handles keeping the event loop alive, by type (only ref'd ones are listed). */
function aliveTcpHandles(): number {
  return process.getActiveResourcesInfo().filter((type) => type.startsWith('TCP')).length;
}

describe('MetricsEndpoint', () => {
  it('serves /metrics and nothing else', async () => {
    const endpoint = start();
    expect(await endpoint.listening).toBeUndefined();
    const port = endpoint.port ?? 0;
    const metrics = await get(port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('target_info{service_name="unit"} 1');
    expect((await get(port, '/metrics?x=1')).status).toBe(200);
    expect((await get(port, '/')).status).toBe(404);
    expect((await get(port, '/metricsx')).status).toBe(404);
  });

  it('holds the event loop neither with its listener nor with a keep-alive scraper connected', async () => {
    // Connections of earlier tests close asynchronously; start from a loop no TCP handle holds.
    await vi.waitFor(() => expect(aliveTcpHandles()).toBe(0), { timeout: 5_000 });
    const endpoint = start();
    await endpoint.listening;
    const agent = new http.Agent({ keepAlive: true });
    try {
      await get(endpoint.port ?? 0, '/metrics', agent);
      await get(endpoint.port ?? 0, '/metrics', agent);
      // The agent keeps its idle socket open (and unref'd); the server side must be unref'd too.
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
      expect(aliveTcpHandles()).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it('reports a busy port once, naming the variable and the value, and does not throw', async () => {
    const blocker = net.createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as net.AddressInfo).port;
    const report = vi.fn();
    const endpoint = start('127.0.0.1', busy, report);
    const problem = await endpoint.listening;
    expect(report).toHaveBeenCalledTimes(1);
    expect(report).toHaveBeenCalledWith(problem);
    expect(problem).toMatchObject({
      code: 'MQTRAIL_METRICS_UNAVAILABLE',
      option: 'OTEL_EXPORTER_PROMETHEUS_PORT',
      message: `OTEL_EXPORTER_PROMETHEUS_PORT must be a free port, but ${busy} is already in use on 127.0.0.1 (EADDRINUSE)`,
      fallback: 'metrics endpoint disabled, tracing continues',
    });
    expect(endpoint.port).toBeUndefined();
  });

  it('blames the host when it is not an address of this machine', async () => {
    const report = vi.fn();
    const problem = await start('192.0.2.1', 9464, report).listening;
    expect(problem).toMatchObject({
      option: 'OTEL_EXPORTER_PROMETHEUS_HOST',
      message: 'OTEL_EXPORTER_PROMETHEUS_HOST must be an address of this machine, but 192.0.2.1 is not (EADDRNOTAVAIL)',
    });
    expect(report).toHaveBeenCalledTimes(1);
  });

  it('frees its port on shutdown even with a keep-alive connection open', async () => {
    const endpoint = start();
    await endpoint.listening;
    const port = endpoint.port ?? 0;
    const agent = new http.Agent({ keepAlive: true });
    try {
      await get(port, '/metrics', agent);
      await endpoint.shutdown();
      const again = start('127.0.0.1', port);
      expect(await again.listening).toBeUndefined();
    } finally {
      agent.destroy();
    }
  });
});
