import { describe, expect, it } from 'vitest';
import type { TraceQuery } from '../jaeger/client';
import type { JaegerTrace } from '../jaeger/types';
import { ms, T0, TraceBuilder } from '../test-support/traces';
import { scanWindow } from './scan';

/** An in-memory Jaeger search over `traces`, recording each query and the size of each page. */
function fakeClient(traces: JaegerTrace[]) {
  const pages: number[] = [];
  return {
    pages,
    async findTraces(query: TraceQuery): Promise<JaegerTrace[]> {
      const found = traces.filter((trace) =>
        trace.spans.some(
          (span) =>
            trace.processes[span.processID]?.serviceName === query.service &&
            span.startTime >= (query.startUs ?? 0) &&
            span.startTime <= (query.endUs ?? Number.POSITIVE_INFINITY),
        ),
      );
      const page = found.slice(0, query.limit ?? 100);
      pages.push(page.length);
      return page;
    },
  };
}

function tracesEvery(count: number, everyUs: number, service = 'api'): JaegerTrace[] {
  return Array.from({ length: count }, (_, index) => {
    const trace = new TraceBuilder(index.toString(16).padStart(32, '0'));
    trace.send({ service, destination: 'q', at: index * everyUs });
    return trace.build();
  });
}

describe('scanWindow', () => {
  it('reads every trace of a dense window without ever asking for more than a page', async () => {
    const traces = tracesEvery(2_000, ms(30)); // 2,000 traces in one minute
    const client = fakeClient(traces);
    const seen = new Set<string>();
    const result = await scanWindow({
      client,
      services: ['api'],
      startUs: T0,
      endUs: T0 + ms(60_000),
      pageSize: 50,
      onTrace: (trace) => seen.add(trace.traceID),
    });
    expect(seen.size).toBe(2_000);
    expect(result.traces).toBe(2_000); // slices do not overlap
    expect(result.fullSlices).toBe(0);
    expect(Math.max(...client.pages)).toBeLessThanOrEqual(50);
  });

  it('grows slices over a sparse window so it takes few queries', async () => {
    const client = fakeClient(tracesEvery(10, ms(3_600_000))); // one trace an hour
    const result = await scanWindow({
      client,
      services: ['api'],
      startUs: T0,
      endUs: T0 + ms(10 * 3_600_000),
      onTrace: () => {},
    });
    expect(result.traces).toBe(10);
    expect(result.queries).toBeLessThan(25);
  });

  it('reports slices that still fill a page at the smallest slice length', async () => {
    // 20 traces starting in the same microsecond, with pages of 5: they cannot all be read.
    const traces = tracesEvery(20, 0);
    const result = await scanWindow({
      client: fakeClient(traces),
      services: ['api'],
      startUs: T0,
      endUs: T0 + ms(1_000),
      pageSize: 5,
      minSliceUs: 1,
      onTrace: () => {},
    });
    expect(result.fullSlices).toBe(1);
    expect(result.traces).toBe(5);
  });

  it('scans each service and reports progress', async () => {
    const traces = [...tracesEvery(3, ms(1_000), 'a'), ...tracesEvery(2, ms(1_000), 'b')];
    const progress: string[] = [];
    const result = await scanWindow({
      client: fakeClient(traces),
      services: ['a', 'b'],
      startUs: T0,
      endUs: T0 + ms(10_000),
      onTrace: () => {},
      onProgress: (p) => progress.push(`${p.service} ${p.serviceIndex}/${p.serviceCount} ${p.done}`),
    });
    expect(result.traces).toBe(5);
    expect(progress.at(-1)).toBe('b 2/2 1');
    expect(progress.some((line) => line.startsWith('a 1/2'))).toBe(true);
  });
});
