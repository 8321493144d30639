import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  copyHeaders,
  findHeader,
  headerGetter,
  headerSetter,
  headerText,
  MAX_HEADER_KEYS_SCANNED,
  MAX_HEADER_VALUE_BYTES,
} from './header-carrier';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('headerText', () => {
  it.each([
    ['a string', 'abc', 'abc'],
    ['a Buffer', Buffer.from('abc'), 'abc'],
    ['a Uint8Array', new TextEncoder().encode('abc'), 'abc'],
    ['an array of strings (first wins)', ['abc', 'def'], 'abc'],
    ['an array of Buffers', [Buffer.from('abc')], 'abc'],
    ['an empty array', [], undefined],
    ['a number', 42, undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a nested table', { a: 1 }, undefined],
    ['a Date', new Date(0), undefined],
  ])('reads %s', (_name, value, expected) => {
    expect(headerText(value)).toBe(expected);
  });

  it('refuses oversized values instead of decoding them', () => {
    expect(headerText('x'.repeat(MAX_HEADER_VALUE_BYTES + 1))).toBeUndefined();
    expect(headerText(Buffer.alloc(MAX_HEADER_VALUE_BYTES + 1))).toBeUndefined();
  });

  // Found by header-carrier.fuzz.test.ts: both threw out of extractMessage.
  it('gives nothing for a revoked Proxy or a typed array whose buffer was transferred', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const detached = new Uint8Array(new ArrayBuffer(4));
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    for (const value of [revoked.proxy, [revoked.proxy], detached, [detached]]) {
      expect(headerText(value)).toBeUndefined();
    }
  });

  it('decodes a Buffer slice, not its whole backing pool', () => {
    const pool = Buffer.from('xxabcxx');
    expect(headerText(pool.subarray(2, 5))).toBe('abc');
  });
});

describe('findHeader', () => {
  it('prefers an exact key, then matches case-insensitively', () => {
    expect(findHeader({ traceparent: 'a', TraceParent: 'b' }, 'traceparent')).toBe('a');
    expect(findHeader({ TraceParent: 'b' }, 'traceparent')).toBe('b');
  });

  it('does not read inherited properties', () => {
    expect(findHeader({}, 'toString')).toBeUndefined();
    expect(findHeader(Object.create({ traceparent: TRACEPARENT }), 'traceparent')).toBeUndefined();
  });

  it('bounds the case-insensitive scan', () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < MAX_HEADER_KEYS_SCANNED + 10; i++) headers[`k${i}`] = 'v';
    headers.TRACEPARENT = TRACEPARENT;
    expect(findHeader(headers, 'traceparent')).toBeUndefined();
  });

  it('survives a throwing proxy', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('boom');
        },
        getOwnPropertyDescriptor() {
          throw new Error('boom');
        },
      },
    );
    expect(findHeader(hostile, 'traceparent')).toBeUndefined();
    expect(headerGetter.keys(hostile)).toEqual([]);
  });

  it('reads no keys from a revoked Proxy or a Buffer given as the map', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(findHeader(revoked.proxy, 'traceparent')).toBeUndefined();
    expect(headerGetter.keys(revoked.proxy)).toEqual([]);
    expect(copyHeaders(revoked.proxy)).toEqual({});
    // Byte indices are no header names.
    expect(headerGetter.keys(Buffer.from('abc'))).toEqual([]);
  });
});

describe('propagation through the carrier', () => {
  const propagator = new W3CTraceContextPropagator();

  it('extracts a context from every header shape the clients deliver', () => {
    for (const value of [TRACEPARENT, Buffer.from(TRACEPARENT), [Buffer.from(TRACEPARENT)], [TRACEPARENT]]) {
      const ctx = propagator.extract(ROOT_CONTEXT, { traceparent: value }, headerGetter);
      expect(trace.getSpanContext(ctx)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    }
  });

  it('round-trips inject then extract', () => {
    const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
    const carrier = copyHeaders(undefined);
    propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carrier, headerSetter);
    expect(carrier.traceparent).toBe(TRACEPARENT);
    const extracted = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, headerGetter));
    expect(extracted).toMatchObject({ ...spanContext, isRemote: true });
  });

  it('never throws on random carriers and values', () => {
    const anyValue = fc.oneof(
      fc.string(),
      fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      fc.array(
        fc.oneof(
          fc.string(),
          fc.uint8Array().map((b) => Buffer.from(b)),
        ),
      ),
      fc.anything(),
    );
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(fc.string(), anyValue), fc.anything()), (carrier) => {
        const ctx = propagation.extract(ROOT_CONTEXT, carrier, headerGetter);
        propagator.extract(ROOT_CONTEXT, carrier, headerGetter);
        for (const key of headerGetter.keys(carrier)) headerGetter.get(carrier, key);
        return ctx !== undefined;
      }),
      { numRuns: 2000 },
    );
  });

  it('gives no context for random bytes in traceparent', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const ctx = propagator.extract(ROOT_CONTEXT, { traceparent: Buffer.from(bytes) }, headerGetter);
        const spanContext = trace.getSpanContext(ctx);
        // Random bytes essentially never form a valid traceparent; if they do it must be well-formed.
        return spanContext === undefined || /^[0-9a-f]{32}$/.test(spanContext.traceId);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('copyHeaders', () => {
  it('copies so injecting never touches the caller object', () => {
    const original = Object.freeze({ a: '1' });
    const copy = copyHeaders(original);
    headerSetter.set(copy, 'traceparent', TRACEPARENT);
    expect(original).toEqual({ a: '1' });
    expect(copy).toEqual({ a: '1', traceparent: TRACEPARENT });
  });

  it('keeps inherited keys, which clients encode too', () => {
    const headers = Object.create({ inherited: 'yes' }) as Record<string, unknown>;
    headers.own = 'mine';
    expect(copyHeaders(headers)).toEqual({ inherited: 'yes', own: 'mine' });
  });

  // Found by header-carrier.fuzz.test.ts: assigning the key set the copy's prototype instead.
  it('keeps an own __proto__ header, as kafkajs decodes one, a header', () => {
    const headers = JSON.parse('{"__proto__":"x","a":"1"}') as Record<string, unknown>;
    const copy = copyHeaders(headers);
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it('gives an empty map for non-objects', () => {
    for (const value of [undefined, null, 'str', 42, ['a']]) expect(copyHeaders(value)).toEqual({});
  });
});
