import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { ExportHealthExporter } from './export-health';
import type { TraceExportSettings } from './otel-env';

/**
 * The OTLP span exporter for the protocol, given its URL and timeout explicitly so that what
 * register reports is what is used. Headers, TLS files and compression still come from the
 * standard `OTEL_EXPORTER_OTLP_*` variables, read by the exporter itself.
 */
export function createTraceExporter({ protocol, url, timeoutMillis }: TraceExportSettings): SpanExporter {
  const config = { url, timeoutMillis };
  const exporter =
    protocol === 'grpc'
      ? new GrpcTraceExporter(config)
      : protocol === 'http/json'
        ? new JsonTraceExporter(config)
        : new ProtobufTraceExporter(config);
  return new ExportHealthExporter(exporter, `${url} over ${protocol}`);
}
