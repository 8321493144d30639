import { describe, expect, it } from 'vitest';
import { type DeliveryFact, factKey, IN_SCOPE, type SendFact, scopeKey } from '../audit/facts';
import { decodeEntry, encodeEntry } from './codec';
import { emptyOutput, JoinState } from './join';
import { CLOCK_KEY, JoinTask, SpanTask, WATERMARK_KEY } from './tasks';

const T = 1_767_225_600_000_000; // 2026-01-01, µs
const s = (seconds: number) => seconds * 1_000_000;

function send(spanId: string, at: number, extra: Partial<SendFact> = {}): SendFact {
  return {
    type: 'send',
    traceId: 't1',
    spanId,
    scope: scopeKey('api', 'orders'),
    startUs: at,
    endUs: at + 10,
    inScope: true,
    ...extra,
  };
}

function delivery(messageSpanId: string, spanId: string, at: number, flags = IN_SCOPE): DeliveryFact {
  return {
    type: 'delivery',
    traceId: 't1',
    messageSpanId,
    spanId,
    scope: scopeKey('billing', 'orders'),
    startUs: at,
    endUs: at + 10,
    flags,
    outcome: 'ack',
  };
}

describe('JoinState', () => {
  it('writes lost once the clock passes send + grace with no consume, and only then', () => {
    const join = new JoinState({ graceUs: s(5) });
    const out = emptyOutput();
    const lost = send('a', T);
    const consumed = send('b', T);
    join.apply(factKey(lost), lost, out);
    join.apply(factKey(consumed), consumed, out);
    join.advance(T + s(4), out);
    const late = delivery('b', 'c', T + s(4.5));
    join.apply(factKey(late), late, out);
    expect(out.findings).toEqual([]);
    join.advance(T + s(5.1), out);
    expect(out.findings.map((f) => f.key)).toEqual(['lost:t1:a']);
    expect(join.openMessages).toBe(1); // b is kept a grace period after its consume
    join.advance(T + s(20), out);
    expect(out.findings).toHaveLength(1);
    expect(join.openMessages).toBe(0); // state is bounded by the grace period
  });

  it('waits for the send before writing a consume-side finding, or a grace period without it', () => {
    const join = new JoinState({ graceUs: s(5) });
    const out = emptyOutput();
    const first = delivery('m', 'x', T);
    const again = delivery('m', 'y', T + s(1));
    join.apply(factKey(first), first, out);
    join.apply(factKey(again), again, out);
    expect(out.findings).toEqual([]);
    const sent = send('m', T - s(1), { messageId: 'id-1' });
    join.apply(factKey(sent), sent, out);
    expect(out.findings.map((f) => f.key)).toEqual(['duplicate:t1:m:billing@orders']);
    expect(out.findings[0]?.finding).toMatchObject({ messageId: 'id-1', service: 'api', times: 2 });

    const orphan = new JoinState({ graceUs: s(5) });
    const out2 = emptyOutput();
    for (const fact of [delivery('n', 'x', T), delivery('n', 'y', T + s(1))]) orphan.apply(factKey(fact), fact, out2);
    orphan.advance(T + s(6.1), out2);
    expect(out2.findings.map((f) => f.key)).toEqual(['duplicate:t1:n:billing@orders']);
  });

  it('restores entries from their changelog encoding without writing a finding twice', () => {
    const join = new JoinState({ graceUs: s(5) });
    const out = emptyOutput();
    const sent = send('m', T);
    join.apply(factKey(sent), sent, out);
    for (const fact of [delivery('m', 'x', T + 1), delivery('m', 'y', T + 2)]) join.apply(factKey(fact), fact, out);
    expect(out.findings).toHaveLength(1);
    const entry = join.entry('t1:m');
    expect(entry).toBeDefined();
    const restored = new JoinState({ graceUs: s(5) });
    restored.restore(
      't1:m',
      decodeEntry(encodeEntry(entry as NonNullable<typeof entry>, join.strings), restored.strings),
    );
    const out2 = emptyOutput();
    const third = delivery('m', 'z', T + 3);
    restored.apply(factKey(third), third, out2);
    expect(out2.findings).toEqual([]);
    expect(restored.entry('t1:m')).toMatchObject({ written: ['duplicate:t1:m:billing@orders'] });
  });
});

describe('watermarks', () => {
  it('move stage 2 by the oldest span partition, never by the newest', () => {
    const spans = [new SpanTask(0, 1), new SpanTask(1, 1)];
    const task = new JoinTask(0, { graceUs: s(5) }, 2);
    const lost = send('a', T);
    task.facts([{ key: factKey(lost), value: JSON.stringify(lost) }]);
    // Partition 0 is far ahead; partition 1 (a dead worker's) has not moved: nothing is judged.
    task.facts(spans[0]?.idle(true, (T + s(60)) / 1_000, 0).map((r) => ({ key: r.key, value: r.value })) ?? []);
    expect(task.take().findings).toEqual([]);
    task.facts(spans[1]?.idle(true, (T + s(6)) / 1_000, 0).map((r) => ({ key: r.key, value: r.value })) ?? []);
    const { findings, records } = task.take();
    expect(findings.map((f) => f.key)).toEqual(['lost:t1:a']);
    expect(records.find((r) => r.key === CLOCK_KEY)?.value).toContain(`"clock":${T + s(6)}`);
    // A partition still behind never vouches for the wall clock.
    expect(spans[1]?.idle(false, (T + s(600)) / 1_000, 0)).toEqual([]);
    expect(spans[0]?.idle(true, (T + s(1)) / 1_000, 0)).toEqual([]); // never backwards
    expect(WATERMARK_KEY).toBe('~watermark');
  });
});
