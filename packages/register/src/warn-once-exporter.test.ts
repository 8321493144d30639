import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it, vi } from 'vitest';
import { WarnOnceExporter } from './warn-once-exporter';

function fakeExporter(results: ExportResult[]): SpanExporter {
  return {
    export: (_spans, callback) => callback(results.shift() ?? { code: ExportResultCode.SUCCESS }),
    shutdown: async () => {},
  };
}

const failed: ExportResult = { code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED 127.0.0.1:4318') };

describe('WarnOnceExporter', () => {
  it('warns once per outage, naming the endpoint and the cause, and passes results through', () => {
    const warn = vi.fn();
    const exporter = new WarnOnceExporter(
      fakeExporter([failed, failed, { code: ExportResultCode.SUCCESS }, failed]),
      'http://localhost:4318/v1/traces',
      warn,
    );
    const results: ExportResultCode[] = [];
    for (let i = 0; i < 4; i++) exporter.export([] as ReadableSpan[], (result) => results.push(result.code));
    expect(results).toEqual([
      ExportResultCode.FAILED,
      ExportResultCode.FAILED,
      ExportResultCode.SUCCESS,
      ExportResultCode.FAILED,
    ]);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]?.[0]).toMatchObject({
      code: 'MQTRAIL_EXPORT_FAILED',
      message: expect.stringMatching(
        /^cannot export traces to http:\/\/localhost:4318\/v1\/traces \(connect ECONNREFUSED/,
      ),
    });
  });
});
