import { type Context, createContextKey } from '@opentelemetry/api';

/**
 * The `mqtrail` header carries the facts a consumer needs to measure the whole consumption
 * chain, which trace context alone cannot give without querying a backend:
 *   `1;s=<send ms>;o=<origin ms>;h=<hop>`
 * `s` is when this message was sent, `o` when the chain's first message was sent (the first
 * publish that was not itself inside a consume), `h` how many publishes the chain has made so
 * far including this one. Times are Unix epoch milliseconds.
 */
export const CHAIN_HEADER = 'mqtrail';
export const CHAIN_HEADER_VERSION = 1;

export interface ChainFacts {
  /** Epoch ms when this message was sent. */
  sentAt: number;
  /** Epoch ms when the first message of the chain was sent. */
  originAt: number;
  /** 1 for a message published outside any consume; each republish from a consumer adds one. */
  hops: number;
}

/** Longest value the parser looks at: a well-formed header is well under 64 characters. */
export const MAX_CHAIN_HEADER_LENGTH = 96;
export const MAX_HOPS = 10_000;

export function encodeChainHeader(facts: ChainFacts): string {
  return `${CHAIN_HEADER_VERSION};s=${Math.trunc(facts.sentAt)};o=${Math.trunc(facts.originAt)};h=${facts.hops}`;
}

/**
 * Facts from a header value of any shape; undefined for a missing, malformed or foreign value.
 * Strict on purpose: anything that is not exactly our format (`1;s=<ms>;o=<ms>;h=<hop>`, decimals
 * without leading zeros, at most 15 digits for times and 5 for hops) is a foreign or corrupted
 * value. Read with a cursor rather than a regular expression: every consumed message is decoded.
 * A byte value (kafkajs delivers Buffers) is read byte by byte, not decoded to a string first: the
 * format is ASCII, so a byte ≥ 0x80 anywhere fails it exactly as its decoded character would.
 */
export function decodeChainHeader(value: unknown): ChainFacts | undefined {
  const source = chainSource(value);
  if (source === undefined || source.length > MAX_CHAIN_HEADER_LENGTH || !hasText(source, 0, '1;s=')) return undefined;
  const sentEnd = readDecimal(source, 4, 15);
  if (sentEnd < 0 || !hasText(source, sentEnd, ';o=')) return undefined;
  const sentAt = decimal;
  const originEnd = readDecimal(source, sentEnd + 3, 15);
  if (originEnd < 0 || !hasText(source, originEnd, ';h=')) return undefined;
  const originAt = decimal;
  if (readDecimal(source, originEnd + 3, 5) !== source.length) return undefined;
  const hops = decimal;
  if (hops < 1 || hops > MAX_HOPS) return undefined;
  return { sentAt, originAt, hops };
}

/** A header value as text or bytes (for an array, its first element, as `headerText` reads it). */
type Source = string | Uint8Array;

function chainSource(value: unknown): Source | undefined {
  try {
    if (Array.isArray(value)) value = value.length > 0 ? value[0] : undefined;
    if (typeof value === 'string' || value instanceof Uint8Array) return value;
  } catch {
    // A revoked Proxy: no value.
  }
  return undefined;
}

/** UTF-16 code unit or byte at `at`; NaN past the end. */
function codeAt(source: Source, at: number): number {
  return typeof source === 'string' ? source.charCodeAt(at) : (source[at] ?? Number.NaN);
}

/** Whether `source` has the ASCII `literal` at `from`. */
function hasText(source: Source, from: number, literal: string): boolean {
  if (from + literal.length > source.length) return false;
  for (let i = 0; i < literal.length; i++) if (codeAt(source, from + i) !== literal.charCodeAt(i)) return false;
  return true;
}

/** The value `readDecimal` read last: a result without an object per call. */
let decimal = 0;

/**
 * Reads a decimal of 1 to `maxDigits` digits without a leading zero at `from` into `decimal`, and
 * returns the index after it, or -1. At most 15 digits: exact as a double.
 */
function readDecimal(source: Source, from: number, maxDigits: number): number {
  let value = 0;
  let at = from;
  for (; at < source.length; at++) {
    const digit = codeAt(source, at) - 48;
    if (!(digit >= 0 && digit <= 9)) break;
    if (at - from === maxDigits || (at > from && value === 0)) return -1;
    value = value * 10 + digit;
  }
  if (at === from) return -1;
  decimal = value;
  return at;
}

/**
 * Facts for a message sent now. Inside the processing of a consumed message (`parent`) the chain
 * goes on: same origin, one more hop. Otherwise this send starts a chain.
 */
export function nextChainFacts(now: number, parent: ChainFacts | undefined): ChainFacts {
  if (parent === undefined) return { sentAt: now, originAt: now, hops: 1 };
  return { sentAt: now, originAt: parent.originAt, hops: Math.min(parent.hops + 1, MAX_HOPS) };
}

/** Exported for `processContext`, which answers for this key itself. */
export const CHAIN_FACTS_KEY = createContextKey('mqtrail chain facts of the message being processed');

/** The context a consumer runs its handler in carries the consumed message's chain facts. */
export function setChainFacts(context: Context, facts: ChainFacts): Context {
  return context.setValue(CHAIN_FACTS_KEY, facts);
}

export function getChainFacts(context: Context): ChainFacts | undefined {
  return context.getValue(CHAIN_FACTS_KEY) as ChainFacts | undefined;
}
