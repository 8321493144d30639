import type { JaegerClient } from '../jaeger/client';
import { AuditAggregator, type AuditOptions } from './aggregator';
import type { AuditReport } from './findings';
import { type ScanProgress, scanWindow } from './scan';

export interface RunAuditOptions extends AuditOptions {
  /** Traces per Jaeger query. Default 500. */
  pageSize?: number;
  onProgress?: (progress: ScanProgress) => void;
}

/**
 * Scans the window service by service (every service Jaeger knows when none is given), folds
 * each page of traces into the aggregator and drops it, and returns the judged report.
 */
export async function runAudit(
  client: Pick<JaegerClient, 'findTraces' | 'services'>,
  options: RunAuditOptions,
): Promise<AuditReport> {
  const services = options.services?.length ? [...options.services] : await client.services();
  const aggregator = new AuditAggregator(options);
  const scan = await scanWindow({
    client,
    services,
    startUs: options.startUs,
    endUs: options.endUs,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    onTrace: (trace) => aggregator.addTrace(trace),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  const incomplete =
    scan.fullSlices > 0
      ? `${scan.fullSlices} time slice(s) of 1 ms held more traces than --page-size; raise it to see them all`
      : undefined;
  return aggregator.report(incomplete);
}
