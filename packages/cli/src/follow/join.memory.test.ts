import { describe, expect, it } from 'vitest';
import { type DeliveryFact, factKey, IN_SCOPE, type SendFact, scopeKey } from '../audit/facts';
import { heapUsed } from '../test-support/heap';
import { emptyOutput, JoinState } from './join';

const T = 1_767_225_600_000_000;
const MESSAGES = 50_000;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * Bytes per open message in stage 2's join state (the entry, its key, its deadline): what a worker
 * needs per message sent within the last grace period. README "Sizing" quotes these numbers.
 */
describe('JoinState memory', () => {
  it('holds an open message in a few hundred bytes', { timeout: 60_000 }, () => {
    const measure = (consumed: boolean) => {
      const join = new JoinState({ graceUs: 30_000_000 });
      const before = heapUsed();
      let out = emptyOutput();
      for (let i = 0; i < MESSAGES; i++) {
        const send: SendFact = {
          type: 'send',
          traceId: hex(i, 32),
          spanId: hex(i, 16),
          scope: scopeKey('checkout', 'orders'),
          startUs: T + i,
          endUs: T + i + 100,
          messageId: `order-${hex(i, 12)}`,
          inScope: true,
        };
        join.apply(factKey(send), send, out);
        if (consumed) {
          const delivery: DeliveryFact = {
            type: 'delivery',
            traceId: send.traceId,
            messageSpanId: send.spanId,
            spanId: hex(i + 1_000_000_000, 16),
            scope: scopeKey('billing', 'orders'),
            startUs: T + i + 200,
            endUs: T + i + 300,
            flags: IN_SCOPE,
            outcome: 'ack',
          };
          join.apply(factKey(delivery), delivery, out);
        }
        if (i % 1_000 === 0) out = emptyOutput(); // the worker writes and drops its output per batch
      }
      out = emptyOutput();
      const perMessage = (heapUsed() - before) / MESSAGES;
      expect(join.openMessages).toBe(MESSAGES);
      return Math.round(perMessage);
    };
    const sentOnly = measure(false);
    const consumed = measure(true);
    process.stdout.write(`join state: ${sentOnly} B per open message (sent), ${consumed} B (sent and consumed)\n`);
    expect(sentOnly).toBeLessThan(900);
    expect(consumed).toBeLessThan(1_300);
  });
});
