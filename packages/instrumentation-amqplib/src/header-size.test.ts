import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodedTableSize, fitsHeaderTable, MAX_HEADER_TABLE_BYTES } from './header-size';
import { loadAmqplib, VARIANTS } from './test-support/amqplib';

/** A header name; `!` is excluded because amqplib reads a table with that key as a typed value. */
const key = (maxLength: number) => fc.string({ minLength: 1, maxLength }).filter((name) => name !== '!');

/** Header values of every type amqplib can encode in a field table (numbers in the ranges every version encodes). */
const fieldValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, min: -(2 ** 49), max: 2 ** 49 }),
    fc.constantFrom(127, -128, 128, 32767, -32769, 2 ** 31, 2 ** 50, 2 ** 60, 0.5),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    fc.record({ '!': fc.constant('timestamp'), value: fc.nat() }, { noNullPrototype: true }),
    fc.record(
      { '!': fc.constantFrom('float', 'int32', 'uint8', 'int16', 'int64'), value: fc.integer({ min: 0, max: 100 }) },
      { noNullPrototype: true },
    ),
    fc.record(
      {
        '!': fc.constant('decimal'),
        value: fc.record({ places: fc.nat(255), digits: fc.nat() }, { noNullPrototype: true }),
      },
      { noNullPrototype: true },
    ),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('table'),
  ),
  table: fc.dictionary(key(12), tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).value;

const table = fc.dictionary(key(20), fieldValue, { maxKeys: 8, noNullPrototype: true });

/**
 * Text whose UTF-8 size is far from its length: 1-, 2- and 3-byte units, surrogate pairs (2 units,
 * 4 bytes), lone surrogates (written as U+FFFD, 3 bytes) and any code point.
 */
const mixedText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('a', 'é', '€', '\u{1F600}', '\uD800', '\uDFFF'),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
    maxLength,
  });
const mixedKey = mixedText(12).filter((name) => name !== '!');

