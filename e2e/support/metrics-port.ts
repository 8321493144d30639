import net from 'node:net';
import { SCRAPED_APP_PORTS } from './endpoints';
import { waitFor } from './wait';

const leased = new Set<number>();

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * One of the ports Prometheus scrapes that nothing listens on now. Other suites, the demo and
 * other checkouts' tests use the same six ports, so a fixed port per test would collide.
 * `release` hands it back once the child using it has exited.
 */
export async function leaseMetricsPort(): Promise<{ port: number; release: () => void }> {
  for (const port of SCRAPED_APP_PORTS) {
    if (leased.has(port) || !(await portFree(port))) continue;
    leased.add(port);
    return { port, release: () => leased.delete(port) };
  }
  throw new Error(`all scraped metrics ports (${SCRAPED_APP_PORTS.join(', ')}) are in use`);
}

/**
 * Waits until the exporter on `port` serves series mentioning `marker` (a unique topic, group or
 * queue): proves the port is really this child's before Prometheus's answers are trusted.
 */
export async function waitForOwnMetrics(port: number, marker: string): Promise<void> {
  await waitFor(`metrics mentioning ${marker} on 127.0.0.1:${port}`, async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return (await response.text()).includes(marker) ? true : undefined;
  });
}
