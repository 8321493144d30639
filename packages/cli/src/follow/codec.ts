import type { Fact } from '../audit/facts';
import { type Interner, NONE } from '../audit/rules';
import type { ChainEntry, MessageEntry } from './join';

/**
 * The JSON of what goes through Kafka: facts (the facts topic) and join entries (the changelog).
 * Entries are written with their interned strings spelled out, since each worker interns its own.
 */

export function encodeFact(fact: Fact): string {
  return JSON.stringify(fact);
}

export function decodeFact(value: Buffer | string | null): Fact | undefined {
  if (value === null) return undefined;
  try {
    const fact = JSON.parse(value.toString()) as Fact;
    return typeof fact === 'object' && fact !== null && typeof fact.type === 'string' ? fact : undefined;
  } catch {
    return undefined;
  }
}

interface EncodedDelivery {
  s: string;
  c: string;
  a: number;
  e: number;
  f: number;
  o?: string;
  x?: string;
}

interface EncodedMessage {
  m: {
    t: string;
    at: number | null;
    by?: string;
    f: number;
    id?: string;
    err?: string;
    d?: EncodedDelivery[];
  };
  w: string[];
  first: number;
  last: number;
}

interface EncodedChain {
  c: { in: boolean; first: number | null; by?: string; last: number | null; hop?: { l: number; c: string; s: string } };
  w: boolean;
  first: number;
  last: number;
}

const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);

function text(strings: Interner, index: number): string | undefined {
  return index === NONE ? undefined : strings.value(index);
}

function index(strings: Interner, value: string | undefined): number {
  return value === undefined ? NONE : strings.intern(value);
}

export function encodeEntry(entry: MessageEntry | ChainEntry, strings: Interner): string {
  if ('record' in entry) {
    const { record } = entry;
    const encoded: EncodedMessage = {
      m: { t: record.traceId, at: finite(record.sentAtUs), f: record.flags },
      w: entry.written,
      first: entry.firstUs,
      last: entry.lastUs,
    };
    const by = text(strings, record.sender);
    if (by !== undefined) encoded.m.by = by;
    if (record.messageId !== undefined) encoded.m.id = record.messageId;
    const err = text(strings, record.sendError);
    if (err !== undefined) encoded.m.err = err;
    if (record.deliveries !== undefined) {
      encoded.m.d = record.deliveries.map((delivery) => {
        const d: EncodedDelivery = {
          s: delivery.spanId,
          c: text(strings, delivery.consumer) ?? '?',
          a: delivery.startUs,
          e: delivery.endUs,
          f: delivery.flags,
        };
        const outcome = text(strings, delivery.outcome);
        if (outcome !== undefined) d.o = outcome;
        const errorType = text(strings, delivery.errorType);
        if (errorType !== undefined) d.x = errorType;
        return d;
      });
    }
    return JSON.stringify(encoded);
  }
  const { chain } = entry;
  const encoded: EncodedChain = {
    c: { in: chain.inScope, first: finite(chain.firstSendUs), last: finite(chain.lastConsumeEndUs) },
    w: entry.written,
    first: entry.firstUs,
    last: entry.lastUs,
  };
  const by = text(strings, chain.origin);
  if (by !== undefined) encoded.c.by = by;
  if (chain.slowest !== undefined)
    encoded.c.hop = {
      l: chain.slowest.latencyUs,
      c: text(strings, chain.slowest.consumer) ?? '?',
      s: chain.slowest.spanId,
    };
  return JSON.stringify(encoded);
}

export function decodeEntry(value: Buffer | string, strings: Interner): MessageEntry | ChainEntry {
  const parsed = JSON.parse(value.toString()) as EncodedMessage | EncodedChain;
  if ('m' in parsed) {
    const { m } = parsed;
    return {
      record: {
        traceId: m.t,
        sentAtUs: m.at ?? Number.NaN,
        sender: index(strings, m.by),
        flags: m.f,
        messageId: m.id,
        sendError: index(strings, m.err),
        deliveries: m.d?.map((d) => ({
          spanId: d.s,
          consumer: strings.intern(d.c),
          startUs: d.a,
          endUs: d.e,
          flags: d.f,
          outcome: index(strings, d.o),
          errorType: index(strings, d.x),
        })),
      },
      written: parsed.w,
      firstUs: parsed.first,
      lastUs: parsed.last,
    };
  }
  const { c } = parsed;
  return {
    chain: {
      inScope: c.in,
      firstSendUs: c.first ?? Number.POSITIVE_INFINITY,
      origin: index(strings, c.by),
      lastConsumeEndUs: c.last ?? Number.NEGATIVE_INFINITY,
      slowest:
        c.hop === undefined ? undefined : { latencyUs: c.hop.l, consumer: strings.intern(c.hop.c), spanId: c.hop.s },
    },
    written: parsed.w,
    firstUs: parsed.first,
    lastUs: parsed.last,
  };
}
