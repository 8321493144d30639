/**
 * Where the real services listen. The defaults are what scripts/services starts; each can be
 * pointed elsewhere (a docker-compose stack, a remote broker) with the environment variable.
 */
export const endpoints = {
  amqpUrl: process.env.MQTRAIL_E2E_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  kafkaBroker: process.env.MQTRAIL_E2E_KAFKA_BROKER ?? '127.0.0.1:9092',
  otlpHttp: process.env.MQTRAIL_E2E_OTLP_HTTP ?? 'http://127.0.0.1:4318',
  jaegerQuery: process.env.MQTRAIL_E2E_JAEGER_QUERY ?? 'http://127.0.0.1:16686',
  prometheus: process.env.MQTRAIL_E2E_PROMETHEUS ?? 'http://127.0.0.1:9090',
} as const;

/** Ports Prometheus scrapes for instrumented apps (ops/prometheus/prometheus.yml, job `mqtrail`). */
export const SCRAPED_APP_PORTS = [9464, 9465, 9466, 9467, 9468, 9469] as const;
