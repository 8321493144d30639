import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JaegerTrace } from '../jaeger/types';

export interface FakeJaeger {
  url: string;
  /** Traces served; tests may push more. */
  traces: JaegerTrace[];
  /** Path and query of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A local stand-in for Jaeger's query HTTP API with the search semantics of Jaeger v2's memory
 * store: a trace matches when one span of the service starts in [start, end] and carries every
 * tag (compared as strings); newest traces first; at most `limit` (default 100).
 */
export async function startFakeJaeger(traces: JaegerTrace[] = []): Promise<FakeJaeger> {
  const fake: Omit<FakeJaeger, 'url' | 'close'> = { traces, requests: [] };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    fake.requests.push(`${url.pathname}${url.search}`);
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const ok = (data: unknown) => reply(200, { data, total: 0, limit: 0, offset: 0, errors: null });
    const error = (status: number, msg: string) => reply(status, { data: null, errors: [{ code: status, msg }] });

    if (url.pathname === '/api/services') {
      const services = new Set(
        fake.traces.flatMap((trace) => Object.values(trace.processes).map((p) => p.serviceName)),
      );
      return ok([...services]);
    }
    const operations = /^\/api\/services\/([^/]+)\/operations$/.exec(url.pathname);
    if (operations) {
      const service = decodeURIComponent(operations[1] ?? '');
      const names = new Set(
        fake.traces.flatMap((trace) =>
          trace.spans
            .filter((span) => trace.processes[span.processID]?.serviceName === service)
            .map((span) => span.operationName),
        ),
      );
      return ok([...names]);
    }
    const byId = /^\/api\/traces\/([0-9a-f]+)$/.exec(url.pathname);
    if (byId) {
      const id = (byId[1] ?? '').padStart(32, '0');
      const trace = fake.traces.find((candidate) => candidate.traceID === id);
      return trace ? ok([trace]) : error(404, 'trace not found');
    }
    if (url.pathname === '/api/traces') {
      const service = url.searchParams.get('service');
      if (!service) return error(400, "parameter 'service' is required");
      const start = Number(url.searchParams.get('start') ?? 0);
      const end = Number(url.searchParams.get('end') ?? Number.MAX_SAFE_INTEGER);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const operation = url.searchParams.get('operation');
      const wanted = Object.entries(JSON.parse(url.searchParams.get('tags') ?? '{}') as Record<string, string>);
      const newestFirst = [...fake.traces].sort((a, b) => latest(b) - latest(a));
      const found = newestFirst.filter((trace) =>
        trace.spans.some(
          (span) =>
            trace.processes[span.processID]?.serviceName === service &&
            (operation === null || span.operationName === operation) &&
            span.startTime >= start &&
            span.startTime <= end &&
            wanted.every(([key, value]) => span.tags?.some((tag) => tag.key === key && String(tag.value) === value)),
        ),
      );
      return ok(found.slice(0, limit));
    }
    return error(404, `no route ${url.pathname}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

function latest(trace: JaegerTrace): number {
  return Math.max(...trace.spans.map((span) => span.startTime));
}

/** An output stream that keeps what is written, for `main(argv, io)`. */
export function capture(isTTY = false): { write(text: string): boolean; isTTY: boolean; text(): string } {
  const chunks: string[] = [];
  return {
    isTTY,
    write(text: string) {
      chunks.push(text);
      return true;
    },
    text: () => chunks.join(''),
  };
}