/** Like `fieldValue`, with mixed text everywhere a string goes, and typed strings, objects and numbers. */
const mixedValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    mixedText(40),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, min: -(2 ** 49), max: 2 ** 49 }),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
    fc.record({ '!': fc.constant('string'), value: mixedText(40) }, { noNullPrototype: true }),
    fc.record({ '!': fc.constant('number'), value: fc.integer() }, { noNullPrototype: true }),
    fc.record({ '!': fc.constant('object'), value: tie('table') }, { noNullPrototype: true }),
    fc.record({ '!': fc.constantFrom('timestamp', 'int16', 'double'), value: fc.nat(1000) }, { noNullPrototype: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('table'),
  ),
  table: fc.dictionary(mixedKey, tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).value;
const mixedTable = fc.dictionary(mixedKey, mixedValue, { maxKeys: 8, noNullPrototype: true });

/** A character and the UTF-8 bytes it takes: the bound counts each at 3 bytes per UTF-16 unit. */
const PAD_CHARS = [
  { char: 'x', bytes: 1 },
  { char: 'é', bytes: 2 },
  { char: '€', bytes: 3 },
  { char: '\u{1F600}', bytes: 4 },
  { char: '\uDC00', bytes: 3 },
] as const;

/**
 * Where the padding string of a near-limit table goes, so the walks stop inside nested values too.
 * Their keys are 3-byte units, which the bound counts exactly (see `tightTable`).
 */
const PLACEMENTS = {
  value: (pad: string) => pad,
  typed: (pad: string) => ({ '!': 'string', value: pad }),
  array: (pad: string) => [1, pad],
  nested: (pad: string) => ({ '€': pad }),
  typedObject: (pad: string) => ({ '!': 'object', value: [{ '€€': pad }] }),
} as const;

describe.each(VARIANTS)('encodedTableSize against $label’s own encoder', (variant) => {
  const { encodeTable } = loadAmqplib(variant);
  const scratch = Buffer.alloc(1 << 20);

  it('matches the bytes amqplib writes, for any encodable table', () => {
    fc.assert(
      fc.property(table, (headers) => {
        expect(encodedTableSize(headers, Number.POSITIVE_INFINITY)).toBe(encodeTable(scratch, headers, 0));
      }),
      { numRuns: 300 },
    );
  });

  it('counts inherited enumerable keys, as amqplib’s for…in does, and skips undefined values', () => {
    const headers = Object.assign(Object.create({ inherited: 'x' }), { own: 1, missing: undefined });
    expect(encodedTableSize(headers)).toBe(encodeTable(scratch, headers, 0));
  });

  it('matches the bytes amqplib writes for multi-byte text, surrogates and typed values', () => {
    fc.assert(
      fc.property(mixedTable, (headers) => {
        expect(encodedTableSize(headers, Number.POSITIVE_INFINITY)).toBe(encodeTable(scratch, headers, 0));
      }),
      { numRuns: 300 },
    );
  });

  it('fitsHeaderTable decides as amqplib’s size does, with the extra bytes a byte either side of the limit', () => {
    fc.assert(
      fc.property(mixedTable, fc.integer({ min: -8, max: 8 }), (headers, over) => {
        const size = encodeTable(scratch, headers, 0);
        const extraBytes = MAX_HEADER_TABLE_BYTES - size + over;
        expect(fitsHeaderTable(headers, extraBytes)).toBe(over <= 0);
        expect(fitsHeaderTable(headers, extraBytes)).toBe(
          encodedTableSize(headers) + extraBytes <= MAX_HEADER_TABLE_BYTES,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('fitsHeaderTable decides as amqplib’s size does for tables of about 64 KiB', () => {
    fc.assert(
      fc.property(
        mixedTable,
        mixedKey,
        fc.constantFrom(...PAD_CHARS),
        fc.constantFrom(...Object.values(PLACEMENTS)),
        fc.integer({ min: -8, max: 8 }),
        (base, padKey, { char, bytes }, place, over) => {
          const headers: Record<string, unknown> = { ...base, [padKey]: place('') };
          const need = MAX_HEADER_TABLE_BYTES + over - encodeTable(scratch, headers, 0);
          headers[padKey] = place(char.repeat(Math.floor(need / bytes)) + 'x'.repeat(need % bytes));
          const size = encodeTable(scratch, headers, 0);
          expect(size).toBe(MAX_HEADER_TABLE_BYTES + over);
          expect(fitsHeaderTable(headers)).toBe(size <= MAX_HEADER_TABLE_BYTES);
          expect(encodedTableSize(headers)).toBe(size <= MAX_HEADER_TABLE_BYTES ? size : Number.POSITIVE_INFINITY);
        },
      ),
      { numRuns: 300 },
    );
  });
});

type TightPlace = keyof typeof PLACEMENTS | 'key';
const TIGHT_PLACES: TightPlace[] = ['key', ...(Object.keys(PLACEMENTS) as (keyof typeof PLACEMENTS)[])];

/**
 * A table whose every string is made of 3-byte units (`€`, or a lone surrogate amqplib writes as
 * U+FFFD), so the 3-bytes-per-unit bound equals its exact size: any string the bound counted low
 * would let a table of MAX + 1 bytes through the fast path. Typed values, numbers, null and
 * booleans are in it too, and the rest is made up by a Buffer: none of them has slack either.
 * `at` says where the bulk of the text goes.
 */
function tightTable(unit: string, at: TightPlace, targetSize: number): Record<string, unknown> {
  const text = (units: number) => unit.repeat(units);
  const headers: Record<string, unknown> = {};
  if (at === 'key') {
    for (let i = 1; i <= 80; i++) headers[text(i)] = true;
  } else {
    headers[text(2)] = PLACEMENTS[at](text(20_000));
  }
  headers[text(82)] = { '!': 'int32', value: 7 };
  headers[text(83)] = [null, 2 ** 40, 0.5, false];
  const padKey = text(84); // amqplib writes a key's length in one byte: at most 255 bytes
  headers[padKey] = Buffer.alloc(0);
  headers[padKey] = Buffer.alloc(targetSize - encodedTableSize(headers, Number.POSITIVE_INFINITY));
  return headers;
}

describe('fitsHeaderTable', () => {
  const encoders = VARIANTS.map((variant) => loadAmqplib(variant).encodeTable);
  const scratch = Buffer.alloc(1 << 20);

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe.each([
    ['€', '€'],
    ['a lone surrogate', '\uD83D'],
  ])('with every string made of %s (3 UTF-8 bytes per UTF-16 unit)', (_label, unit) => {
    it.each(TIGHT_PLACES)('refuses a table 1 byte over, its text in a %s', (at) => {
      const over = tightTable(unit, at, MAX_HEADER_TABLE_BYTES + 1);
      for (const encodeTable of encoders) expect(encodeTable(scratch, over, 0)).toBe(MAX_HEADER_TABLE_BYTES + 1);
      expect(fitsHeaderTable(over)).toBe(false);
      const exact = tightTable(unit, at, MAX_HEADER_TABLE_BYTES);
      for (const encodeTable of encoders) expect(encodeTable(scratch, exact, 0)).toBe(MAX_HEADER_TABLE_BYTES);
      expect(fitsHeaderTable(exact)).toBe(true);
      // With CC/BCC bytes on top, the limit for the table itself moves down by as many.
      expect(fitsHeaderTable(tightTable(unit, at, MAX_HEADER_TABLE_BYTES - 40), 40)).toBe(true);
      expect(fitsHeaderTable(tightTable(unit, at, MAX_HEADER_TABLE_BYTES - 40), 41)).toBe(false);
    });
  });

  it('settles a typical publish without counting UTF-8 bytes', () => {
    const byteLength = vi.spyOn(Buffer, 'byteLength');
    const headers = {
      'content-kind': 'order.created.v1',
      'x-request-id': 'req-3b9aca07-1',
      'x-retry-count': 1,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      mqtrail: '1;s=1764640000000;o=1764640000000;h=1',
    };
    expect(fitsHeaderTable(headers)).toBe(true);
    expect(byteLength).not.toHaveBeenCalled();
  });

  it('counts exactly when the bound is over the limit: ASCII of just under 64 KiB still fits', () => {
    const headers = { big: 'x'.repeat(MAX_HEADER_TABLE_BYTES - 4 - 1 - 3 - 5) };
    expect(encodedTableSize(headers)).toBe(MAX_HEADER_TABLE_BYTES);
    const byteLength = vi.spyOn(Buffer, 'byteLength');
    expect(fitsHeaderTable(headers)).toBe(true);
    expect(byteLength).toHaveBeenCalled();
    expect(fitsHeaderTable({ big: `${headers.big}x` })).toBe(false);
  });

  it('refuses a table nested deeper than amqplib can be trusted with, however small', () => {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(fitsHeaderTable(deep)).toBe(false);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(fitsHeaderTable(cyclic)).toBe(false);
  });
});

describe('encodedTableSize', () => {
  it('stops at the limit instead of walking a huge table', () => {
    const huge = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, 'x'.repeat(20)]));
    expect(encodedTableSize(huge)).toBe(Number.POSITIVE_INFINITY);
    expect(encodedTableSize({ a: 'b' })).toBeLessThan(MAX_HEADER_TABLE_BYTES);
  });

  it('treats a cyclic table as not fitting instead of recursing forever', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(encodedTableSize(cyclic)).toBe(Number.POSITIVE_INFINITY);
  });
});
