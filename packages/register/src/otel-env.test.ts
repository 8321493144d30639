import { describe, expect, it } from 'vitest';
import { DEFAULT_EXPORT_TIMEOUT_MS, readExportEnv } from './otel-env';

const problemsOf = (env: Record<string, string>) =>
  readExportEnv(env).problems.map((p) => ({ code: p.code, option: p.option, text: `${p.message}; ${p.fallback}` }));

describe('readExportEnv: traces', () => {
  it('defaults to OTLP http/protobuf on localhost:4318 with a short timeout', () => {
    expect(readExportEnv({})).toEqual({
      traces: { protocol: 'http/protobuf', url: 'http://localhost:4318/v1/traces', timeoutMillis: 2_000 },
      metrics: { host: '0.0.0.0', port: 9464 },
      problems: [],
    });
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'grpc', 'http://localhost:4317'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'http/json', 'http://localhost:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: ' GRPC ' }, 'grpc', 'http://localhost:4317'],
    // The signal's own variable wins over the general one.
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' },
      'http/json',
      'http://localhost:4318/v1/traces',
    ],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, 'grpc', 'http://localhost:4317'],
    // Endpoints: the base gets /v1/traces over HTTP only; the signal's own is used as given.
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'http/protobuf', 'http://collector:4318/v1/traces'],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'grpc',
      'http://collector:4317',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces/in' },
      'http/protobuf',
      'https://traces/in',
    ],
  ] as const)('%j exports over %s to %s', (env, protocol, url) => {
    const { traces, problems } = readExportEnv(env);
    expect(problems).toEqual([]);
    expect(traces).toMatchObject({ protocol, url });
  });

  it('rejects an unknown protocol naming the variable and the allowed values, and uses http/protobuf', () => {
    expect(readExportEnv({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http' }).traces).toMatchObject({
      protocol: 'http/protobuf',
      url: 'http://localhost:4318/v1/traces',
    });
    expect(problemsOf({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http' })).toEqual([
      {
        code: 'MQTRAIL_INVALID_ENV',
        option: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
        text: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be one of http/protobuf, http/json, grpc, got "http"; using http/protobuf',
      },
    ]);
  });

  it('reads the export timeout, the signal variable first, and rejects what is not a positive whole number', () => {
    expect(readExportEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '7000' }).traces).toMatchObject({ timeoutMillis: 7_000 });
    expect(
      readExportEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '7000', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500' }).traces,
    ).toMatchObject({ timeoutMillis: 500 });
    for (const value of ['0', '-1', '1.5', '10s']) {
      const { traces, problems } = readExportEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: value });
      expect(traces).toMatchObject({ timeoutMillis: DEFAULT_EXPORT_TIMEOUT_MS });
      expect(problems.map((p) => p.message)).toEqual([
        `OTEL_EXPORTER_OTLP_TIMEOUT must be a positive whole number of milliseconds, got "${value}"`,
      ]);
    }
  });

  it('leaves traces to NodeSDK when OTEL_TRACES_EXPORTER names another exporter', () => {
    expect(readExportEnv({ OTEL_TRACES_EXPORTER: 'none' }).traces).toBe('nodesdk');
    expect(readExportEnv({ OTEL_TRACES_EXPORTER: 'console' }).traces).toBe('nodesdk');
    expect(readExportEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).traces).toMatchObject({
      protocol: 'grpc',
    });
  });
});

describe('readExportEnv: metrics endpoint', () => {
  it.each([
    [{ OTEL_EXPORTER_PROMETHEUS_PORT: '9470' }, { host: '0.0.0.0', port: 9470 }],
    [{ OTEL_EXPORTER_PROMETHEUS_PORT: ' 1 ' }, { host: '0.0.0.0', port: 1 }],
    [{ OTEL_EXPORTER_PROMETHEUS_PORT: '65535' }, { host: '0.0.0.0', port: 65_535 }],
    [{ OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' }, { host: '127.0.0.1', port: 9464 }],
    [{ OTEL_EXPORTER_PROMETHEUS_HOST: '[::1]' }, { host: '::1', port: 9464 }],
    [{ OTEL_EXPORTER_PROMETHEUS_HOST: '::' }, { host: '::', port: 9464 }],
    [{ OTEL_EXPORTER_PROMETHEUS_HOST: 'metrics_host.local' }, { host: 'metrics_host.local', port: 9464 }],
    [{ OTEL_METRICS_EXPORTER: 'prometheus' }, { host: '0.0.0.0', port: 9464 }],
  ] as const)('%j listens on %j', (env, expected) => {
    const { metrics, problems } = readExportEnv(env);
    expect(problems).toEqual([]);
    expect(metrics).toEqual(expected);
  });

  it.each(['70000', 'abc', '0', '-1', '9464.5', '0x10', '1e3'])(
    'OTEL_EXPORTER_PROMETHEUS_PORT=%s turns the endpoint off with one warning and leaves tracing alone',
    (value) => {
      const { traces, metrics } = readExportEnv({ OTEL_EXPORTER_PROMETHEUS_PORT: value });
      expect(metrics).toBe('off');
      expect(traces).toMatchObject({ protocol: 'http/protobuf' });
      expect(problemsOf({ OTEL_EXPORTER_PROMETHEUS_PORT: value })).toEqual([
        {
          code: 'MQTRAIL_INVALID_ENV',
          option: 'OTEL_EXPORTER_PROMETHEUS_PORT',
          text: `OTEL_EXPORTER_PROMETHEUS_PORT must be a port number (1-65535), got "${value}"; metrics endpoint disabled, tracing continues`,
        },
      ]);
    },
  );

  it.each(['http://0.0.0.0', 'localhost:9464', 'a b', '-bad.example', 'host/path'])(
    'OTEL_EXPORTER_PROMETHEUS_HOST=%s turns the endpoint off with one warning',
    (value) => {
      const { metrics } = readExportEnv({ OTEL_EXPORTER_PROMETHEUS_HOST: value });
      expect(metrics).toBe('off');
      expect(problemsOf({ OTEL_EXPORTER_PROMETHEUS_HOST: value })).toEqual([
        {
          code: 'MQTRAIL_INVALID_ENV',
          option: 'OTEL_EXPORTER_PROMETHEUS_HOST',
          text: `OTEL_EXPORTER_PROMETHEUS_HOST must be a host name or IP address (no scheme, port or path), got "${value}"; metrics endpoint disabled, tracing continues`,
        },
      ]);
    },
  );

  it('leaves metrics to NodeSDK when OTEL_METRICS_EXPORTER names another exporter, without judging the port', () => {
    expect(readExportEnv({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_PROMETHEUS_PORT: 'abc' })).toMatchObject({
      metrics: 'nodesdk',
      problems: [],
    });
  });
});
