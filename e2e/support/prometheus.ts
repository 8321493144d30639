import { endpoints } from './endpoints';
import { getJson, waitFor } from './wait';

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

export interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export async function activeTargets(): Promise<PromTarget[]> {
  const { body } = await getJson<PromResponse<{ activeTargets: PromTarget[] }>>(
    `${endpoints.prometheus}/api/v1/targets?state=active`,
  );
  return body.data.activeTargets;
}

/** Runs an instant PromQL query; throws with Prometheus's own message on a bad expression. */
export async function query(expression: string): Promise<PromSample[]> {
  const { body } = await getJson<PromResponse<{ result: PromSample[] }>>(
    `${endpoints.prometheus}/api/v1/query?query=${encodeURIComponent(expression)}`,
  );
  if (body.status !== 'success') throw new Error(`PromQL ${expression} failed: ${body.error}`);
  return body.data.result;
}

/** Waits until the query returns at least one sample. */
export function waitForSeries(expression: string, timeoutMs = 30_000): Promise<PromSample[]> {
  return waitFor(
    `Prometheus series for ${expression}`,
    async () => {
      const result = await query(expression);
      return result.length > 0 ? result : undefined;
    },
    { timeoutMs },
  );
}
