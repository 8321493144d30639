import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, JaegerResponseError, JaegerUnreachableError, TraceNotFoundError } from '../errors';
import { type FakeJaeger, startFakeJaeger } from '../test-support/fake-jaeger';
import { ms, resetIds, T0, TraceBuilder } from '../test-support/traces';
import { JaegerClient, normalizeJaegerUrl, normalizeTraceId } from './client';

let fake: FakeJaeger;
beforeAll(async () => {
  fake = await startFakeJaeger();
});
afterAll(() => fake.close());
beforeEach(() => {
  resetIds();
  fake.traces.length = 0;
  fake.requests.length = 0;
});

/** A server that answers every request with `status` and `body`, for the failure cases. */
async function serve(status: number, body: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_request, response) => {
    response.writeHead(status);
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('JaegerClient', () => {
  it('gets a trace by id, and says which one when Jaeger does not have it', async () => {
    const trace = new TraceBuilder();
    trace.send({ service: 'api', destination: 'q', at: 0 });
    fake.traces.push(trace.build());
    const client = new JaegerClient({ baseUrl: `${fake.url}/` });
    await expect(client.getTrace(trace.traceId.toUpperCase())).resolves.toMatchObject({ traceID: trace.traceId });
    await expect(client.getTrace('abc')).rejects.toThrow(new TraceNotFoundError('abc'));
    await expect(client.getTrace('abc')).rejects.toMatchObject({ code: 'MQTRAIL_TRACE_NOT_FOUND', exitCode: 1 });
  });

  it('searches with service, tags, window and limit as Jaeger expects them', async () => {
    const trace = new TraceBuilder();
    trace.send({ service: 'api', destination: 'q', at: ms(5), messageId: 'm-1' });
    fake.traces.push(trace.build());
    const client = new JaegerClient({ baseUrl: fake.url });
    const found = await client.findTraces({
      service: 'api',
      tags: { 'messaging.message.id': 'm-1' },
      startUs: T0,
      endUs: T0 + ms(10),
      limit: 7,
    });
    expect(found.map((t) => t.traceID)).toEqual([trace.traceId]);
    const query = new URL(`http://x${fake.requests[0]}`).searchParams;
    expect(Object.fromEntries(query)).toEqual({
      service: 'api',
      tags: '{"messaging.message.id":"m-1"}',
      start: String(T0),
      end: String(T0 + ms(10)),
      limit: '7',
    });
    await expect(client.services()).resolves.toEqual(['api']);
    await expect(client.operations('api')).resolves.toEqual(['send q']);
  });

  it('reports an unreachable Jaeger with the URL and how to point elsewhere', async () => {
    const closed = await serve(200, '{}');
    await closed.close(); // the port is now free: nothing listens there
    const client = new JaegerClient({ baseUrl: closed.url });
    const error = await client.services().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JaegerUnreachableError);
    expect(error).toMatchObject({ code: 'MQTRAIL_JAEGER_UNREACHABLE', exitCode: 1 });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^cannot reach Jaeger's query API at ${closed.url} \\(fetch failed.*ECONNREFUSED.*\\); set --jaeger-url or MQTRAIL_JAEGER_URL`,
      ),
    );
  });

  it('reports a slow Jaeger as unreachable, naming the timeout', async () => {
    const server = http.createServer(() => {}); // never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const client = new JaegerClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 100 });
      await expect(client.services()).rejects.toThrow(/no answer within 100 ms/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("reports answers that are not Jaeger's API", async () => {
    const html = await serve(200, '<html>Grafana</html>');
    const failing = await serve(500, '{"data":null,"errors":[{"code":500,"msg":"storage is down"}]}');
    try {
      await expect(new JaegerClient({ baseUrl: html.url }).services()).rejects.toThrow(JaegerResponseError);
      await expect(new JaegerClient({ baseUrl: html.url }).services()).rejects.toThrow(
        /not JSON .*is this Jaeger's query service\?/,
      );
      await expect(new JaegerClient({ baseUrl: failing.url }).services()).rejects.toThrow(
        `Jaeger answered ${failing.url}/api/services with 500: storage is down`,
      );
    } finally {
      await html.close();
      await failing.close();
    }
  });
});

describe('argument checks', () => {
  it('accepts http(s) URLs only, naming the setting', () => {
    expect(normalizeJaegerUrl('http://jaeger:16686/')).toBe('http://jaeger:16686');
    expect(normalizeJaegerUrl('https://example.test/jaeger/')).toBe('https://example.test/jaeger');
    expect(() => normalizeJaegerUrl('localhost:16686')).toThrow(InvalidArgumentError);
    expect(() => normalizeJaegerUrl('jaeger', 'MQTRAIL_JAEGER_URL')).toThrow(
      'MQTRAIL_JAEGER_URL must be an http:// or https:// URL like http://localhost:16686 (got "jaeger")',
    );
  });

  it('accepts trace ids of up to 32 hex digits', () => {
    expect(normalizeTraceId(' ABCDEF0123 ')).toBe('abcdef0123');
    expect(() => normalizeTraceId('xyz')).toThrow(
      '<trace-id> must be a trace id of 1 to 32 hexadecimal digits (got "xyz")',
    );
    expect(() => normalizeTraceId('0'.repeat(33))).toThrow(InvalidArgumentError);
  });
});
