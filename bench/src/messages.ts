/**
 * Synthetic message contents shared by the workloads: what an upstream producer would have put
 * in the headers, with a unique trace and span id per message (the duplicate detector and the
 * span machinery must see distinct messages, as in production).
 */

// Hex only: a non-hex trace id fails W3C parsing, and every consumed message would look untraced.
const TRACE_PREFIX = '5ee0be0c00000000';

/** 16 hex digits of a positive integer; never all zeros, as W3C requires. */
function hex16(value: number): string {
  return (value + 1).toString(16).padStart(16, '0');
}

/**
 * A `traceparent` as an instrumented producer injects it. `sampled` mirrors the producer's own
 * sampler: a 0% producer sends flag 00, so a ParentBased consumer does not sample either.
 */
export function traceparent(sequence: number, sampled: boolean): string {
  const id = hex16(sequence);
  return `00-${TRACE_PREFIX}${id}-${id}-${sampled ? '01' : '00'}`;
}

/** Whether the upstream producer of message `sequence` sampled it (its `traceparent` flag). */
export type UpstreamSampling = (sequence: number) => boolean;

/**
 * The upstream fleet samples at the variant's ratio, so a `ParentBased` consumer samples what its
 * producers sampled. At 100% every flag is 01 and at 0% every one is 00; in between the flag is
 * set deterministically on every (1/ratio)-th message — at 1%, sequences 0, 100, 200, … — so every
 * run, variant and repetition consumes exactly the same sampled share (a flag of 01 on every
 * message would make a 1% consumer sample everything).
 */
export function upstreamSampling(ratio: number): UpstreamSampling {
  if (ratio >= 1) return () => true;
  if (!(ratio > 0)) return () => false;
  const every = Math.round(1 / ratio);
  return (sequence) => sequence % every === 0;
}

/** The `mqtrail` chain header as mqtrail's producer writes it (core/chain-header.ts). */
export function chainHeader(sentAtMs: number): string {
  const ms = Math.trunc(sentAtMs);
  return `1;s=${ms};o=${ms};h=1`;
}

/** Payload of every message: ~128 bytes, like a small JSON event. */
const PAYLOAD_TEXT = `{"event":"bench","padding":"${'x'.repeat(96)}"}`;
export const PAYLOAD = Buffer.from(PAYLOAD_TEXT);

/** Current epoch time in ms with sub-millisecond precision: the same clock on every process. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Broker workloads put the send time first in the body, `<epoch ms>|<sequence>|payload`, so the
 * consumer can measure delivery latency without trusting any header an instrumentation adds.
 */
export function timedBody(sequence: number): Buffer {
  return Buffer.from(`${epochMs().toFixed(3)}|${sequence}|${PAYLOAD_TEXT}`);
}
