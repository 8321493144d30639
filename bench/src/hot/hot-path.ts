import type { UpstreamSampling } from '../messages';
import type { Client } from '../protocol';
import { amqplibHotPath } from './amqplib';
import { type HotPath, kafkaHotPath } from './kafkajs';

/** Unacknowledged deliveries the amqplib hot path's consumer allows (`prefetch`). */
export const HOT_PREFETCH = 100;

/**
 * A client's hot path (its operations over the in-memory fakes). Load it only after the variant's
 * telemetry is set up: instrumentations patch the client as it loads.
 */
export function hotPath(
  client: Client,
  sampled: UpstreamSampling,
  batch: number,
  prefetch = HOT_PREFETCH,
): Promise<HotPath> {
  return client === 'kafkajs' ? kafkaHotPath(sampled, batch) : amqplibHotPath(sampled, batch, prefetch);
}
