/**
 * amqplib encodes a message's header table into one fixed 64 KiB scratch buffer (lib/defs.js
 * `SCRATCH`). A table that does not fit throws a RangeError in amqplib 1.x/2.x and is silently
 * truncated on the wire by 0.10. mqtrail adds headers, so before adding them it estimates the
 * encoded size exactly as lib/codec.js `encodeTable` would write it, and leaves a message alone
 * when its headers would no longer fit.
 *
 * One walk serves both the exact size and a cheap upper bound of it: in bound mode every string
 * (key, value, typed string) counts 3 bytes per UTF-16 code unit instead of its UTF-8 byte length,
 * and everything else counts exactly as amqplib writes it. UTF-8 never takes more than 3 bytes per
 * code unit (1–3 for a unit of the Basic Multilingual Plane, 3 for a lone surrogate written as
 * U+FFFD, 4 for a surrogate pair of 2 units), so the bound is never below the exact size, and a
 * table whose bound fits certainly fits. Only a table near the limit pays for exact UTF-8 counting.
 */

/** Size of amqplib's scratch buffer, which the whole encoded header table must fit in. */
export const MAX_HEADER_TABLE_BYTES = 65_536;
/** Nesting deeper than this is treated as not fitting: amqplib would recurse, we refuse to. */
const MAX_DEPTH = 32;

/** Returned once the running total passes the limit; the walk stops there. */
const OVER = Number.POSITIVE_INFINITY;

// Bytes after the one-byte type tag for the numeric types amqplib accepts through `{'!': type}`.
const TYPED_SIZES: Record<string, number> = {
  timestamp: 8,
  double: 8,
  float64: 8,
  long: 8,
  int64: 8,
  float: 4,
  int: 4,
  int32: 4,
  unsignedint: 4,
  uint32: 4,
  short: 2,
  int16: 2,
  unsignedshort: 2,
  uint16: 2,
  byte: 1,
  int8: 1,
  unsignedbyte: 1,
  uint8: 1,
  boolean: 1,
  decimal: 5,
};

/**
 * Encoded size of a header table as amqplib writes it (4-byte length, then per key a short string
 * and a tagged value), or Infinity once it exceeds `limit`. Keys are walked with `for…in`, as
 * amqplib does, so inherited enumerable keys count too. Values amqplib cannot encode count as 0:
 * amqplib throws on them whatever mqtrail does.
 */
export function encodedTableSize(table: object, limit = MAX_HEADER_TABLE_BYTES): number {
  return tableSize(table, limit, 0, 0, false);
}

/**
 * Whether amqplib can still encode `table` once `extraBytes` more are added to it (the `CC`/`BCC`
 * entries amqplib puts in the header table): the same answer as
 * `encodedTableSize(table) + extraBytes <= MAX_HEADER_TABLE_BYTES`, without UTF-8 counting in the
 * common case. The upper bound decides when it fits; only when it does not does the exact walk
 * (so only a table near the limit is walked, and its getters read, twice).
 */
export function fitsHeaderTable(table: object, extraBytes = 0): boolean {
  const limit = MAX_HEADER_TABLE_BYTES - extraBytes;
  return tableSize(table, limit, 0, 0, true) <= limit || tableSize(table, limit, 0, 0, false) <= limit;
}

/** UTF-8 bytes of `text`, or with `bound` its upper bound of 3 bytes per UTF-16 code unit. */
function textSize(text: string, bound: boolean): number {
  return bound ? 3 * text.length : Buffer.byteLength(text);
}

function tableSize(table: object, limit: number, used: number, depth: number, bound: boolean): number {
  if (depth > MAX_DEPTH) return OVER;
  let size = 4;
  const record = table as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (value === undefined) continue;
    size += 1 + textSize(key, bound) + valueSize(value, limit, used + size, depth, bound);
    if (used + size > limit) return OVER;
  }
  return size;
}

function valueSize(value: unknown, limit: number, used: number, depth: number, bound: boolean): number {
  switch (typeof value) {
    case 'string':
      return 5 + textSize(value, bound);
    case 'boolean':
      return 2;
    case 'number':
      return 1 + numberSize(value);
    case 'object':
      return objectSize(value, limit, used, depth, bound);
    default:
      return 0;
  }
}

function objectSize(value: object | null, limit: number, used: number, depth: number, bound: boolean): number {
  if (value === null) return 1;
  if (Buffer.isBuffer(value)) return 5 + value.length;
  if (Array.isArray(value)) {
    let size = 5;
    for (const item of value) {
      size += valueSize(item, limit, used + size, depth + 1, bound);
      if (used + size > limit) return OVER;
    }
    return size;
  }
  if (Object.hasOwn(value, '!')) {
    return typedSize(value as { '!': unknown; value?: unknown }, limit, used, depth, bound);
  }
  return 1 + tableSize(value, limit, used + 1, depth + 1, bound);
}

/** The `{'!': type, value}` form amqplib uses for types JavaScript cannot tell apart. */
function typedSize(
  typed: { '!': unknown; value?: unknown },
  limit: number,
  used: number,
  depth: number,
  bound: boolean,
): number {
  const type = typed['!'];
  const fixed = typeof type === 'string' ? TYPED_SIZES[type] : undefined;
  if (fixed !== undefined) return 1 + fixed;
  if (type === 'string' && typeof typed.value === 'string') return 5 + textSize(typed.value, bound);
  if (type === 'object' && typeof typed.value === 'object') {
    return objectSize(typed.value, limit, used, depth, bound);
  }
  if (type === 'number' && typeof typed.value === 'number') return 1 + numberSize(typed.value);
  return 0;
}

/** amqplib's guess for a plain JS number (lib/codec.js `isFloatingPoint` and the integer ranges). */
function numberSize(n: number): number {
  const floating = n >= 0x8000000000000000 || (Math.abs(n) < 0x4000000000000 && Math.floor(n) !== n);
  if (floating) return 8;
  if (n < 128 && n >= -128) return 1;
  if (n >= -0x8000 && n < 0x8000) return 2;
  if (n >= -0x80000000 && n < 0x80000000) return 4;
  return 8;
}
