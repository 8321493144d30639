'use strict';
// Preloaded (`node --require`) into the separate OS processes e2e tests start: the OpenTelemetry
// set-up a real application has — NodeSDK, traces over OTLP/HTTP to Jaeger, metrics on a
// Prometheus endpoint — with the mqtrail instrumentations named in MQTRAIL_E2E_INSTRUMENTATIONS.
//
//   OTEL_SERVICE_NAME                 service name shown in Jaeger
//   MQTRAIL_E2E_INSTRUMENTATIONS      comma list: kafkajs, amqplib
//   MQTRAIL_E2E_INSTRUMENTATION_CONFIG JSON config passed to each instrumentation
//   MQTRAIL_E2E_METRICS_PORT          Prometheus exporter port (one of the scraped app ports)
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');

const factories = {
  kafkajs: () => new (require('@mqtrail/instrumentation-kafkajs').KafkaJsInstrumentation)(config()),
  amqplib: () => new (require('@mqtrail/instrumentation-amqplib').AmqplibInstrumentation)(config()),
};

function config() {
  return JSON.parse(process.env.MQTRAIL_E2E_INSTRUMENTATION_CONFIG || '{}');
}

const names = (process.env.MQTRAIL_E2E_INSTRUMENTATIONS || '').split(',').filter(Boolean);
const metricsPort = Number(process.env.MQTRAIL_E2E_METRICS_PORT || 0);
const otlp = process.env.MQTRAIL_E2E_OTLP_HTTP || 'http://127.0.0.1:4318';

const sdk = new NodeSDK({
  traceExporter: new OTLPTraceExporter({ url: `${otlp}/v1/traces` }),
  metricReaders: metricsPort ? [new PrometheusExporter({ host: '127.0.0.1', port: metricsPort })] : [],
  instrumentations: names.map((name) => {
    const factory = factories[name];
    if (!factory) throw new Error(`MQTRAIL_E2E_INSTRUMENTATIONS: unknown instrumentation ${name}`);
    return factory();
  }),
});
sdk.start();

// Children end by calling this, so every span is exported before the process exits.
globalThis.__mqtrailE2eShutdown = () => sdk.shutdown();
