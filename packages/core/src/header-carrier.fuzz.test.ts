/**
 * Randomized header maps through the carrier, both ways: what the clients deliver (kafkajs and
 * amqplib shapes, and worse) read by `extractMessage`, and what users hand to a send copied and
 * injected by `injectHeaders`. Reading must never throw, never touch the map, and give either
 * nothing or a well-formed result; writing must leave the caller's map alone and keep every user
 * header, so propagation adds to what the application sends and changes nothing of it.
 *
 * The seed is fixed so every run checks the same maps; fast-check prints the seed and the shrunk
 * map of a failure. Set MQTRAIL_FUZZ_SEED=<integer> to explore other maps.
 */
import { isDeepStrictEqual } from 'node:util';
import { FUZZ, installTestTelemetry, snapshot, withOwnProtoKey } from '@mqtrail/test-support';
import { isSpanContextValid, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHAIN_HEADER, MAX_HOPS } from './chain-header';
import { type ExtractedMessage, extractMessage } from './consume';
import { copyHeaders, findHeader, headerGetter, headerText } from './header-carrier';
import { injectHeaders } from './produce';

// The global W3C propagators, as an application's SDK set-up registers them.
installTestTelemetry();

/** Keys the carrier reads, and keys that name properties every object inherits. */
const PROPAGATION_KEYS = ['traceparent', 'tracestate', 'baggage', CHAIN_HEADER] as const;
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'length'];
const VALID_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const headerKey = fc.oneof(
  fc.constantFrom(...PROPAGATION_KEYS),
  fc.mixedCase(fc.constantFrom(...PROPAGATION_KEYS)),
  fc.constantFrom(...PROTOTYPE_KEYS, ''),
  fc.string({ maxLength: 12 }),
);

/** Text a propagation header might hold: ours, near misses, and anything. */
const headerString = fc.oneof(
  fc.constantFrom(VALID_TRACEPARENT, '1;s=1700000000000;o=1700000000000;h=1', 'k=v', 'congo=t61rcWkgMzE', ''),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constant('x'.repeat(70_000)),
);

const bytes = fc.oneof(
  headerString.map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array)),
  fc.uint8Array({ maxLength: 64 }),
  fc.constant(Buffer.alloc(0)),
);

/**
 * What kafkajs hands a consumer: `Buffer | null` per header, an array of them when a key repeats,
 * and for a key that names an inherited property the inherited value first (its decoder tests
 * `obj[key] === undefined`, so `constructor` arrives as `[Object, <Buffer>]`). Producers' strings
 * and undefined too, for maps a test or a proxy hands over.
 */
const kafkaValue = fc.oneof(
  bytes,
  headerString,
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.oneof(bytes, headerString, fc.constant(null)), { maxLength: 3 }),
  bytes.map((value) => [Object, value]),
);

function headerMap(value: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.dictionary(headerKey, value, { maxKeys: 8 }), fc.option(value, { nil: undefined }), fc.boolean())
    .map(([headers, protoValue, protoKey]) => (protoKey ? withOwnProtoKey(headers, protoValue) : headers));
}

const kafkaHeaders = headerMap(kafkaValue);

/**
 * What amqplib's decoder produces in a header table (strings, Buffers, every number type as a
 * number, booleans, null, nested tables and arrays, decimals as `{ '!': 'decimal' }`), and values
 * a publisher's own table may hold that the decoder never makes: Dates, bigints, undefined.
 */
const { amqpValue } = fc.letrec((tie) => ({
  amqpValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    headerString,
    bytes,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: false }),
    fc.bigInt(),
    fc.constantFrom(2 ** 53 + 1, -(2 ** 63), Number.NaN, Number.POSITIVE_INFINITY, -0),
    fc.record({ '!': fc.constant('decimal'), value: fc.record({ places: fc.nat(255), digits: fc.nat() }) }),
    fc.array(tie('amqpValue'), { maxLength: 3 }),
    fc.dictionary(headerKey, tie('amqpValue'), { maxKeys: 3 }),
  ),
}));
const amqpHeaders = headerMap(amqpValue);

