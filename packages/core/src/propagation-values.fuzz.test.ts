/**
 * Randomized `traceparent` and `mqtrail` values through `extractMessage`, in every shape the
 * clients deliver them (string, Buffer, Uint8Array, array of either) and under any spelling of the
 * key, each checked against a reference written from its format: the W3C rules for
 * `traceparent`, the chain header's own grammar for `mqtrail`. A valid value is always read
 * exactly; anything else gives nothing.
 *
 * The seed is fixed so every run checks the same values; fast-check prints the seed and the
 * shrunk value of a failure. Set MQTRAIL_FUZZ_SEED=<integer> to explore other values.
 */
import { isDeepStrictEqual } from 'node:util';
import { FUZZ, installTestTelemetry, spelling } from '@mqtrail/test-support';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHAIN_HEADER, type ChainFacts, encodeChainHeader, MAX_HOPS } from './chain-header';
import { extractMessage } from './consume';
import { MAX_HEADER_VALUE_BYTES } from './header-carrier';

// The global W3C propagators, as an application's SDK set-up registers them.
installTestTelemetry();

/** A value as a client may deliver it, and the text a reader of that shape must see. */
interface Shaped {
  value: unknown;
  text: string | undefined;
}

/**
 * `text` as a string, a Buffer, a plain Uint8Array or an array led by one of these. Bytes are
 * decoded as UTF-8 (so lone surrogates come back replaced); values over the size bound are not
 * read at all.
 */
function shapes(text: fc.Arbitrary<string>): fc.Arbitrary<Shaped> {
  const readable = (decoded: string, size: number) => (size <= MAX_HEADER_VALUE_BYTES ? decoded : undefined);
  const asString = text.map((value) => ({ value, text: readable(value, value.length) }));
  const asBytes = fc.tuple(text, fc.boolean()).map(([value, plain]) => {
    const bytes = Buffer.from(value);
    return { value: plain ? new Uint8Array(bytes) : bytes, text: readable(bytes.toString(), bytes.length) };
  });
  const single = fc.oneof(asString, asBytes);
  // kafkajs makes an array of a key that repeats; the first value is the one read.
  const repeated = fc
    .tuple(single, fc.array(fc.oneof(fc.string(), fc.constant(null)), { maxLength: 2 }))
    .map(([first, rest]) => ({ value: [first.value, ...rest], text: first.text }));
  return fc.oneof({ weight: 3, arbitrary: single }, { weight: 1, arbitrary: repeated });
}

/** The header under one spelling, beside headers of no interest. */
function headersWith(shaped: Shaped, spelling: string): Record<string, unknown> {
  const headers: Record<string, unknown> = { 'content-type': 'application/json', 'x-retry': Buffer.from('1') };
  headers[spelling] = shaped.value;
  return headers;
}

const hexDigit = fc.constantFrom(...'0123456789abcdef');
const hex = (length: number) => fc.string({ unit: hexDigit, minLength: length, maxLength: length });
/** A hex field: right, all zeros, upper- or mixed-case, or a digit short or long. */
const hexField = (length: number) =>
  fc.oneof(
    { weight: 6, arbitrary: hex(length) },
    fc.constant('0'.repeat(length)),
    fc.mixedCase(hex(length)),
    hex(length - 1),
    hex(length + 1),
    fc.string({ minLength: length, maxLength: length }),
  );

/** Inserts, deletes or replaces one character: the near misses a bit flip or a bad copy make. */
function mutated(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(text, fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.string({ minLength: 1, maxLength: 1 }))
    .map(([value, at, how, char]) => {
      const index = value.length === 0 ? 0 : at % value.length;
      const keep = how === 'insert' ? index : index + 1;
      return value.slice(0, index) + (how === 'delete' ? '' : char) + value.slice(keep);
    });
}

const validTraceparent = fc
  .tuple(hex(32), hex(16), hex(2))
  .filter(([traceId, spanId]) => /[^0]/.test(traceId) && /[^0]/.test(spanId))
  .map(([traceId, spanId, flags]) => `00-${traceId}-${spanId}-${flags}`);

const traceparentText = fc.oneof(
  { weight: 3, arbitrary: validTraceparent },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constant('00'), hexField(2), fc.constantFrom('ff', 'FF', '0', '000')),
        hexField(32),
        hexField(16),
        fc.oneof(hexField(2), fc.constantFrom('1', '001', '0g')),
        fc.oneof(
          fc.constant(''),
          fc.constant('-'),
          fc.string({ maxLength: 12 }).map((extra) => `-${extra}`),
        ),
        fc.constantFrom('-', '-', '-', '_', ''),
        fc.constantFrom('', ' ', '\t', '  ', '\n'),
      )
      .map(([version, traceId, spanId, flags, extra, dash, pad]) => {
        const text = [version, traceId, spanId, flags].join(dash) + extra;
        return `${pad}${text}${pad}`;
      }),
  },
  { weight: 3, arbitrary: mutated(validTraceparent) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: validTraceparent.map((value) => value + '-'.repeat(MAX_HEADER_VALUE_BYTES)) },
);

