import http from 'node:http';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { endpoints } from '../support/endpoints';
import { fetchTrace, serviceOf } from '../support/jaeger';
import { leaseMetricsPort, waitForOwnMetrics } from '../support/metrics-port';
import { waitFor } from '../support/wait';
import { type Run, run, warningCount } from './run';

const otlpHttp = endpoints.otlpHttp;
/** Jaeger's OTLP gRPC receiver (ops/jaeger/config.yaml): same host, port 4317. */
const otlpGrpc = `http://${new URL(otlpHttp).hostname}:4317`;

/** Runs job.cjs to its end and returns its trace id, failing on a non-zero exit. */
async function finish(app: Run): Promise<string> {
  const done = await app.line((line) => line.done === true);
  const { code } = await app.exit;
  expect(code, app.stderr()).toBe(0);
  return String(done.value.traceId);
}

/** Proves the trace left the process and reached Jaeger under this service name. */
async function expectInJaeger(traceId: string, serviceName: string): Promise<void> {
  const trace = await fetchTrace(traceId, 2);
  expect(trace.spans.map((span) => serviceOf(trace, span))).toContain(serviceName);
}

const allWarnings = (app: Run) => app.stderr().match(/MqtrailWarning: .*/g) ?? [];

describe('@mqtrail/register metrics endpoint configuration', () => {
  it('a second process on a busy port warns once and still exports its traces', async () => {
    const { first, port, owner, release } = await startPortOwner();
    try {
      const serviceName = `register-port-second-${Date.now()}`;
      const second = run('--require', 'job.cjs', {
        OTEL_SERVICE_NAME: serviceName,
        OTEL_METRICS_EXPORTER: undefined,
        OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      });
      const traceId = await finish(second);
      expect(allWarnings(second), second.stderr()).toEqual([
        `MqtrailWarning: mqtrail: OTEL_EXPORTER_PROMETHEUS_PORT must be a free port, but ${port} is already in use on 0.0.0.0 (EADDRINUSE); metrics endpoint disabled, tracing continues`,
      ]);
      expect(warningCount(second, 'MQTRAIL_METRICS_UNAVAILABLE')).toBe(1);
      await expectInJaeger(traceId, serviceName);
      // The first process was not disturbed.
      await waitForOwnMetrics(port, owner);
    } finally {
      first.child.kill('SIGTERM');
      await first.exit;
      release();
    }
  });

  it.each(['70000', 'abc'])(
    'OTEL_EXPORTER_PROMETHEUS_PORT=%s is one warning naming the rule, and tracing still reaches Jaeger',
    async (value) => {
      const serviceName = `register-bad-port-${value}-${Date.now()}`;
      const app = run('--require', 'job.cjs', {
        OTEL_SERVICE_NAME: serviceName,
        OTEL_METRICS_EXPORTER: undefined,
        OTEL_EXPORTER_PROMETHEUS_PORT: value,
      });
      const traceId = await finish(app);
      expect(allWarnings(app), app.stderr()).toEqual([
        `MqtrailWarning: mqtrail: OTEL_EXPORTER_PROMETHEUS_PORT must be a port number (1-65535), got "${value}"; metrics endpoint disabled, tracing continues`,
      ]);
      expect(warningCount(app, 'MQTRAIL_INVALID_ENV')).toBe(1);
      await expectInJaeger(traceId, serviceName);
    },
  );
});