/** `properties.headers` that is no table at all. */
const notAMap = fc.oneof(
  fc.constantFrom(undefined, null, 'traceparent', VALID_TRACEPARENT, 42, true),
  fc.array(kafkaValue, { maxLength: 3 }),
  bytes,
  fc.oneof(fc.string(), fc.double(), fc.bigInt(), fc.date(), fc.constant(Symbol('header'))),
);

const HEX_TRACE_ID = /^[0-9a-f]{32}$/;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;

/**
 * What is wrong with an extract result, empty when it is well-formed: a creation context valid by
 * W3C trace context (lower-case hex ids, not all zeros, 8-bit flags) and remote, chain facts of
 * whole non-negative times and hops within bounds. A list rather than an `expect` per rule: one
 * assertion per run keeps 10,000 runs fast.
 */
function malformed({ context, creation, chain }: ExtractedMessage): string[] {
  const faults: string[] = [];
  if (context === undefined) faults.push('no context');
  if (
    creation !== undefined &&
    !(
      isSpanContextValid(creation) &&
      HEX_TRACE_ID.test(creation.traceId) &&
      HEX_SPAN_ID.test(creation.spanId) &&
      Number.isInteger(creation.traceFlags) &&
      creation.traceFlags >= 0 &&
      creation.traceFlags <= 255 &&
      creation.isRemote === true
    )
  ) {
    faults.push(`creation context ${JSON.stringify(creation)}`);
  }
  if (
    chain !== undefined &&
    !(
      [chain.sentAt, chain.originAt].every((time) => Number.isSafeInteger(time) && time >= 0) &&
      Number.isInteger(chain.hops) &&
      chain.hops >= 1 &&
      chain.hops <= MAX_HOPS
    )
  ) {
    faults.push(`chain facts ${JSON.stringify(chain)}`);
  }
  return faults;
}

// Node's deep strict equality rather than vitest's, which takes an own `constructor` header for
// the object's class and then tells two equal maps apart.
const changed = (headers: unknown, before: unknown) => !isDeepStrictEqual(headers, before);

function readsWithoutTouching(headers: unknown): void {
  const before = snapshot(headers);
  const faults = malformed(extractMessage(headers));
  for (const key of headerGetter.keys(headers)) headerGetter.get(headers, key);
  if (changed(headers, before)) faults.push('the headers changed');
  expect(faults).toEqual([]);
}

describe('random header maps read by extract', () => {
  it('kafkajs maps: nothing thrown, nothing changed, a well-formed result or none', () => {
    fc.assert(fc.property(kafkaHeaders, readsWithoutTouching), FUZZ);
  });

  it('amqplib tables: nothing thrown, nothing changed, a well-formed result or none', () => {
    fc.assert(fc.property(amqpHeaders, readsWithoutTouching), FUZZ);
  });

  it('headers that are no map at all give nothing', () => {
    fc.assert(
      fc.property(notAMap, (headers) => {
        const { creation, chain } = extractMessage(headers);
        expect(creation === undefined && chain === undefined, 'nothing extracted').toBe(true);
      }),
      FUZZ,
    );
  });
});

/**
 * Objects that fail when read: a Proxy whose traps throw, a revoked Proxy (on which even
 * `Array.isArray` throws) and a typed array whose buffer was transferred away. No client makes
 * them, but a user's interceptor or a framework could hand one over, and a header read must not
 * turn that into an exception.
 */
function hostileValues(): [name: string, value: unknown][] {
  const throwing = new Proxy(
    {},
    {
      get() {
        throw new Error('hostile get');
      },
      ownKeys() {
        throw new Error('hostile keys');
      },
      getOwnPropertyDescriptor() {
        throw new Error('hostile descriptor');
      },
    },
  );
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const detached = new Uint8Array(new ArrayBuffer(8));
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  return [
    ['a Proxy whose traps throw', throwing],
    ['a revoked Proxy', revoked.proxy],
    ['a detached Uint8Array', detached],
    ['an array holding a revoked Proxy', [revoked.proxy]],
    ['an array holding a detached Uint8Array', [detached]],
  ];
}

