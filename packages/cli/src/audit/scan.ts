import type { JaegerClient } from '../jaeger/client';
import type { JaegerTrace } from '../jaeger/types';

export interface ScanProgress {
  service: string;
  /** 1-based index of the service being scanned, and how many there are. */
  serviceIndex: number;
  serviceCount: number;
  /** Share of this service's window scanned so far, 0 to 1. */
  done: number;
  /** Totals so far, over all services. */
  queries: number;
  traces: number;
}

export interface ScanOptions {
  client: Pick<JaegerClient, 'findTraces'>;
  services: readonly string[];
  /** Window, epoch microseconds. */
  startUs: number;
  endUs: number;
  /** Most traces one query asks for; a slice that fills it is split and asked again. Default 500. */
  pageSize?: number;
  /** First slice length. Default one minute. */
  initialSliceUs?: number;
  /** Slices are not split below this; one that still fills a page is reported incomplete. Default 1 ms. */
  minSliceUs?: number;
  /** Called with each trace of each page; the page is dropped after. */
  onTrace: (trace: JaegerTrace) => void;
  onProgress?: (progress: ScanProgress) => void;
}

export interface ScanResult {
  queries: number;
  /** Traces handed to onTrace, counting one trace once per time it was returned. */
  traces: number;
  /** Slices that filled a page at the smallest slice length: traces may be missing there. */
  fullSlices: number;
}

const MAX_SLICE_US = 60 * 60 * 1_000_000;

/**
 * Reads every trace with a span of each service starting in the window, in time slices, so that
 * no more than one page of traces (`pageSize`) is in memory at once whatever the window holds.
 *
 * Jaeger's search returns at most `limit` traces and says nothing when it had more, so a slice
 * that comes back full is halved and asked again; a slice that comes back sparse lets the next
 * one grow. Jaeger matches the window on span start times, inclusive at both ends: slices are
 * contiguous and do not overlap.
 */
export async function scanWindow(options: ScanOptions): Promise<ScanResult> {
  const pageSize = options.pageSize ?? 500;
  const minSliceUs = Math.max(1, options.minSliceUs ?? 1_000);
  const result: ScanResult = { queries: 0, traces: 0, fullSlices: 0 };
  const span = Math.max(1, options.endUs - options.startUs);

  for (const [index, service] of options.services.entries()) {
    let sliceUs = Math.max(minSliceUs, options.initialSliceUs ?? 60_000_000);
    let from = options.startUs;
    while (from <= options.endUs) {
      const to = Math.min(from + sliceUs - 1, options.endUs);
      result.queries++;
      const page = await options.client.findTraces({ service, startUs: from, endUs: to, limit: pageSize });
      const full = page.length >= pageSize;
      if (full && to - from + 1 > minSliceUs) {
        sliceUs = Math.max(minSliceUs, Math.floor((to - from + 1) / 2));
        continue;
      }
      if (full) result.fullSlices++;
      for (const trace of page) {
        result.traces++;
        options.onTrace(trace);
      }
      from = to + 1;
      if (page.length < pageSize / 4) sliceUs = Math.min(sliceUs * 2, MAX_SLICE_US);
      options.onProgress?.({
        service,
        serviceIndex: index + 1,
        serviceCount: options.services.length,
        done: Math.min(1, (from - options.startUs) / span),
        queries: result.queries,
        traces: result.traces,
      });
    }
  }
  return result;
}
