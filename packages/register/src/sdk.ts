/**
 * The no-side-effect API of @mqtrail/register, for applications that build their own set-up:
 * `import { startMqtrail, createInstrumentations } from '@mqtrail/register/sdk'`.
 */
import { AmqplibInstrumentation, type AmqplibInstrumentationConfig } from '@mqtrail/instrumentation-amqplib';
import { KafkaJsInstrumentation, type KafkaJsInstrumentationConfig } from '@mqtrail/instrumentation-kafkajs';
import { diag } from '@opentelemetry/api';
import { getBooleanFromEnv } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { type EnvOptions, readEnvOptions } from './env';
import { MetricsEndpoint } from './metrics-endpoint';
import { type ExportEnv, readExportEnv } from './otel-env';
import { flushOnExit } from './shutdown';
import { createTraceExporter } from './trace-exporter';
import { warn } from './warn';

export { MqtrailMetricProducer, mqtrailMetricProducer } from '@mqtrail/core';
export { type EnvOptions, readEnvOptions } from './env';
export { MqtrailConfigError, type MqtrailConfigErrorCode, MqtrailError, type MqtrailErrorCode } from './errors';
export { type ExportEnv, OTLP_PROTOCOLS, type OtlpProtocol, readExportEnv } from './otel-env';
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

/**
 * The mqtrail instrumentations, chosen and configured by the `MQTRAIL_*` and
 * `OTEL_NODE_ENABLED_INSTRUMENTATIONS` / `OTEL_NODE_DISABLED_INSTRUMENTATIONS` variables (see
 * README) with the options given here applied on top. For users who build their own NodeSDK.
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
 * Starts NodeSDK with traces over OTLP, metrics on a Prometheus endpoint and the mqtrail
 * instrumentations. Every `OTEL_*` variable NodeSDK knows is honoured (service name, resource
 * attributes, sampler, `OTEL_SDK_DISABLED`); `OTEL_TRACES_EXPORTER` other than `otlp` or
 * `OTEL_METRICS_EXPORTER` other than `prometheus` hands that signal back to NodeSDK's own
 * environment handling. Configuration mistakes are reported once each as a process warning and
 * never stop the application or switch off the other signal.
 */
export function startMqtrail(options: MqtrailOptions = {}): MqtrailHandle {
  // Checked before anything is built: instrumentations patch on construction and the
  // metrics endpoint opens its port, and a disabled SDK must do neither.
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) return { sdk: undefined, instrumentations: [], shutdown: async () => {} };
  const { options: envOptions, problems, notes } = readEnvOptions();
  for (const problem of problems) warn(problem);
  const exportEnv = readExportEnv();
  for (const problem of exportEnv.problems) warn(problem);
  const instrumentations = createInstrumentations(options, envOptions);
  const nodeSdk = options.nodeSdk ?? {};
  const sdk = new NodeSDK({
    ...(nodeSdk.traceExporter || nodeSdk.spanProcessors ? {} : traceConfig(exportEnv.traces)),
    ...(nodeSdk.metricReaders ? {} : metricsConfig(exportEnv.metrics)),
    // No log pipeline: mqtrail emits no logs, and an OTLP log exporter would only add a connection.
    logRecordProcessors: [],
    instrumentations,
    ...nodeSdk,
  });
  sdk.start();
  // After start: NodeSDK installs the OTEL_LOG_LEVEL logger.
  for (const note of notes) diag.debug(`mqtrail: ${note}`);
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

function traceConfig(traces: ExportEnv['traces']): Partial<NodeSDKConfiguration> {
  return traces === 'nodesdk' ? {} : { traceExporter: createTraceExporter(traces) };
}

function metricsConfig(metrics: ExportEnv['metrics']): Partial<NodeSDKConfiguration> {
  if (metrics === 'nodesdk') return {};
  // An empty list, not undefined: NodeSDK would otherwise fall back to its own environment handling.
  if (metrics === 'off') return { metricReaders: [] };
  return { metricReaders: [new MetricsEndpoint(metrics)] };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type { EnvOptions as MqtrailEnvOptions };
