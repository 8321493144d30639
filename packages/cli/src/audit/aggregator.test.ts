import { beforeEach, describe, expect, it } from 'vitest';
import type { JaegerTrace } from '../jaeger/types';
import {
  duplicatePublish,
  failedSendAndProcessing,
  healthyChain,
  linksModeConsume,
  returnedMessage,
} from '../test-support/rule-cases';
import { shopTrace } from '../test-support/shop-trace';
import { ms, resetIds, T0, TraceBuilder } from '../test-support/traces';
import { AuditAggregator, type AuditOptions } from './aggregator';

beforeEach(resetIds);

/** A window of 10 minutes from T0, judged at its end, with a 30 s grace period. */
const WINDOW: AuditOptions = { startUs: T0, endUs: T0 + ms(600_000), graceUs: ms(30_000) };

function audit(traces: JaegerTrace[], options: Partial<AuditOptions> = {}) {
  const aggregator = new AuditAggregator({ ...WINDOW, ...options });
  for (const trace of traces) aggregator.addTrace(trace);
  return aggregator.report();
}

describe('AuditAggregator', () => {
  it('finds nothing in a healthy chain', () => {
    const { trace } = healthyChain();
    const report = audit([trace.build()]);
    expect(report.counts).toEqual({
      lost: 0,
      duplicate: 0,
      redelivered: 0,
      'dead-letter': 0,
      failed: 0,
      slow: 0,
      returned: 0,
    });
    expect(report.scanned).toEqual({ traces: 1, spans: 2, messages: 1, deliveries: 1 });
  });

  it('reports a send with no consume span as lost once it is older than the grace period', () => {
    const trace = new TraceBuilder();
    const old = trace.send({ service: 'api', destination: 'orders', at: ms(1_000), messageId: 'm-old' });
    trace.send({ service: 'api', destination: 'orders', at: ms(590_000) }); // 10 s before the end: still in grace
    const report = audit([trace.build()]);
    expect(report.counts.lost).toBe(1);
    expect(report.findings.lost[0]).toEqual({
      kind: 'lost',
      traceId: trace.traceId,
      sendSpanId: old,
      service: 'api',
      destination: 'orders',
      messageId: 'm-old',
      sentAt: new Date((T0 + ms(1_000)) / 1_000).toISOString(),
      ageMs: 599_000,
    });
    expect(audit([trace.build()], { graceUs: 0 }).counts.lost).toBe(2);
  });

  it('counts a consume span in another trace that links to the send (useLinksForConsume) as consumed', () => {
    const { producer, consumer } = linksModeConsume();
    expect(audit([producer.build(), consumer.build()]).counts.lost).toBe(0);
    expect(audit([consumer.build(), producer.build()]).counts.lost).toBe(0);
  });

  it('reports returned messages apart, never as lost', () => {
    const { trace, returned } = returnedMessage();
    const report = audit([trace.build()]);
    expect(report.counts).toMatchObject({ lost: 0, returned: 1, failed: 0 });
    expect(report.findings.returned[0]).toMatchObject({ sendSpanId: returned, destination: 'nowhere' });
  });

  it('reports a message processed twice by the same consumer as one duplicate, and its redelivery', () => {
    const trace = new TraceBuilder();
    const sent = trace.send({ service: 'api', destination: 'orders', at: 0 });
    const first = trace.consume({
      service: 'billing',
      destination: 'orders',
      messages: [sent],
      at: ms(1),
      duration: ms(1),
      outcome: 'closed',
    });
    const second = trace.consume({
      service: 'billing',
      destination: 'orders',
      messages: [sent],
      at: ms(3),
      duration: ms(1),
      outcome: 'ack',
      redelivered: true,
      duplicate: true,
    });
    // Another queue bound to the same exchange gets its own copy: not a duplicate.
    trace.consume({
      service: 'audit',
      destination: 'orders-audit',
      messages: [sent],
      at: ms(2),
      duration: ms(1),
      outcome: 'ack',
    });
    const report = audit([trace.build()]);
    expect(report.counts).toMatchObject({ duplicate: 1, redelivered: 1, lost: 0, failed: 0 });
    expect(report.findings.duplicate[0]).toMatchObject({
      sendSpanId: sent,
      consumer: 'billing',
      consumerDestination: 'orders',
      times: 2,
      reasons: ['same-message', 'flagged'],
      processSpanIds: [first, second],
    });
    expect(report.findings.redelivered[0]).toMatchObject({
      sendSpanId: sent,
      consumer: 'billing',
      processSpanIds: [second],
    });
  });

  it('reports a consume span the instrumentation flagged duplicate (same message id, another send)', () => {
    const { trace, b } = duplicatePublish();
    const report = audit([trace.build()]);
    expect(report.counts.duplicate).toBe(1);
    expect(report.findings.duplicate[0]).toMatchObject({
      sendSpanId: b,
      messageId: 'same',
      times: 1,
      reasons: ['flagged'],
    });
  });

  it('does not count a kafkajs batch span and the per-message span inside it as two processings', () => {
    const trace = new TraceBuilder();
    const sends = [0, 1].map((i) => trace.send({ service: 'api', destination: 't', system: 'kafka', at: ms(i) }));
    trace.consume({
      service: 'ship',
      destination: 't',
      system: 'kafka',
      messages: sends,
      at: ms(5),
      duration: ms(9),
      batchCount: 2,
    });
    for (const sent of sends) {
      trace.consume({
        service: 'ship',
        destination: 't',
        system: 'kafka',
        messages: [sent],
        at: ms(6),
        duration: ms(1),
      });
    }
    const report = audit([trace.build()]);
    expect(report.counts).toMatchObject({ duplicate: 0, lost: 0 });
    expect(report.scanned.deliveries).toBe(4);

    // A batch delivered twice (a replay after a rebalance) is.
    const replay = new TraceBuilder();
    const sent = replay.send({ service: 'api', destination: 't', system: 'kafka', at: 0 });
    for (const at of [5, 50]) {
      replay.consume({
        service: 'ship',
        destination: 't',
        system: 'kafka',
        messages: [sent],
        at: ms(at),
        duration: ms(1),
        batchCount: 1,
      });
    }
    expect(audit([replay.build()]).counts.duplicate).toBe(1);
  });

  it('reports a dead-lettered message once: dropped by one consumer, consumed from the dead-letter queue by another', () => {
    const trace = new TraceBuilder();
    const sent = trace.send({ service: 'api', destination: 'orders', at: 0 });
    const dropped = trace.consume({
      service: 'billing',
      destination: 'orders',
      messages: [sent],
      at: ms(1),
      duration: ms(1),
      outcome: 'drop',
    });
    const arrived = trace.consume({
      service: 'dlq-reader',
      destination: 'orders.dlq',
      messages: [sent],
      at: ms(5),
      duration: ms(1),
      outcome: 'ack',
      deadLetter: { queue: 'orders', reason: 'rejected', exchange: 'dlx' },
    });
    const only = trace.send({ service: 'api', destination: 'orders', at: ms(10) });
    trace.consume({
      service: 'billing',
      destination: 'orders',
      messages: [only],
      at: ms(11),
      duration: ms(1),
      outcome: 'dead-letter',
    });
    const report = audit([trace.build()]);
    expect(report.counts).toMatchObject({ 'dead-letter': 2, duplicate: 0, lost: 0, failed: 0 });
    expect(report.findings['dead-letter'][0]).toEqual({
      kind: 'dead-letter',
      traceId: trace.traceId,
      sendSpanId: sent,
      service: 'api',
      destination: 'orders',
      sentAt: new Date(T0 / 1_000).toISOString(),
      rejectedBy: { service: 'billing', destination: 'orders', outcome: 'drop', spanId: dropped },
      arrivedAt: { service: 'dlq-reader', destination: 'orders.dlq', spanId: arrived },
    });
  });

  it('reports failed sends and failed processing', () => {
    const { trace, bad, failed } = failedSendAndProcessing();
    const report = audit([trace.build()]);
    expect(report.counts).toMatchObject({ failed: 3, lost: 0 });
    expect(report.findings.failed.map((f) => [f.phase, f.errorType, f.outcome])).toEqual([
      ['send', 'KafkaJSNumberOfRetriesExceeded', undefined],
      ['process', 'TypeError', 'requeue'],
      ['process', 'timeout', 'timeout'],
    ]);
    expect(report.findings.failed[1]).toMatchObject({
      failedAt: { service: 'billing', destination: 'orders', spanId: failed },
    });
    expect(report.findings.failed[0]?.sendSpanId).toBe(bad);
  });

  it('reports chains slower than --slow, with their slowest hop', () => {
    const { trace, ids } = shopTrace(); // 1 ms → 5.133 s
    expect(audit([trace]).counts.slow).toBe(0); // not checked without slowUs
    expect(audit([trace], { slowUs: ms(10_000) }).counts.slow).toBe(0);
    const report = audit([trace], { slowUs: ms(5_000) });
    expect(report.findings.slow).toEqual([
      {
        kind: 'slow',
        traceId: trace.traceID,
        durationMs: 5_132,
        origin: { service: 'api', destination: 'orders' },
        slowestHop: { service: 'shipping', destination: 'payments', spanId: ids.shipping, latencyMs: 5_103 },
      },
    ]);
  });

  it('judges only the services, destinations and window asked for', () => {
    const trace = new TraceBuilder();
    trace.send({ service: 'api', destination: 'orders', at: 0 });
    trace.send({ service: 'other', destination: 'orders', at: 0 });
    trace.send({ service: 'api', destination: 'invoices', at: 0 });
    const built = trace.build();
    expect(audit([built]).counts.lost).toBe(3);
    expect(audit([built], { services: ['api'] }).counts.lost).toBe(2);
    expect(audit([built], { services: ['api'], destinations: ['orders'] }).counts.lost).toBe(1);
    expect(audit([built], { startUs: T0 + 1 }).counts.lost).toBe(0);
  });

  it('counts a trace seen twice (two slices, two services) once', () => {
    const { trace } = shopTrace();
    const aggregator = new AuditAggregator(WINDOW);
    aggregator.addTrace(trace);
    const once = aggregator.report();
    aggregator.addTrace(trace);
    aggregator.addTrace({ ...trace, spans: [...trace.spans].reverse() });
    // A later fetch with more spans adds only what is new.
    const grown = shopTrace().trace;
    aggregator.addTrace({ ...trace, spans: [...trace.spans, ...grown.spans.slice(0, 1)] });
    expect(aggregator.report().counts).toEqual(once.counts);
    expect(aggregator.stats.deliveries).toBe(3);
  });
});
