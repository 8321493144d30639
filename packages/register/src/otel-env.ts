import net from 'node:net';
import { type Env, raw } from './env';
import { MqtrailConfigError } from './errors';

/** The values of `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` in the OpenTelemetry specification. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';
const DEFAULT_HTTP_ENDPOINT = 'http://localhost:4318';
const DEFAULT_GRPC_ENDPOINT = 'http://localhost:4317';

/**
 * OpenTelemetry's default is 10 s. Register's is shorter because the exporter's retries keep the
 * event loop alive: a process whose work is done waits for the export in flight and then for the
 * final flush, each bounded by this timeout, so with the collector down it still exits within 5 s
 * (README, "Exit").
 */
export const DEFAULT_EXPORT_TIMEOUT_MS = 2_000;

export const DEFAULT_METRICS_HOST = '0.0.0.0';
export const DEFAULT_METRICS_PORT = 9464;

const METRICS_OFF = 'metrics endpoint disabled, tracing continues';

export interface TraceExportSettings {
  protocol: OtlpProtocol;
  /** Where spans go: the full `/v1/traces` URL for HTTP, `scheme://host:port` for gRPC. */
  url: string;
  /** Bound on one export, retries included. */
  timeoutMillis: number;
}

export interface MetricsEndpointSettings {
  host: string;
  port: number;
}

export interface ExportEnv {
  /** `'nodesdk'`: `OTEL_TRACES_EXPORTER` names something other than `otlp`, which NodeSDK builds. */
  traces: TraceExportSettings | 'nodesdk';
  /**
   * `'nodesdk'`: `OTEL_METRICS_EXPORTER` names something other than `prometheus`, which NodeSDK
   * builds. `'off'`: the host or port is not valid, so there is no endpoint (and no meter provider).
   */
  metrics: MetricsEndpointSettings | 'nodesdk' | 'off';
  problems: MqtrailConfigError[];
}

/**
 * Reads the standard variables register interprets itself rather than leaving to NodeSDK: where
 * and how traces are exported, and where the Prometheus endpoint listens. Each wrong value
 * becomes one problem naming the variable, the value and the rule; a bad trace setting falls back
 * to its default, a bad metrics setting turns only the metrics endpoint off.
 */
export function readExportEnv(env: Env = process.env): ExportEnv {
  const problems: MqtrailConfigError[] = [];
  return { traces: traceSettings(env, problems), metrics: metricsSettings(env, problems), problems };
}

function traceSettings(env: Env, problems: MqtrailConfigError[]): ExportEnv['traces'] {
  const exporter = raw(env, 'OTEL_TRACES_EXPORTER');
  if (exporter !== undefined && exporter.toLowerCase() !== 'otlp') return 'nodesdk';
  const protocol = otlpProtocol(env, problems);
  return { protocol, url: traceUrl(env, protocol), timeoutMillis: exportTimeout(env, problems) };
}

function otlpProtocol(env: Env, problems: MqtrailConfigError[]): OtlpProtocol {
  const name = raw(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = raw(env, name);
  if (value === undefined) return DEFAULT_OTLP_PROTOCOL;
  const protocol = OTLP_PROTOCOLS.find((known) => known === value.toLowerCase());
  if (protocol !== undefined) return protocol;
  problems.push(
    new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      name,
      `must be one of ${OTLP_PROTOCOLS.join(', ')}, got ${JSON.stringify(value)}`,
      `using ${DEFAULT_OTLP_PROTOCOL}`,
    ),
  );
  return DEFAULT_OTLP_PROTOCOL;
}

/**
 * As the OTLP exporters resolve it, so the URL in register's warnings is the one really used:
 * the signal's own endpoint as given; else the base endpoint, plus `/v1/traces` over HTTP; else
 * the protocol's default port, 4318 for HTTP and 4317 for gRPC.
 */
function traceUrl(env: Env, protocol: OtlpProtocol): string {
  const own = raw(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  if (own !== undefined) return own;
  const base = raw(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (protocol === 'grpc') return base ?? DEFAULT_GRPC_ENDPOINT;
  return `${(base ?? DEFAULT_HTTP_ENDPOINT).replace(/\/+$/, '')}/v1/traces`;
}

function exportTimeout(env: Env, problems: MqtrailConfigError[]): number {
  const name = raw(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT')
    ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'
    : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  const value = raw(env, name);
  if (value === undefined) return DEFAULT_EXPORT_TIMEOUT_MS;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(number) && number > 0) return number;
  problems.push(
    new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      name,
      `must be a positive whole number of milliseconds, got ${JSON.stringify(value)}`,
      `using ${DEFAULT_EXPORT_TIMEOUT_MS}`,
    ),
  );
  return DEFAULT_EXPORT_TIMEOUT_MS;
}

function metricsSettings(env: Env, problems: MqtrailConfigError[]): ExportEnv['metrics'] {
  const exporter = raw(env, 'OTEL_METRICS_EXPORTER');
  if (exporter !== undefined && exporter.toLowerCase() !== 'prometheus') return 'nodesdk';
  const host = metricsHost(env, problems);
  const port = metricsPort(env, problems);
  return host === undefined || port === undefined ? 'off' : { host, port };
}

function metricsHost(env: Env, problems: MqtrailConfigError[]): string | undefined {
  const value = raw(env, 'OTEL_EXPORTER_PROMETHEUS_HOST');
  if (value === undefined) return DEFAULT_METRICS_HOST;
  const host = value.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host) !== 0 || HOST_NAME.test(host)) return host;
  problems.push(
    new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      'OTEL_EXPORTER_PROMETHEUS_HOST',
      `must be a host name or IP address (no scheme, port or path), got ${JSON.stringify(value)}`,
      METRICS_OFF,
    ),
  );
  return undefined;
}

/** RFC 1123 labels; underscores allowed because container and compose service names use them. */
const HOST_NAME =
  /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

function metricsPort(env: Env, problems: MqtrailConfigError[]): number | undefined {
  const value = raw(env, 'OTEL_EXPORTER_PROMETHEUS_PORT');
  if (value === undefined) return DEFAULT_METRICS_PORT;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (port >= 1 && port <= 65_535) return port;
  problems.push(
    new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      'OTEL_EXPORTER_PROMETHEUS_PORT',
      `must be a port number (1-65535), got ${JSON.stringify(value)}`,
      METRICS_OFF,
    ),
  );
  return undefined;
}
