/**
 * The no-side-effect API of @mqtrail/register, for applications that build their own set-up:
 * `import { startMqtrail, createInstrumentations } from '@mqtrail/register/sdk'`.
 */
import { AmqplibInstrumentation, type AmqplibInstrumentationConfig } from '@mqtrail/instrumentation-amqplib';
import { KafkaJsInstrumentation, type KafkaJsInstrumentationConfig } from '@mqtrail/instrumentation-kafkajs';
import { getBooleanFromEnv, getNumberFromEnv, getStringFromEnv } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { type EnvOptions, readEnvOptions } from './env';
import { MqtrailConfigError } from './errors';
import { flushOnExit } from './shutdown';
import { WarnOnceExporter } from './warn-once-exporter';

export { type EnvOptions, readEnvOptions } from './env';
export { MqtrailConfigError, type MqtrailConfigErrorCode } from './errors';
export type { AmqplibInstrumentationConfig, KafkaJsInstrumentationConfig };
export { AmqplibInstrumentation, KafkaJsInstrumentation };

export interface InstrumentationOptions {
  /** Config for the kafkajs instrumentation, or `false` to leave kafkajs alone. */
  kafkajs?: KafkaJsInstrumentationConfig | false;
  /** Config for the amqplib instrumentation, or `false` to leave amqplib alone. */
  amqplib?: AmqplibInstrumentationConfig | false;
}

export interface MqtrailOptions extends InstrumentationOptions {
  /** Anything else NodeSDK accepts; it wins over what mqtrail would set. */
  nodeSdk?: Partial<NodeSDKConfiguration>;
  /** Flush telemetry on SIGTERM/SIGINT and before exit. Default true. */
  flushOnExit?: boolean;
}

export interface MqtrailHandle {
  /** Undefined when `OTEL_SDK_DISABLED=true`: nothing was started. */
  sdk: NodeSDK | undefined;
  instrumentations: Instrumentation[];
  /** Flushes and stops the SDK. */
  shutdown(): Promise<void>;
}

const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

/**
 * The mqtrail instrumentations, configured by `MQTRAIL_*` variables (see README) with the options
 * given here applied on top. For users who build their own NodeSDK.
 */
export function createInstrumentations(
  options: InstrumentationOptions = {},
  env = readEnvOptions().options,
): Instrumentation[] {
  const shared = dropUndefined({ useLinksForConsume: env.useLinksForConsume, captureBodySize: env.captureBodySize });
  const instrumentations: Instrumentation[] = [];
  if (options.kafkajs !== false && env.instrumentations.includes('kafkajs')) {
    instrumentations.push(new KafkaJsInstrumentation({ ...shared, ...dropUndefined(env.kafkajs), ...options.kafkajs }));
  }
  if (options.amqplib !== false && env.instrumentations.includes('amqplib')) {
    instrumentations.push(new AmqplibInstrumentation({ ...shared, ...dropUndefined(env.amqplib), ...options.amqplib }));
  }
  return instrumentations;
}

/**
 * Starts NodeSDK with traces over OTLP/HTTP, metrics on a Prometheus endpoint and the mqtrail
 * instrumentations. Every `OTEL_*` variable NodeSDK knows is honoured (service name, resource
 * attributes, sampler, `OTEL_SDK_DISABLED`); setting `OTEL_TRACES_EXPORTER` or
 * `OTEL_METRICS_EXPORTER` hands that signal back to NodeSDK's own environment handling.
 */
export function startMqtrail(options: MqtrailOptions = {}): MqtrailHandle {
  // Checked before anything is built: instrumentations patch on construction and the
  // Prometheus exporter opens its port, and a disabled SDK must do neither.
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) return { sdk: undefined, instrumentations: [], shutdown: async () => {} };
  const { options: envOptions, problems } = readEnvOptions();
  for (const problem of problems) {
    process.emitWarning(`mqtrail: ${problem.message}; using the default`, {
      type: 'MqtrailWarning',
      code: problem.code,
    });
  }
  const instrumentations = createInstrumentations(options, envOptions);
  const sdk = new NodeSDK({
    ...traceExportConfig(),
    ...metricExportConfig(),
    // No log pipeline: mqtrail emits no logs, and an OTLP log exporter would only add a connection.
    logRecordProcessors: [],
    instrumentations,
    ...options.nodeSdk,
  });
  sdk.start();
  const stopFlushing = options.flushOnExit === false ? () => {} : flushOnExit(() => sdk.shutdown());
  return {
    sdk,
    instrumentations,
    shutdown: () => {
      stopFlushing();
      return sdk.shutdown();
    },
  };
}

function traceExportConfig(): Partial<NodeSDKConfiguration> {
  if (getStringFromEnv('OTEL_TRACES_EXPORTER') !== undefined) return {};
  const endpoint =
    getStringFromEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ??
    `${(getStringFromEnv('OTEL_EXPORTER_OTLP_ENDPOINT') ?? DEFAULT_OTLP_ENDPOINT).replace(/\/$/, '')}/v1/traces`;
  return { traceExporter: new WarnOnceExporter(new OTLPTraceExporter(), endpoint) };
}

function metricExportConfig(): Partial<NodeSDKConfiguration> {
  if (getStringFromEnv('OTEL_METRICS_EXPORTER') !== undefined) return {};
  const host = getStringFromEnv('OTEL_EXPORTER_PROMETHEUS_HOST') ?? '0.0.0.0';
  const port = getNumberFromEnv('OTEL_EXPORTER_PROMETHEUS_PORT') ?? 9464;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      'OTEL_EXPORTER_PROMETHEUS_PORT',
      'must be a port number (0-65535)',
    );
  }
  return { metricReaders: [new PrometheusExporter({ host, port })] };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type { EnvOptions as MqtrailEnvOptions };
