import { describe, expect, it } from 'vitest';
import type { JaegerTrace } from '../jaeger/types';
import { heapUsed } from '../test-support/heap';
import { ms, T0, TraceBuilder } from '../test-support/traces';
import { AuditAggregator } from './aggregator';

const TRACES = 20_000;
const SPANS_PER_TRACE = 5;
const PADDING = 1_000;

/**
 * One synthetic trace of 5 spans — an HTTP request, a send, its processing, a send from inside it
 * and that one's processing — each span carrying a 1 kB attribute unique to it, as a real span
 * carries headers, statements or payload sizes the audit has no use for.
 */
function syntheticTrace(index: number): JaegerTrace {
  const trace = new TraceBuilder(index.toString(16).padStart(32, '0'));
  const at = ms(index);
  const http = trace.span({ service: 'api', name: 'POST /orders', at });
  const order = trace.send({
    service: 'api',
    destination: 'orders',
    at: at + 1,
    parent: http,
    messageId: `m-${index}`,
  });
  const billing = trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [order],
    at: at + 5,
    duration: 10,
    outcome: 'ack',
  });
  const payment = trace.send({
    service: 'billing',
    destination: 'payments',
    system: 'kafka',
    at: at + 7,
    parent: billing,
  });
  trace.consume({
    service: 'shipping',
    destination: 'payments',
    system: 'kafka',
    messages: [payment],
    at: at + 20,
    duration: 5,
  });
  const built = trace.build();
  for (const span of built.spans) {
    span.tags?.push({ key: 'app.padding', type: 'string', value: `${span.spanID}:${'x'.repeat(PADDING)}` });
  }
  return built;
}

describe('AuditAggregator memory', () => {
  // A generous timeout: 100,000 spans on a shared 2-core CI machine can take a while.
  it('keeps compact per-message records, not spans, for 100,000 spans', { timeout: 60_000 }, () => {
    const aggregator = new AuditAggregator({ startUs: T0, endUs: T0 + ms(60_000), graceUs: 0 });
    const before = heapUsed();
    for (let index = 0; index < TRACES; index++) aggregator.addTrace(syntheticTrace(index));
    const grown = heapUsed() - before;

    const stats = aggregator.stats;
    expect(stats.spans).toBe(TRACES * SPANS_PER_TRACE);
    expect(stats.traces).toBe(TRACES);
    // One record per message and one entry per consume span: nothing for the HTTP spans.
    expect(stats.messages).toBe(TRACES * 2);
    expect(stats.deliveries).toBe(TRACES * 2);
    // Services, destinations and outcomes are interned once each, however many spans repeat them.
    expect(stats.interned).toBeLessThan(10);

    // Every record holds only its own short fields: no span, tag or attribute object survives.
    for (const [key, record] of aggregator.records()) {
      expect(key).toMatch(/^[0-9a-f]{16}$/);
      expect(Object.keys(record).sort()).toEqual([
        'deliveries',
        'flags',
        'messageId',
        'sendError',
        'sender',
        'sentAtUs',
        'traceId',
      ]);
      expect(record.traceId).toHaveLength(32);
      expect(record.deliveries).toHaveLength(1);
      for (const delivery of record.deliveries ?? []) {
        expect(Object.keys(delivery).sort()).toEqual([
          'consumer',
          'endUs',
          'errorType',
          'flags',
          'outcome',
          'spanId',
          'startUs',
        ]);
        expect(Object.values(delivery).every((value) => typeof value === 'number' || typeof value === 'string')).toBe(
          true,
        );
      }
    }

    // The spans fed in weighed over 100 MB (1 kB of padding each); what is kept is a small fraction:
    // about 40,000 records and 40,000 entries of a few hundred bytes at most.
    const perMessage = grown / stats.messages;
    expect(grown).toBeLessThan(40 * 1024 * 1024);
    expect(perMessage).toBeLessThan(1_000);

    const report = aggregator.report();
    expect(report.scanned).toEqual({
      traces: TRACES,
      spans: TRACES * SPANS_PER_TRACE,
      messages: TRACES * 2,
      deliveries: TRACES * 2,
    });
    expect(report.counts.lost).toBe(0);
  });
});
