import { InvalidArgumentError, JaegerResponseError, JaegerUnreachableError, TraceNotFoundError } from '../errors';
import type { JaegerResponse, JaegerTrace } from './types';

export const DEFAULT_JAEGER_URL = 'http://localhost:16686';

export interface JaegerClientOptions {
  /** Base URL of Jaeger's query service, e.g. `http://localhost:16686`. Default that one. */
  baseUrl?: string;
  /** Most time one request may take. Default 15 s. */
  timeoutMs?: number;
  /** Replaceable in tests; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Name of the setting the URL came from, for error messages. Default `--jaeger-url`. */
  urlOption?: string;
}

/** A search of `/api/traces`. Jaeger returns whole traces with at least one matching span. */
export interface TraceQuery {
  /** Jaeger requires a service for every search. */
  service: string;
  operation?: string;
  /** Span attributes that one span must all carry (Jaeger matches values as strings). */
  tags?: Record<string, string>;
  /** Window on the matching span's start, epoch microseconds. */
  startUs?: number;
  endUs?: number;
  /** Most traces returned. Jaeger's default is 100. */
  limit?: number;
}

/**
 * A small client for Jaeger's query HTTP API — the JSON API Jaeger v2 keeps from v1:
 * `/api/traces/{id}`, `/api/traces?service=…`, `/api/services`, `/api/services/{s}/operations`.
 * Every failure is one of mqtrail's errors: unreachable, an error answer, or an unknown trace.
 */
export class JaegerClient {
  /** The base URL, without a trailing slash. */
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: JaegerClientOptions = {}) {
    this.baseUrl = normalizeJaegerUrl(options.baseUrl ?? DEFAULT_JAEGER_URL, options.urlOption ?? '--jaeger-url');
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** The whole trace. Throws TraceNotFoundError when Jaeger does not have it. */
  async getTrace(traceId: string): Promise<JaegerTrace> {
    const id = normalizeTraceId(traceId);
    const { status, body } = await this.request<JaegerTrace[]>(`/api/traces/${id}`, [404]);
    const trace = body.data?.[0];
    if (status === 404 || trace === undefined || trace.spans.length === 0) throw new TraceNotFoundError(id);
    return trace;
  }

  /** Traces with at least one span matching the query, newest first as Jaeger returns them. */
  async findTraces(query: TraceQuery): Promise<JaegerTrace[]> {
    const params = new URLSearchParams({ service: query.service });
    if (query.operation !== undefined) params.set('operation', query.operation);
    if (query.tags !== undefined && Object.keys(query.tags).length > 0) params.set('tags', JSON.stringify(query.tags));
    if (query.startUs !== undefined) params.set('start', String(Math.floor(query.startUs)));
    if (query.endUs !== undefined) params.set('end', String(Math.ceil(query.endUs)));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const { body } = await this.request<JaegerTrace[]>(`/api/traces?${params}`);
    return body.data ?? [];
  }

  async services(): Promise<string[]> {
    const { body } = await this.request<string[]>('/api/services');
    return [...(body.data ?? [])].sort();
  }

  async operations(service: string): Promise<string[]> {
    const { body } = await this.request<string[]>(`/api/services/${encodeURIComponent(service)}/operations`);
    return [...(body.data ?? [])].sort();
  }

  private async request<T>(
    path: string,
    allowedStatuses: number[] = [],
  ): Promise<{ status: number; body: JaegerResponse<T> }> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      throw new JaegerUnreachableError(
        this.baseUrl,
        timedOut ? new Error(`no answer within ${this.timeoutMs} ms`) : error,
      );
    }
    let body: JaegerResponse<T>;
    try {
      body = JSON.parse(text) as JaegerResponse<T>;
    } catch {
      throw new JaegerResponseError(
        url,
        response.status,
        `not JSON (${JSON.stringify(text.slice(0, 80))}); is this Jaeger's query service?`,
      );
    }
    if (body === null || typeof body !== 'object' || !('data' in body)) {
      throw new JaegerResponseError(
        url,
        response.status,
        "not Jaeger's JSON (no `data` field); is this Jaeger's query service?",
      );
    }
    if (!response.ok && !allowedStatuses.includes(response.status)) {
      const detail = body.errors?.map((error) => error.msg).join('; ') || response.statusText || 'no detail';
      throw new JaegerResponseError(url, response.status, detail);
    }
    return { status: response.status, body };
  }
}

/** Checks and trims a Jaeger base URL; the message names the setting it came from. */
export function normalizeJaegerUrl(value: string, option = '--jaeger-url'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      option,
      `must be an http:// or https:// URL like ${DEFAULT_JAEGER_URL} (got ${JSON.stringify(value)})`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      option,
      `must be an http:// or https:// URL like ${DEFAULT_JAEGER_URL} (got ${JSON.stringify(value)})`,
    );
  }
  return url.href.replace(/\/+$/, '');
}

const TRACE_ID_PATTERN = /^[0-9a-f]{1,32}$/;

/** Trace ids are hex, up to 32 digits; Jaeger pads shorter ones (64-bit ids) with zeros. */
export function normalizeTraceId(value: string, option = '<trace-id>'): string {
  const id = value.trim().toLowerCase();
  if (!TRACE_ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(
      option,
      `must be a trace id of 1 to 32 hexadecimal digits (got ${JSON.stringify(value)})`,
    );
  }
  return id;
}
