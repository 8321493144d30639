import { endpoints } from './support/endpoints';
import { portOpen } from './support/port-open';

/**
 * e2e tests run only against real services. When one is not reachable the whole run fails here,
 * naming it and the command that starts it, instead of every test timing out or being skipped.
 */
function hostPortOpen(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return portOpen(host ?? '', Number(port));
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

export default async function checkServices(): Promise<void> {
  const amqp = new URL(endpoints.amqpUrl);
  const checks: [string, Promise<boolean>][] = [
    [`RabbitMQ at ${amqp.hostname}:${amqp.port || 5672}`, hostPortOpen(`${amqp.hostname}:${amqp.port || 5672}`)],
    [`Kafka at ${endpoints.kafkaBroker}`, hostPortOpen(endpoints.kafkaBroker)],
    [`Jaeger query at ${endpoints.jaegerQuery}`, httpOk(`${endpoints.jaegerQuery}/api/services`)],
    [`Jaeger OTLP/HTTP at ${endpoints.otlpHttp}`, hostPortOpen(new URL(endpoints.otlpHttp).host)],
    [`Prometheus at ${endpoints.prometheus}`, httpOk(`${endpoints.prometheus}/-/ready`)],
  ];
  const down: string[] = [];
  for (const [name, check] of checks) if (!(await check)) down.push(name);
  if (down.length > 0) {
    throw new Error(
      `e2e needs real services, and these are not reachable: ${down.join(', ')}. ` +
        'Start them with `scripts/services/ctl up` (or run `npm test`, which does).',
    );
  }
}