/**
 * W3C Trace Context, "traceparent Header Field Values": version, trace-id, parent-id and flags as
 * lower-case hex of 2, 32, 16 and 2 digits; version ff invalid; version 00 exactly these four
 * fields, later versions possibly more after a dash; ids not all zeros.
 */
function w3cTraceparent(text: string) {
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/s.exec(text);
  if (match === null) return undefined;
  const [, version, traceId = '', spanId = '', flags = '', more] = match;
  if (version === 'ff' || (version === '00' && more !== undefined)) return undefined;
  if (!/[^0]/.test(traceId) || !/[^0]/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) };
}

describe('random traceparent values through extract', () => {
  it('read exactly when valid by W3C, and otherwise give no creation context', () => {
    const case_ = fc.tuple(shapes(traceparentText), spelling('traceparent'));
    fc.assert(
      fc.property(case_, ([shaped, spelling]) => {
        const { creation, chain } = extractMessage(headersWith(shaped, spelling));
        const found =
          creation === undefined
            ? undefined
            : { traceId: creation.traceId, spanId: creation.spanId, traceFlags: creation.traceFlags };
        const text = shaped.text;
        const faults: string[] = [];
        if (chain !== undefined) faults.push('chain facts from no chain header');
        if (creation !== undefined && creation.isRemote !== true) faults.push('a creation context not remote');
        // OpenTelemetry also accepts one blank around the value, which W3C leaves unsaid; nothing else.
        const lenient = text === undefined ? undefined : w3cTraceparent(text.replace(/^\s/, '').replace(/\s$/, ''));
        const strict = text === undefined ? undefined : w3cTraceparent(text);
        if (strict !== undefined && text?.startsWith('00-') && !isDeepStrictEqual(found, strict)) {
          faults.push(`valid ${JSON.stringify(text)} read as ${JSON.stringify(found)}`);
        }
        if (found !== undefined && !isDeepStrictEqual(found, lenient)) {
          faults.push(`${JSON.stringify(text)} read as ${JSON.stringify(found)}`);
        }
        expect(faults).toEqual([]);
      }),
      FUZZ,
    );
  });
});

const time = fc.integer({ min: 0, max: 999_999_999_999_999 });
const validChain = fc
  .tuple(time, time, fc.integer({ min: 1, max: MAX_HOPS }))
  .map(([sentAt, originAt, hops]) => encodeChainHeader({ sentAt, originAt, hops }));

/** A number field as writers get it wrong: huge, negative, NaN-ish, signed, fractional, non-ASCII digits. */
const numberField = fc.oneof(
  { weight: 4, arbitrary: fc.nat().map(String) },
  fc.bigInt({ min: 10n ** 15n, max: 10n ** 25n }).map(String),
  fc.integer({ max: -1 }).map(String),
  fc.constantFrom('NaN', 'Infinity', '-0', '1e5', '0x10', '1.5', '', ' 1', '+1', '01', '00', '٣', '１', '10001'),
  fc.string({ maxLength: 4 }),
);

const chainText = fc.oneof(
  { weight: 3, arbitrary: validChain },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('1', '1', '1', '2', '0', '01', '', '1 ', 'v1'),
        numberField,
        numberField,
        numberField,
        fc.constantFrom('', '', '', ';', ';x=1', '\n', ' ', '\0'),
      )
      .map(([version, sent, origin, hops, extra]) => `${version};s=${sent};o=${origin};h=${hops}${extra}`),
  },
  { weight: 2, arbitrary: fc.tuple(validChain, fc.nat()).map(([value, cut]) => value.slice(0, cut % value.length)) },
  { weight: 2, arbitrary: mutated(validChain) },
  { weight: 1, arbitrary: fc.string({ maxLength: 120 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
);

/** The chain header's grammar (chain-header.ts): `1;s=<ms>;o=<ms>;h=<hops>`, no leading zeros. */
function chainFacts(text: string): ChainFacts | undefined {
  const match = /^1;s=(0|[1-9][0-9]{0,14});o=(0|[1-9][0-9]{0,14});h=([1-9][0-9]{0,4})$/.exec(text);
  if (match === null || Number(match[3]) > MAX_HOPS) return undefined;
  return { sentAt: Number(match[1]), originAt: Number(match[2]), hops: Number(match[3]) };
}

describe('random mqtrail values through extract', () => {
  it('read exactly when in the chain header’s format, and otherwise give no chain facts', () => {
    const case_ = fc.tuple(shapes(chainText), spelling(CHAIN_HEADER));
    fc.assert(
      fc.property(case_, ([shaped, spelling]) => {
        const { creation, chain } = extractMessage(headersWith(shaped, spelling));
        const expected = shaped.text === undefined ? undefined : chainFacts(shaped.text);
        expect(creation === undefined && isDeepStrictEqual(chain, expected), JSON.stringify(chain)).toBe(true);
      }),
      FUZZ,
    );
  });

  it('binary values are judged by their UTF-8 text like any other', () => {
    const bytes = fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array));
    fc.assert(
      fc.property(bytes, (value) => {
        const expected = chainFacts(value.toString());
        expect(isDeepStrictEqual(extractMessage({ mqtrail: value }).chain, expected)).toBe(true);
      }),
      FUZZ,
    );
  });
});