describe('@mqtrail/register OTLP protocol', () => {
  it.each([
    ['grpc', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: otlpGrpc }],
    // No endpoint variable at all: grpc's default is localhost:4317, where Jaeger listens.
    [
      'grpc on its default endpoint',
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: undefined },
    ],
    ['http/protobuf on its default endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: undefined }],
  ] as const)('%s reaches Jaeger', async (what, env) => {
    const serviceName = `register-${what.replaceAll(/[^a-z]+/g, '-')}-${Date.now()}`;
    const app = run('--require', 'job.cjs', { OTEL_SERVICE_NAME: serviceName, ...env });
    const traceId = await finish(app);
    expect(allWarnings(app), app.stderr()).toEqual([]);
    await expectInJaeger(traceId, serviceName);
  });

  it.each([
    ['http/json', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'application/json', []],
    ['http/protobuf', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, 'application/x-protobuf', []],
    ['nothing set (http/protobuf)', {}, 'application/x-protobuf', []],
    [
      'an unknown value (one warning, then http/protobuf)',
      { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grcp' },
      'application/x-protobuf',
      [
        'MqtrailWarning: mqtrail: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be one of http/protobuf, http/json, grpc, got "grcp"; using http/protobuf',
      ],
    ],
  ] as const)('%s reaches Jaeger in its encoding', async (what, env, contentType, warnings) => {
    // A pass-through in front of Jaeger's OTLP/HTTP receiver, recording what the process sent.
    const proxy = await recordingProxy(otlpHttp);
    try {
      const serviceName = `register-encoding-${what.replaceAll(/[^a-z]+/g, '-')}-${Date.now()}`;
      const app = run('--require', 'job.cjs', {
        OTEL_SERVICE_NAME: serviceName,
        OTEL_EXPORTER_OTLP_ENDPOINT: proxy.url,
        ...env,
      });
      const traceId = await finish(app);
      expect(allWarnings(app), app.stderr()).toEqual(warnings);
      await expectInJaeger(traceId, serviceName);
      expect(new Set(proxy.contentTypes)).toEqual(new Set([contentType]));
    } finally {
      await proxy.close();
    }
  });
});

describe('@mqtrail/register OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS', () => {
  it.each([
    ['disabled kafkajs', { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'kafkajs' }, { amqp: true, kafka: false }],
    // Other instrumentations' names (http) are legitimate in the shared variable and ignored quietly.
    ['enabled kafkajs,http', { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'kafkajs,http' }, { amqp: false, kafka: true }],
    [
      'enabled both, disabled amqplib',
      { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'amqplib,kafkajs', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'amqplib' },
      { amqp: false, kafka: true },
    ],
  ] as const)('%s: only the chosen clients are instrumented', async (what, env, traced) => {
    const app = run('--require', 'app.cjs', { OTEL_SERVICE_NAME: `register-${what.replaceAll(/\W+/g, '-')}`, ...env });
    const { code } = await app.exit;
    expect(code, app.stderr()).toBe(0);
    const result = app.lines.at(-1) ?? {};
    // An instrumented client injects a traceparent; an untouched one delivers the message without it.
    expect(/^00-/.test(String(result.amqpTraceparent)), 'amqplib traced').toBe(traced.amqp);
    expect(/^00-/.test(String(result.kafkaTraceparent)), 'kafkajs traced').toBe(traced.kafka);
    expect(allWarnings(app), app.stderr()).toEqual([]);
  });
});

/**
 * A long-running job serving metrics on one of the scraped ports. Other suites and checkouts lease
 * the same ports, so one can be taken between the lease and the bind: then the next is tried.
 */
async function startPortOwner(): Promise<{ first: Run; port: number; owner: string; release: () => void }> {
  for (let attempt = 1; ; attempt++) {
    const { port, release } = await leaseMetricsPort();
    const owner = `register-port-owner-${Date.now()}`;
    const first = run('--require', 'job.cjs', {
      OTEL_SERVICE_NAME: owner,
      OTEL_METRICS_EXPORTER: undefined,
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      MQTRAIL_E2E_WORK_MS: '120000',
    });
    const bound = await waitFor(`metrics of ${owner} on port ${port}, or its busy-port warning`, async () => {
      if (warningCount(first, 'MQTRAIL_METRICS_UNAVAILABLE') > 0) return false;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
      return (await response.text()).includes(owner) ? true : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; port owner stderr:\n${first.stderr()}`);
    });
    if (bound) return { first, port, owner, release };
    first.child.kill('SIGTERM');
    await first.exit;
    release();
    if (attempt === 3) throw new Error(`three scraped ports were taken under us; last stderr:\n${first.stderr()}`);
  }
}

async function recordingProxy(
  target: string,
): Promise<{ url: string; contentTypes: string[]; close: () => Promise<void> }> {
  const contentTypes: string[] = [];
  const server = http.createServer((request, response) => {
    contentTypes.push(String(request.headers['content-type']));
    const upstream = http.request(
      new URL(request.url ?? '/', target),
      { method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => {
      response.statusCode = 502;
      response.end();
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    contentTypes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
