import http from 'node:http';
import { mqtrailMetricProducer } from '@mqtrail/core';
import { diag } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MqtrailConfigError } from './errors';
import type { MetricsEndpointSettings } from './otel-env';
import { warn } from './warn';

const METRICS_PATH = '/metrics';

/**
 * The Prometheus reader, served from register's own HTTP server so that being scraped never
 * keeps a finished process alive. PrometheusExporter unrefs its listening socket but not the
 * connections it accepts, and Prometheus scrapes over keep-alive connections: a short job stayed
 * up until the scraper went away. Here the server and every accepted socket are unref'd, so
 * only the application's own work decides when the process ends.
 *
 * A port that cannot be bound (in use, privileged, a host that is not this machine's) is one
 * warning naming the variable and the value; tracing is not affected.
 *
 * It carries mqtrail's MetricProducer, so the mqtrail histograms are aggregated in mqtrail and
 * reported through it (as long as it is the MeterProvider's only reader, or every other reader has
 * a producer too; see @mqtrail/core's metric-producer.ts).
 */
export class MetricsEndpoint extends PrometheusExporter {
  private readonly server: http.Server;
  /** Resolves once listening, or with the error that prevented it (already reported). */
  readonly listening: Promise<MqtrailConfigError | undefined>;

  constructor(
    readonly settings: MetricsEndpointSettings,
    report: (error: MqtrailConfigError) => void = warn,
  ) {
    super({
      host: settings.host,
      port: settings.port,
      preventServerStart: true,
      metricProducers: [mqtrailMetricProducer()],
    });
    this.server = http.createServer((request, response) => this.serve(request, response));
    this.server.on('connection', (socket) => socket.unref());
    this.listening = new Promise((resolve) => {
      let listening = false;
      this.server.on('error', (error: NodeJS.ErrnoException) => {
        if (listening) {
          diag.debug('mqtrail: metrics endpoint error', error);
          return;
        }
        const problem = listenProblem(settings, error);
        report(problem);
        resolve(problem);
      });
      this.server.listen({ host: settings.host, port: settings.port }, () => {
        listening = true;
        resolve(undefined);
      });
    });
    this.server.unref();
  }

  /** The port really bound, or undefined when not listening. */
  get port(): number | undefined {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  override async onShutdown(): Promise<void> {
    if (this.server.listening) {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      // Keep-alive scrapers would hold close() open; at shutdown nobody is served any more.
      this.server.closeAllConnections();
      await closed;
    }
    await super.onShutdown();
  }

  private serve(request: http.IncomingMessage, response: http.ServerResponse): void {
    const path = (request.url ?? '').split('?')[0];
    if (path === METRICS_PATH && (request.method === 'GET' || request.method === 'HEAD')) {
      this.getMetricsRequestHandler(request, response);
      return;
    }
    response.statusCode = 404;
    response.end();
  }
}

/** Names the variable the user would change, with its value and what went wrong. */
function listenProblem({ host, port }: MetricsEndpointSettings, error: NodeJS.ErrnoException): MqtrailConfigError {
  const [option, rule] = blame(host, port, error.code ?? error.message);
  return new MqtrailConfigError(
    'MQTRAIL_METRICS_UNAVAILABLE',
    option,
    rule,
    'metrics endpoint disabled, tracing continues',
  );
}

function blame(host: string, port: number, code: string): [option: string, rule: string] {
  switch (code) {
    case 'EADDRINUSE':
      return [
        'OTEL_EXPORTER_PROMETHEUS_PORT',
        `must be a free port, but ${port} is already in use on ${host} (${code})`,
      ];
    case 'EACCES':
      return ['OTEL_EXPORTER_PROMETHEUS_PORT', `must be a port this process may bind, but ${port} is not (${code})`];
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return ['OTEL_EXPORTER_PROMETHEUS_HOST', `must be an address of this machine, but ${host} is not (${code})`];
    default:
      return ['OTEL_EXPORTER_PROMETHEUS_HOST', `must be an address to listen on, but ${host}:${port} failed (${code})`];
  }
}