describe('hostile headers', () => {
  // A fixed table rather than an arbitrary: fast-check itself probes the values it generates.
  const placements = (value: unknown): [string, unknown][] => [
    ['as the map', value],
    ...PROPAGATION_KEYS.map((key): [string, unknown] => [`as ${key}`, { [key]: value }]),
    ['inside an array', { traceparent: [value], mqtrail: [value] }],
  ];
  const cases = hostileValues().flatMap(([name, value]) =>
    placements(value).map(([where, headers]): [string, unknown] => [`${name} ${where}`, headers]),
  );

  it.each(cases)('%s: extract gives nothing and throws nothing', (_name, headers) => {
    const extracted = extractMessage(headers);
    expect(extracted.creation).toBeUndefined();
    expect(extracted.chain).toBeUndefined();
  });

  it.each(hostileValues())('the carrier functions survive %s', (_name, value) => {
    expect(headerText(value)).toBeUndefined();
    expect(findHeader(value, 'traceparent')).toBeUndefined();
    expect(headerGetter.keys(value)).toEqual([]);
    expect(copyHeaders(value)).toEqual({});
  });
});

/** Keys injection owns on a send without baggage or trace state: the only ones it may set. */
const INJECTED = new Set(['traceparent', CHAIN_HEADER]);

const notAllZeros = (id: string) => /[^0]/.test(id);

/** The context and chain facts a send injects: any valid creation context, any chain. */
const sendFacts = fc
  .record({
    spanContext: fc.record({
      traceId: fc.stringMatching(/^[0-9a-f]{32}$/).filter(notAllZeros),
      spanId: fc.stringMatching(/^[0-9a-f]{16}$/).filter(notAllZeros),
      traceFlags: fc.constantFrom(0, 1),
    }),
    chain: fc.record({
      sentAt: fc.integer({ min: 0, max: 2 ** 48 }),
      originAt: fc.integer({ min: 0, max: 2 ** 48 }),
      hops: fc.integer({ min: 1, max: MAX_HOPS }),
    }),
  })
  .map(({ spanContext, chain }) => ({ spanContext, chain: { ...chain } }));

function injectsWithoutTouching(
  headers: Record<string, unknown>,
  sent: typeof sendFacts extends fc.Arbitrary<infer T> ? T : never,
): void {
  const before = snapshot(headers);
  const wire = injectHeaders(trace.setSpanContext(ROOT_CONTEXT, sent.spanContext), sent.chain, headers);
  const faults: string[] = [];
  if (changed(headers, before)) faults.push('the caller’s headers changed');
  if (wire === headers) faults.push('injected into the caller’s headers');
  // Every user header is still there with the very same value; only propagation keys are added.
  for (const key of Object.keys(headers)) {
    if (!INJECTED.has(key) && !(Object.hasOwn(wire, key) && Object.is(wire[key], headers[key]))) {
      faults.push(`user header ${JSON.stringify(key)} lost or changed`);
    }
  }
  for (const key of Object.keys(wire)) {
    if (!Object.hasOwn(headers, key) && !INJECTED.has(key)) faults.push(`header ${JSON.stringify(key)} added`);
  }
  // And what was injected reads back as this send's creation context and chain. (A user's own
  // `tracestate` header is kept and read along with it: only the ids and flags are ours.)
  const { creation, chain } = extractMessage(wire);
  const { traceId, spanId, traceFlags } = sent.spanContext;
  if (creation?.traceId !== traceId || creation.spanId !== spanId || creation.traceFlags !== traceFlags) {
    faults.push(`read back ${JSON.stringify(creation)}`);
  }
  if (!isDeepStrictEqual(chain, sent.chain)) faults.push(`chain read back as ${JSON.stringify(chain)}`);
  expect(faults).toEqual([]);
}

describe('random header maps copied and injected by a send', () => {
  it('kafkajs maps: the caller’s map untouched, every user header kept, context readable', () => {
    fc.assert(fc.property(kafkaHeaders, sendFacts, injectsWithoutTouching), FUZZ);
  });

  it('amqplib tables: the caller’s map untouched, every user header kept, context readable', () => {
    fc.assert(fc.property(amqpHeaders, sendFacts, injectsWithoutTouching), FUZZ);
  });
});
