import { type Context, createContextKey } from '@opentelemetry/api';
import { headerText } from './header-carrier';

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

// Strict on purpose: anything that is not exactly our format is a foreign or corrupted value.
const CHAIN_HEADER_PATTERN = /^1;s=(0|[1-9]\d{0,14});o=(0|[1-9]\d{0,14});h=([1-9]\d{0,4})$/;

export function encodeChainHeader(facts: ChainFacts): string {
  return `${CHAIN_HEADER_VERSION};s=${Math.trunc(facts.sentAt)};o=${Math.trunc(facts.originAt)};h=${facts.hops}`;
}

/** Facts from a header value of any shape; undefined for a missing, malformed or foreign value. */
export function decodeChainHeader(value: unknown): ChainFacts | undefined {
  const text = headerText(value);
  if (text === undefined || text.length > MAX_CHAIN_HEADER_LENGTH) return undefined;
  const match = CHAIN_HEADER_PATTERN.exec(text);
  if (match === null) return undefined;
  const sentAt = Number(match[1]);
  const originAt = Number(match[2]);
  const hops = Number(match[3]);
  if (hops < 1 || hops > MAX_HOPS) return undefined;
  return { sentAt, originAt, hops };
}

/**
 * Facts for a message sent now. Inside the processing of a consumed message (`parent`) the chain
 * goes on: same origin, one more hop. Otherwise this send starts a chain.
 */
export function nextChainFacts(now: number, parent: ChainFacts | undefined): ChainFacts {
  if (parent === undefined) return { sentAt: now, originAt: now, hops: 1 };
  return { sentAt: now, originAt: parent.originAt, hops: Math.min(parent.hops + 1, MAX_HOPS) };
}

const CHAIN_FACTS_KEY = createContextKey('mqtrail chain facts of the message being processed');

/** The context a consumer runs its handler in carries the consumed message's chain facts. */
export function setChainFacts(context: Context, facts: ChainFacts): Context {
  return context.setValue(CHAIN_FACTS_KEY, facts);
}

export function getChainFacts(context: Context): ChainFacts | undefined {
  return context.getValue(CHAIN_FACTS_KEY) as ChainFacts | undefined;
}
