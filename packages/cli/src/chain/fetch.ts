import { TraceNotFoundError } from '../errors';
import type { JaegerClient } from '../jaeger/client';
import type { JaegerTrace } from '../jaeger/types';
import { buildChain } from './build';
import type { Chain } from './model';

export interface FetchChainOptions {
  /**
   * Also fetch the traces this one's spans reference (the producers of messages whose consumers
   * use `useLinksForConsume` and so start their own traces), and theirs in turn. Default true.
   */
  followLinks?: boolean;
  /** Most traces fetched in all. Default 20. */
  maxTraces?: number;
}

/**
 * Fetches a trace and builds its chain. Links can only be followed backwards (Jaeger cannot be
 * asked which spans link to a given one), so starting from the consumer's trace shows the
 * producer's side too, while starting from the producer's trace shows only consumers in it.
 */
export async function fetchChain(
  client: Pick<JaegerClient, 'getTrace'>,
  traceId: string,
  options: FetchChainOptions = {},
): Promise<Chain> {
  const first = await client.getTrace(traceId);
  const traces: JaegerTrace[] = [first];
  if (options.followLinks ?? true) {
    const maxTraces = options.maxTraces ?? 20;
    const seen = new Set([first.traceID]);
    for (let index = 0; index < traces.length && traces.length < maxTraces; index++) {
      const trace = traces[index];
      if (trace === undefined) break;
      for (const span of trace.spans) {
        for (const ref of span.references ?? []) {
          if (seen.has(ref.traceID) || traces.length >= maxTraces) continue;
          seen.add(ref.traceID);
          try {
            traces.push(await client.getTrace(ref.traceID));
          } catch (error) {
            // A linked trace Jaeger no longer has: the chain is drawn without it, with placeholders.
            if (!(error instanceof TraceNotFoundError)) throw error;
          }
        }
      }
    }
  }
  return buildChain(traces);
}
