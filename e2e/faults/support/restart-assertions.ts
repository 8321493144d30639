import { expect } from 'vitest';
import { errorKinds, type FollowedSpan, type RestartRun } from './restart-scenario';

const MiB = 1024 * 1024;
const MQTRAIL_ERRORS =
  /\b(ChannelClosedError|PublishNackedError|ConfirmTimeoutError|ReturnedMessageError|Mqtrail\w*Error)\b/;

/** The application recovered: every message it produced, before, during and after the crash, was consumed unaltered. */
export function expectRecovered(run: RestartRun): void {
  expect(run.missing).toEqual([]);
  expect(run.altered).toEqual([]);
  expect(run.consumed).toBe(run.total);
}

/**
 * The instrumented application saw the same kinds of errors as the uninstrumented one. Kinds that
 * `timingDependent` matches are left out of the comparison: they depend on how far the broker's
 * start had got when a request arrived, and vary between two uninstrumented runs too. Each of
 * those must still be the client's own error, never mqtrail's.
 */
export function expectSameErrors(traced: RestartRun, plain: RestartRun, timingDependent?: RegExp): void {
  const compared = (run: RestartRun) => errorKinds(run).filter((kind) => !timingDependent?.test(kind));
  expect(compared(traced)).toEqual(compared(plain));
  // The errors mqtrail records on spans (instrumentation-amqplib/src/errors.ts) never reach the application.
  for (const kind of errorKinds(traced)) expect(kind).not.toMatch(MQTRAIL_ERRORS);
}

/** Nothing escaped as an unhandled rejection or exception that the uninstrumented client did not produce too. */
export function expectNoUnhandledFromMqtrail(traced: RestartRun, plain: RestartRun): void {
  expect(traced.unhandled.filter((entry) => entry.fromMqtrail)).toEqual([]);
  const kinds = (run: RestartRun) => run.unhandled.map((entry) => `${entry.type}: ${entry.kind}`).sort();
  expect(kinds(traced)).toEqual(kinds(plain));
}

/** Every span started has ended, including each one open when the broker died. */
export function expectEverySpanEnded(traced: RestartRun): void {
  const spans = traced.spans;
  if (spans === undefined) throw new Error('the instrumented run reported no span ledger');
  expect(spans.open).toEqual([]);
  expect(spans.ended).toBe(spans.started);
  expect(spans.followed.length).toBe(traced.openAtKill?.length);
  expect(spans.followed.filter((span) => !span.ended)).toEqual([]);
}

/** How the spans of one operation that were open at the kill ended: how many there were, and what each matches. */
export interface FollowedEnding {
  count: number;
  each: Partial<FollowedSpan>;
}

/** The spans of `operation` (`process`, `send`) open at the kill: `count` of them, each ended as `each` says. */
export function expectFollowedEnded(traced: RestartRun, operation: string, { count, each }: FollowedEnding): void {
  const spans = (traced.spans?.followed ?? []).filter((span) => span.name.startsWith(`${operation} `));
  expect(spans, `${operation} spans open at the kill`).toHaveLength(count);
  for (const span of spans) expect(span).toMatchObject(each);
}

/** The counters kept counting after recovery: at least every message sent and consumed since the crash. */
export function expectCountersKeptCounting(traced: RestartRun, sinceCrash: number): void {
  const { before, after } = traced.counters;
  if (before === undefined || after === undefined) throw new Error('the instrumented run reported no counters');
  for (const name of ['messaging.client.sent.messages', 'messaging.client.consumed.messages']) {
    expect(before[name], name).toBeGreaterThan(0);
    expect((after[name] ?? 0) - (before[name] ?? 0), name).toBeGreaterThanOrEqual(sinceCrash);
  }
  expect(after['mqtrail.settled.messages'] ?? 0).toBeGreaterThan(before['mqtrail.settled.messages'] ?? 0);
}

/**
 * Heap (after full GCs) once the backlog drained is back within `toleranceMiB` of the baseline
 * taken after warm-up. Prints both runs' growth and outage, the figures the tolerance is set from.
 */
export function expectHeapBack(client: string, traced: RestartRun, plain: RestartRun, toleranceMiB: number): void {
  const grown = (run: RestartRun) => (run.heap.after - run.heap.baseline) / MiB;
  console.log(
    `${client}: heap after the drain vs after warm-up ${grown(traced).toFixed(2)} MiB with mqtrail, ` +
      `${grown(plain).toFixed(2)} MiB without; broker down ${traced.outageMs} / ${plain.outageMs} ms`,
  );
  expect(grown(traced)).toBeLessThan(toleranceMiB);
}
