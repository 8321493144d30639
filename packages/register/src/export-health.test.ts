import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it, vi } from 'vitest';
import type { MqtrailError } from './errors';
import { ExportHealthExporter } from './export-health';

const ENDPOINT = 'http://localhost:4318/v1/traces over http/protobuf';
const ok: ExportResult = { code: ExportResultCode.SUCCESS };
const refused: ExportResult = {
  code: ExportResultCode.FAILED,
  error: new Error('connect ECONNREFUSED 127.0.0.1:4318'),
};

/** An exporter that answers each export with the next of `results` (success once they run out). */
function fakeExporter(results: ExportResult[]): SpanExporter & { shutdown: ReturnType<typeof vi.fn> } {
  return {
    export: (_spans, callback) => callback(results.shift() ?? ok),
    shutdown: vi.fn(async () => {}),
    forceFlush: vi.fn(async () => {}),
  };
}

function spans(count: number): ReadableSpan[] {
  return Array.from({ length: count }, () => ({}) as ReadableSpan);
}

/** Exports batches of the given sizes through a health exporter; returns what it reported and passed on. */
function exportBatches(results: ExportResult[], sizes: number[], clock: number[] = []) {
  const reports: MqtrailError[] = [];
  const exporter = new ExportHealthExporter(
    fakeExporter(results),
    ENDPOINT,
    (report) => reports.push(report),
    () => clock.shift() ?? 0,
  );
  const passed: ExportResult[] = [];
  for (const size of sizes) exporter.export(spans(size), (result) => passed.push(result));
  return { reports, passed };
}

describe('ExportHealthExporter', () => {
  it('reports each outage once when it starts and once when it ends (fail, fail, succeed, fail)', () => {
    const results = [refused, refused, ok, refused];
    const { reports, passed } = exportBatches([...results], [512, 100, 512, 7], [1_000, 62_400, 70_000]);

    expect(passed).toEqual(results);
    expect(reports.map((report) => report.code)).toEqual([
      'MQTRAIL_EXPORT_FAILED',
      'MQTRAIL_EXPORT_RECOVERED',
      'MQTRAIL_EXPORT_FAILED',
    ]);
    expect(reports[0]?.message).toBe(
      `cannot export traces to ${ENDPOINT} (connect ECONNREFUSED 127.0.0.1:4318). ` +
        'The application runs on; spans are dropped until it is reachable.',
    );
    // The outage began at 1.0 s and ended at 62.4 s; both failed batches are counted, the
    // successful one is not.
    expect(reports[1]?.message).toContain(
      `traces reach ${ENDPOINT} again after 61 s; during the outage 2 batches (612 spans) failed to export and were dropped`,
    );
  });

  it('counts a new outage from zero', () => {
    const { reports } = exportBatches([refused, ok, refused, refused, refused, ok], [10, 10, 3, 3, 3, 10]);
    expect(reports.map((report) => report.code)).toEqual([
      'MQTRAIL_EXPORT_FAILED',
      'MQTRAIL_EXPORT_RECOVERED',
      'MQTRAIL_EXPORT_FAILED',
      'MQTRAIL_EXPORT_RECOVERED',
    ]);
    expect(reports[1]?.message).toContain('1 batch (10 spans)');
    expect(reports[3]?.message).toContain('3 batches (9 spans)');
  });

  it('says nothing while exports succeed', () => {
    expect(exportBatches([ok, ok, ok], [5, 5, 5]).reports).toEqual([]);
  });

  it("names a connection error by its code when its message is empty (AggregateError for 'localhost')", () => {
    const error = Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' });
    const { reports } = exportBatches([{ code: ExportResultCode.FAILED, error }], [1]);
    expect(reports[0]?.message).toContain(`${ENDPOINT} (ECONNREFUSED)`);
  });

  it('passes every result on even when reporting throws', () => {
    const exporter = new ExportHealthExporter(fakeExporter([refused, ok]), ENDPOINT, () => {
      throw new Error('a broken warning listener');
    });
    const passed: ExportResult[] = [];
    for (let i = 0; i < 2; i++) exporter.export(spans(1), (result) => passed.push(result));
    expect(passed).toEqual([refused, ok]);
  });

  it('delegates shutdown and forceFlush', async () => {
    const inner = fakeExporter([]);
    const exporter = new ExportHealthExporter(inner, ENDPOINT, () => {});
    await exporter.forceFlush();
    await exporter.shutdown();
    expect(inner.forceFlush).toHaveBeenCalledOnce();
    expect(inner.shutdown).toHaveBeenCalledOnce();
  });
});
