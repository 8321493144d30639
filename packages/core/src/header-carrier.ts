import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/**
 * Message headers as the broker clients deliver them. kafkajs gives `Buffer | string |
 * (Buffer | string)[] | undefined`; amqplib gives any AMQP field-table value (strings,
 * Buffers, numbers, nested tables, arrays, null, Dates). Anything else may arrive from
 * foreign producers, so every reader here treats values as `unknown`.
 */
export type MessageHeaders = Record<string, unknown>;

/** Values longer than this are not decoded: no propagation header is anywhere near it. */
export const MAX_HEADER_VALUE_BYTES = 8192;
/** Case-insensitive lookup scans at most this many keys, so a huge header map costs bounded work. */
export const MAX_HEADER_KEYS_SCANNED = 256;

/**
 * Text of one header value, or undefined when it is not text-like or too large.
 * For an array the first element decides (W3C trace context forbids repeated values).
 */
export function headerText(value: unknown): string | undefined {
  try {
    if (Array.isArray(value)) value = value.length > 0 ? value[0] : undefined;
    if (typeof value === 'string') {
      return value.length <= MAX_HEADER_VALUE_BYTES ? value : undefined;
    }
    if (value instanceof Uint8Array) {
      if (value.byteLength > MAX_HEADER_VALUE_BYTES) return undefined;
      // kafkajs hands Buffers: decode them directly, without a second Buffer viewing the same bytes.
      if (Buffer.isBuffer(value)) return value.toString('utf8');
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    }
  } catch {
    // A revoked Proxy (even `Array.isArray` throws on one) or a typed array whose buffer was
    // transferred away: no text, rather than an exception in the client's delivery.
  }
  return undefined;
}

function isHeaderMap(carrier: unknown): carrier is MessageHeaders {
  // A Buffer is a header value, not a map: its byte indices are no header names, and walking
  // them costs a key per byte.
  if (typeof carrier !== 'object' || carrier === null || ArrayBuffer.isView(carrier)) return false;
  try {
    return !Array.isArray(carrier);
  } catch {
    // A revoked Proxy: not a map anyone can read.
    return false;
  }
}

/** The value stored under `key`, matched exactly first, then case-insensitively. */
export function findHeader(headers: unknown, key: string): unknown {
  if (!isHeaderMap(headers)) return undefined;
  try {
    if (Object.hasOwn(headers, key)) return headers[key];
    const wanted = key.toLowerCase();
    let scanned = 0;
    for (const candidate in headers) {
      if (++scanned > MAX_HEADER_KEYS_SCANNED) break;
      // Length first: most keys differ in it, and then no lower-cased copy is made.
      if (
        candidate.length === wanted.length &&
        candidate.toLowerCase() === wanted &&
        Object.hasOwn(headers, candidate)
      ) {
        return headers[candidate];
      }
    }
  } catch {
    // A Proxy or throwing getter from user land: treat as absent rather than throw into the client.
  }
  return undefined;
}

/** Getter for `propagation.extract` over any header shape; never throws. */
export const headerGetter: TextMapGetter<unknown> = {
  get(carrier, key) {
    return headerText(findHeader(carrier, key));
  },
  keys(carrier) {
    if (!isHeaderMap(carrier)) return [];
    try {
      return Object.keys(carrier).slice(0, MAX_HEADER_KEYS_SCANNED);
    } catch {
      return [];
    }
  },
};

/**
 * Setter for `propagation.inject`. Only ever called on the copy an instrumentation made of the
 * user's headers, never on the user's own object.
 */
export const headerSetter: TextMapSetter<MessageHeaders> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

/**
 * A shallow copy of user headers to inject into. Non-object input (undefined, garbage) gives an
 * empty map, so the caller's value is never touched and injection always has a target.
 *
 * `ownKeysOnly` copies what a client that reads `Object.keys` writes (kafkajs); without it the
 * inherited enumerable keys come too, because amqplib walks the table with for…in: either way the
 * copy holds exactly the user headers that client would have sent.
 */
export function copyHeaders(headers: unknown, ownKeysOnly = false): MessageHeaders {
  if (!isHeaderMap(headers)) return {};
  try {
    const copy: MessageHeaders = {};
    for (const key in headers) {
      if (ownKeysOnly && !Object.hasOwn(headers, key)) continue;
      // An own `__proto__` header (kafkajs's decoder and JSON.parse make them) stays a header:
      // assigning it would set the copy's prototype instead, dropping or mangling the header.
      if (key === '__proto__') {
        Object.defineProperty(copy, key, { value: headers[key], enumerable: true, writable: true, configurable: true });
      } else {
        copy[key] = headers[key];
      }
    }
    return copy;
  } catch {
    return {};
  }
}
