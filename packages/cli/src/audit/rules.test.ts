import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH, DEAD_LETTER_ARRIVAL, DUPLICATE, FAILED, IN_SCOPE, REDELIVERED, REJECTED } from './facts';
import { type DeliveryRecord, Interner, judgeMessage, type MessageRecord, mayFind, NONE } from './rules';

const DELIVERY_FLAGS = [IN_SCOPE, REDELIVERED, DUPLICATE, FAILED, REJECTED, DEAD_LETTER_ARRIVAL, BATCH];

describe('mayFind', () => {
  it('is true whenever judgeMessage finds something (so the stream may skip judging when false)', () => {
    const strings = new Interner();
    const scopes = ['a\u0000q', 'b\u0000q'].map((scope) => strings.intern(scope));
    const outcomes = [NONE, strings.intern('ack'), strings.intern('requeue'), strings.intern('drop')];
    const delivery = fc.record({
      spanId: fc.constantFrom('s1', 's2', 's3'),
      consumer: fc.constantFrom(...scopes),
      startUs: fc.nat(1_000),
      endUs: fc.nat(1_000),
      flags: fc.subarray(DELIVERY_FLAGS).map((flags) => flags.reduce((a, b) => a | b, 0)),
      outcome: fc.constantFrom(...outcomes),
      errorType: fc.constant(NONE),
    }) satisfies fc.Arbitrary<DeliveryRecord>;
    const record = fc.record({
      traceId: fc.constant('t'),
      sentAtUs: fc.nat(10_000),
      sender: fc.constantFrom(...scopes),
      flags: fc.nat(15),
      messageId: fc.constant(undefined),
      sendError: fc.constant(NONE),
      deliveries: fc.option(fc.array(delivery, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    }) satisfies fc.Arbitrary<MessageRecord>;
    fc.assert(
      fc.property(record, fc.nat(20_000), fc.boolean(), (message, nowUs, sent) => {
        const found = judgeMessage(sent ? 's' : undefined, message, { strings, graceUs: 5_000, nowUs });
        if (found.length > 0) expect(mayFind(message, nowUs, 5_000)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
