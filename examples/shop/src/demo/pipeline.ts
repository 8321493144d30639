/**
 * Where the demo's spans go. Default: straight to Jaeger's OTLP port. With `--pipeline`: the
 * production layout (docs/scale.md) that `scripts/services/ctl` runs locally —
 *
 *   shop services ──OTLP──▶ collector ──▶ Kafka topic otlp_spans ──▶ Jaeger's ingester ──▶ query API
 *                                                               └──▶ `mqtrail audit --follow`
 *
 * Every address can be moved with an environment variable, as the services' own are.
 */

export interface SpanRoute {
  /** OTEL_EXPORTER_OTLP_ENDPOINT the shop services export to. */
  otlpEndpoint: string;
  /** The span topic and its brokers, when spans go through Kafka. */
  kafka?: { brokers: string[]; topic: string; ingesterGroup: string };
  /** Jaeger's query API, where the trace shows up either way. */
  jaegerUrl: string;
}

export const JAEGER_URL = process.env.MQTRAIL_JAEGER_URL ?? 'http://127.0.0.1:16686';

export function spanRoute(pipeline: boolean): SpanRoute {
  if (!pipeline) {
    return { otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318', jaegerUrl: JAEGER_URL };
  }
  return {
    // ops/jaeger/collector.yaml: the collector's OTLP/HTTP receiver.
    otlpEndpoint: process.env.MQTRAIL_COLLECTOR_OTLP_ENDPOINT ?? 'http://127.0.0.1:4328',
    kafka: {
      brokers: (process.env.SHOP_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      // The kafka exporter's topic (ops/jaeger/collector.yaml) and the ingester's consumer group
      // (ops/jaeger/config.yaml); `mqtrail audit --follow` reads the same topic in its own group.
      topic: process.env.MQTRAIL_SPANS_TOPIC ?? 'otlp_spans',
      ingesterGroup: 'jaeger-ingester',
    },
    jaegerUrl: JAEGER_URL,
  };
}

/** One line saying where the spans go, printed when the demo starts. */
export function describeRoute(route: SpanRoute): string {
  if (route.kafka === undefined) return `Spans: shop → Jaeger OTLP ${route.otlpEndpoint} → ${route.jaegerUrl}`;
  return (
    `Spans: shop → collector ${route.otlpEndpoint} → Kafka ${route.kafka.brokers.join(',')} topic ` +
    `${route.kafka.topic} (key = trace id) → Jaeger's ingester (group ${route.kafka.ingesterGroup}) → ${route.jaegerUrl}`
  );
}
