import { ROOT_CONTEXT } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeChainHeader,
  encodeChainHeader,
  getChainFacts,
  MAX_CHAIN_HEADER_LENGTH,
  nextChainFacts,
  setChainFacts,
} from './chain-header';

describe('chain header', () => {
  it('encodes a readable, versioned value', () => {
    expect(encodeChainHeader({ sentAt: 1700000000123, originAt: 1700000000000, hops: 2 })).toBe(
      '1;s=1700000000123;o=1700000000000;h=2',
    );
  });

  it('decodes the bounds of the format', () => {
    expect(decodeChainHeader('1;s=0;o=0;h=1')).toEqual({ sentAt: 0, originAt: 0, hops: 1 });
    expect(decodeChainHeader('1;s=999999999999999;o=999999999999999;h=10000')).toEqual({
      sentAt: 999999999999999,
      originAt: 999999999999999,
      hops: 10_000,
    });
    expect(decodeChainHeader('1;s=1;o=1;h=10001')).toBeUndefined();
  });

  it('round-trips any valid facts, as string or Buffer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 }),
        fc.integer({ min: 0, max: 2 ** 48 }),
        fc.integer({ min: 1, max: 10_000 }),
        (sentAt, originAt, hops) => {
          const encoded = encodeChainHeader({ sentAt, originAt, hops });
          expect(decodeChainHeader(encoded)).toEqual({ sentAt, originAt, hops });
          expect(decodeChainHeader(Buffer.from(encoded))).toEqual({ sentAt, originAt, hops });
        },
      ),
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['another version', '2;s=1;o=1;h=1'],
    ['a foreign format', '{"sent":1}'],
    ['zero hops', '1;s=1;o=1;h=0'],
    ['negative time', '1;s=-1;o=1;h=1'],
    ['trailing garbage', '1;s=1;o=1;h=1;x=2'],
    ['a trailing newline', '1;s=1;o=1;h=1\n'],
    ['a leading zero', '1;s=01;o=1;h=1'],
    ['a zero-padded hop', '1;s=1;o=1;h=01'],
    ['a time of 16 digits', '1;s=1234567890123456;o=1;h=1'],
    ['a hop of 6 digits', '1;s=1;o=1;h=100000'],
    ['a missing number', '1;s=;o=1;h=1'],
    ['a sign', '1;s=+1;o=1;h=1'],
    ['a fraction', '1;s=1.5;o=1;h=1'],
    ['a number', 12],
    ['a nested table', { s: 1 }],
    ['too long', `1;s=1;o=1;h=1${' '.repeat(MAX_CHAIN_HEADER_LENGTH)}`],
  ])('ignores a %s value', (_name, value) => {
    expect(decodeChainHeader(value)).toBeUndefined();
  });

  it('never throws and never accepts random bytes or strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 300 }),
          fc.anything(),
        ),
        (value) => {
          const facts = decodeChainHeader(value);
          if (facts !== undefined) {
            // Only a value in the exact format decodes; re-encoding it must give the same text.
            expect(encodeChainHeader(facts)).toBe(Buffer.isBuffer(value) ? value.toString() : value);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly what the format’s regular expression accepts', () => {
    const format = /^1;s=(0|[1-9]\d{0,14});o=(0|[1-9]\d{0,14});h=([1-9]\d{0,4})$/;
    const reference = (text: string) => {
      const match = format.exec(text);
      if (match === null || Number(match[3]) > 10_000) return undefined;
      return { sentAt: Number(match[1]), originAt: Number(match[2]), hops: Number(match[3]) };
    };
    // Strings from the format's own characters, so that most are near misses and many are valid.
    const piece = fc.constantFrom('1;s=', ';o=', ';h=', '0', '1', '9', '00', '12345', '999999999999999', ';', '=', 's');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), (pieces) => {
        const text = pieces.join('');
        expect(decodeChainHeader(text)).toEqual(reference(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('starts a chain outside a consume and carries it forward inside one', () => {
    const first = nextChainFacts(1000, undefined);
    expect(first).toEqual({ sentAt: 1000, originAt: 1000, hops: 1 });
    expect(nextChainFacts(1500, first)).toEqual({ sentAt: 1500, originAt: 1000, hops: 2 });
  });

  it('keeps the consumed message facts in the context', () => {
    const facts = { sentAt: 2, originAt: 1, hops: 3 };
    expect(getChainFacts(ROOT_CONTEXT)).toBeUndefined();
    expect(getChainFacts(setChainFacts(ROOT_CONTEXT, facts))).toBe(facts);
  });
});
