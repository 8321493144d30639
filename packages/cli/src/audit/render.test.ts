import { beforeEach, describe, expect, it } from 'vitest';
import { shopTrace } from '../test-support/shop-trace';
import { ms, resetIds, T0, TraceBuilder } from '../test-support/traces';
import { AuditAggregator } from './aggregator';
import { breaches, parseFailOn } from './policy';
import { renderAudit } from './render';

beforeEach(resetIds);

function report() {
  const aggregator = new AuditAggregator({
    startUs: T0,
    endUs: T0 + ms(60_000),
    graceUs: ms(5_000),
    slowUs: ms(1_000),
  });
  const trace = new TraceBuilder();
  trace.send({ service: 'api', destination: 'nobody', at: 0, messageId: 'm-lost' });
  const twice = trace.send({ service: 'api', destination: 'orders', at: ms(1) });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [twice],
    at: ms(2),
    duration: ms(1),
    outcome: 'closed',
  });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [twice],
    at: ms(3),
    duration: ms(1),
    outcome: 'ack',
    redelivered: true,
  });
  const rejected = trace.send({ service: 'api', destination: 'orders', at: ms(4) });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [rejected],
    at: ms(5),
    duration: ms(1),
    outcome: 'drop',
  });
  trace.consume({
    service: 'dlq',
    destination: 'orders.dlq',
    messages: [rejected],
    at: ms(6),
    duration: ms(1),
    outcome: 'ack',
    deadLetter: { queue: 'orders' },
  });
  const failing = trace.send({ service: 'api', destination: 'orders', at: ms(7) });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [failing],
    at: ms(8),
    duration: ms(1),
    error: 'TypeError',
  });
  trace.send({
    service: 'api',
    destination: 'orders',
    at: ms(9),
    routingKey: 'x',
    returned: true,
    error: 'ReturnedMessageError',
  });
  aggregator.addTrace(trace.build());
  aggregator.addTrace(shopTrace().trace);
  return aggregator.report();
}

describe('renderAudit', () => {
  it('prints counts, then each finding, then PASS or FAIL', () => {
    const audited = report();
    const text = renderAudit(audited, { breaches: breaches(audited, parseFailOn('lost,duplicate,dead-letter')) });
    expect(text).toMatchInlineSnapshot(`
      "audit 2026-01-01T00:00:00.000Z → 2026-01-01T00:01:00.000Z · all services · grace 5.00 s
      scanned 2 traces, 16 spans: 7 messages sent, 8 consumed

        lost              1  sent, never consumed within the grace period
        duplicate         1  processed more than once by the same consumer
        redelivered       2  redelivered by the broker
        dead-letter       2  dropped or dead-lettered by a consumer, or consumed from a dead-letter queue
        failed            2  send or processing failed
        slow              1  chains slower than 1.00 s
        returned          1  returned by the broker as unroutable (not counted as lost)

      lost (1)
        api → nobody · message id m-lost · sent 2026-01-01T00:00:00.000Z · trace 00000000000000000000000000000001 span 0000000000000002 · not consumed after 1m 00s

      duplicate (1)
        api → orders · sent 2026-01-01T00:00:00.001Z · trace 00000000000000000000000000000001 span 0000000000000003 · billing (orders) processed it 2× (same-message)

      redelivered (2)
        api → orders · sent 2026-01-01T00:00:00.001Z · trace 00000000000000000000000000000001 span 0000000000000003 · redelivered to billing (orders)
        api → orders · message id m-1 · sent 2026-01-01T00:00:00.001Z · trace 0000000000000000000000000000000c span 000000000000000e · redelivered to audit (orders-audit)

      dead-letter (2)
        api → orders · message id m-1 · sent 2026-01-01T00:00:00.001Z · trace 0000000000000000000000000000000c span 000000000000000e · drop by audit (orders-audit)
        api → orders · sent 2026-01-01T00:00:00.004Z · trace 00000000000000000000000000000001 span 0000000000000006 · drop by billing (orders), arrived at dlq (orders.dlq)

      failed (2)
        api → orders · message id m-1 · sent 2026-01-01T00:00:00.001Z · trace 0000000000000000000000000000000c span 000000000000000e · process failed in audit (orders-audit) (ValidationError, drop)
        api → orders · sent 2026-01-01T00:00:00.007Z · trace 00000000000000000000000000000001 span 0000000000000009 · process failed in billing (orders) (TypeError)

      slow (1)
        trace 0000000000000000000000000000000c from api (orders) · took 5.13 s · slowest hop shipping (payments) 5.10 s

      returned (1)
        api → orders · sent 2026-01-01T00:00:00.009Z · trace 00000000000000000000000000000001 span 000000000000000b

      FAIL: lost 1 > 0, duplicate 1 > 0, dead-letter 2 > 0
      "
    `);
  });

  it('lists at most maxListed findings per kind', () => {
    const aggregator = new AuditAggregator({ startUs: T0, endUs: T0 + ms(60_000), graceUs: 0 });
    const trace = new TraceBuilder();
    for (let i = 0; i < 5; i++) trace.send({ service: 'api', destination: 'q', at: ms(i) });
    aggregator.addTrace(trace.build());
    const text = renderAudit(aggregator.report(), { maxListed: 2 });
    expect(text).toContain('lost (5)');
    expect(text).toContain('  … and 3 more (--json lists all)');
    expect(text).not.toContain('PASS');
  });
});
