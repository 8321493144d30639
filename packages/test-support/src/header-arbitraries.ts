/**
 * What the randomized header suites (the `*.fuzz.test.ts` files of core and the instrumentations)
 * share: the fast-check settings, arbitraries of propagation header text (near misses of
 * `traceparent` and of the `mqtrail` chain header, valid values among them) and of header-name
 * spellings, and the helpers their properties check with. Each suite keeps its own header maps and
 * keys, which model what its client delivers.
 *
 * Nothing here imports @mqtrail/core (its tests use this package): callers pass what
 * `extractMessage` read.
 */
import { type SpanContext, TraceFlags } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';

/**
 * Settings of every property: 10,000 runs from a fixed seed, so every run checks the same values
 * (fast-check prints the seed and the shrunk value of a failure). Set MQTRAIL_FUZZ_SEED=<integer>
 * to explore other values.
 */
export const FUZZ = { seed: Number(process.env.MQTRAIL_FUZZ_SEED ?? 0x6d717472), numRuns: 10_000 };

/** Well-formed values whose trace id or span id is all zeros, which W3C makes invalid. */
const ZERO_ID_TRACEPARENTS = [
  `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
  `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`,
];

/**
 * Near misses of the W3C format (lengths, case, versions, extra fields) and valid values, sampled or
 * not; with `zeroIds`, also values whose trace or span id is all zeros.
 */
export function traceparentNearMisses({ zeroIds = false }: { zeroIds?: boolean } = {}): fc.Arbitrary<string> {
  return fc.oneof(
    fc.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/),
    fc.stringMatching(/^(00|01|ff|FF)-[0-9a-fA-F]{31,33}-[0-9a-f]{15,17}-[0-9a-f]{1,3}(-[a-z0-9]{0,3})?$/),
    ...(zeroIds ? [fc.constantFrom(...ZERO_ID_TRACEPARENTS)] : []),
    fc.string({ maxLength: 60 }),
  );
}

/** Near misses of the W3C format and valid values, sampled or not. */
export const traceparentText: fc.Arbitrary<string> = traceparentNearMisses();

/** Near misses of `1;s=<ms>;o=<ms>;h=<hops>` (sign, size, version, trailing fields) and valid values. */
export const chainText: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^1;s=[1-9][0-9]{0,14};o=[1-9][0-9]{0,14};h=[1-9][0-9]{0,3}$/),
  fc.stringMatching(/^-?[0-9]{1,2};s=-?[0-9.e]{0,18};o=(NaN|Infinity|[0-9]{0,17});h=-?[0-9]{0,6}(;.{0,3})?$/),
  fc.string({ maxLength: 60 }),
);

/** Mostly the name as written, else any case variant: header names are case-insensitive. */
export const spelling = (name: string): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(name) }, { weight: 1, arbitrary: fc.mixedCase(fc.constant(name)) });

/** Gives `headers` an own `__proto__` key, as kafkajs's decoder (computed keys) and JSON.parse make them. */
export function withOwnProtoKey(headers: Record<string, unknown>, value: unknown): Record<string, unknown> {
  Object.defineProperty(headers, '__proto__', { value, enumerable: true, writable: true, configurable: true });
  return headers;
}

/**
 * A deep copy that keeps what equality must see: Buffers, typed arrays and Dates as such, each
 * plain map's prototype (or none), own `__proto__` keys as own keys, functions and other objects
 * by reference.
 */
export function snapshot(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snapshot);
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof Date) return new Date(value.getTime());
  if (value === null || typeof value !== 'object') return value;
  // Plain maps only, with or without a prototype (fast-check makes both); other objects by reference.
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = Object.create(prototype);
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, {
      value: snapshot((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** The checks that do not hold: one assertion per run, which keeps 10,000 runs fast. */
export function failed(checks: Record<string, boolean>): string[] {
  return Object.keys(checks).filter((check) => !checks[check]);
}

/** What `extractMessage` read from a message's headers, as far as the consume path uses it. */
export interface Extracted {
  creation: SpanContext | undefined;
  chain: { hops: number } | undefined;
}

/**
 * Whether the consume path used what `extractMessage` (fuzzed on its own in core) read from the
 * headers: the process span is parented on the creation context and counts the chain's hops; under
 * an unsampled creation context no span records.
 */
export function followsExtract({ creation, chain }: Extracted, spans: ReadableSpan[]): boolean {
  if (creation !== undefined && (creation.traceFlags & TraceFlags.SAMPLED) === 0) return spans.length === 0;
  const [span] = spans;
  return (
    spans.length === 1 &&
    span?.parentSpanContext?.spanId === creation?.spanId &&
    span?.attributes['mqtrail.chain.hops'] === (chain?.hops ?? 1)
  );
}
