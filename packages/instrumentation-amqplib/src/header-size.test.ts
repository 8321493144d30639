import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedTableSize, MAX_HEADER_TABLE_BYTES } from './header-size';
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
