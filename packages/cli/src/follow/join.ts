import type { ChainFact, DeliveryFact, Fact, HopFact, SendFact } from '../audit/facts';
import type { Finding } from '../audit/findings';
import {
  type ChainRecord,
  type DeliveryRecord,
  findingKey,
  foldChain,
  foldDelivery,
  foldHop,
  foldSend,
  hopOf,
  Interner,
  isSent,
  judgeChain,
  judgeMessage,
  type MessageRecord,
  mayFind,
  NONE,
  newChainRecord,
  newMessageRecord,
} from '../audit/rules';
import { Deadlines } from './deadlines';

/**
 * Stage 2 of `audit --follow`, without I/O: the join of one facts partition. Facts arrive keyed by
 * message identity (`<traceId>:<spanId>`) or chain (`trace:<traceId>`); each key's entry folds them
 * with the audit's rules and writes each finding once, as soon as it is certain:
 *
 * - lost: when the clock passes the send + grace with no consume folded;
 * - returned and failed sends: with the send;
 * - duplicate, redelivered, dead-letter, failed processing: with the consume that shows it, once the
 *   message's send is known too (so the finding names its sender), or grace after the consume when
 *   the send never comes (out of scope, or another tool's span);
 * - slow: when a chain's first send to last consume passes --slow.
 *
 * The clock is event time, advanced by the worker (`advance`) to the watermark of the facts: the
 * oldest of the span partitions' progress (tasks.ts), so a message is judged only once every span
 * that could still consume it has been read, however far behind one span partition is (a worker
 * died, a backlog is replayed). Wall-clock grace would call every message of a backlog lost.
 *
 * An entry is dropped a grace period (plus --slow for chains) after its last fact, by the clock:
 * state is bounded by the grace period. Everything an entry holds, including which findings it
 * wrote, is in `changes` so the worker can write it to the changelog in the same transaction as
 * the findings — a restored entry never writes a finding twice.
 */

export interface JoinOptions {
  graceUs: number;
  /** Chains slower than this are reported; undefined: no chain entries at all. */
  slowUs?: number;
}

export interface MessageEntry {
  record: MessageRecord;
  /** Keys (`findingKey`) of the findings already written. */
  written: string[];
  /** Event time of the first and the latest fact folded, epoch µs. */
  firstUs: number;
  lastUs: number;
}

export interface ChainEntry {
  chain: ChainRecord;
  written: boolean;
  firstUs: number;
  lastUs: number;
}

/** What folding facts or moving the clock produced: to be written in one transaction. */
export interface JoinOutput {
  findings: { key: string; finding: Finding }[];
  /** Facts for other keys (hops of a chain), to go back onto the facts topic. */
  facts: { key: string; fact: HopFact }[];
  /** Keys whose entry changed (written to the changelog) or was dropped (a tombstone). */
  changes: Set<string>;
}

export function emptyOutput(): JoinOutput {
  return { findings: [], facts: [], changes: new Set() };
}

const CHAIN_PREFIX = 'trace:';
/** Most entries never write a finding: they share one empty list instead of holding one each. */
const NOTHING_WRITTEN: string[] = [];

export class JoinState {
  readonly strings = new Interner();
  private readonly messages = new Map<string, MessageEntry>();
  private readonly chains = new Map<string, ChainEntry>();
  private readonly deadlines = new Deadlines();
  /** Event-time clock, epoch µs. */
  clockUs = 0;

  constructor(readonly options: JoinOptions) {}

  get openMessages(): number {
    return this.messages.size;
  }

  get openChains(): number {
    return this.chains.size;
  }

  /** Event time of the oldest fact of an open message, or undefined. */
  oldestOpenUs(): number | undefined {
    let oldest: number | undefined;
    for (const entry of this.messages.values())
      if (oldest === undefined || entry.firstUs < oldest) oldest = entry.firstUs;
    return oldest;
  }

  /** Folds one fact under its key and writes what became certain. */
  apply(key: string, fact: Fact, out: JoinOutput): void {
    const atUs = factTime(fact);
    if (fact.type === 'send' || fact.type === 'delivery') this.applyMessage(key, fact, atUs, out);
    else if (this.options.slowUs !== undefined) this.applyChain(key, fact, atUs, out);
  }

  /** Moves the clock (never back) and settles every entry that became due. */
  advance(nowUs: number, out: JoinOutput): void {
    if (nowUs > this.clockUs) this.clockUs = nowUs;
    for (const key of this.deadlines.due(this.clockUs)) {
      const message = this.messages.get(key);
      if (message !== undefined) {
        this.judgeMessage(key, message, out);
        this.messages.delete(key);
      } else this.chains.delete(key);
      out.changes.add(key);
    }
  }

  /** The entry under a key, for the changelog; undefined once dropped. */
  entry(key: string): MessageEntry | ChainEntry | undefined {
    return this.messages.get(key) ?? this.chains.get(key);
  }

  /** Puts back an entry read from the changelog. */
  restore(key: string, entry: MessageEntry | ChainEntry | undefined): void {
    this.messages.delete(key);
    this.chains.delete(key);
    if (entry === undefined) {
      this.deadlines.delete(key);
      return;
    }
    if ('record' in entry) this.messages.set(key, entry);
    else this.chains.set(key, entry);
    this.deadlines.set(key, this.deadlineOf(key, entry));
  }

  private applyMessage(key: string, fact: SendFact | DeliveryFact, atUs: number, out: JoinOutput): void {
    let entry = this.messages.get(key);
    if (entry === undefined) {
      entry = { record: newMessageRecord(fact.traceId), written: NOTHING_WRITTEN, firstUs: atUs, lastUs: atUs };
      this.messages.set(key, entry);
    }
    const { record } = entry;
    const wasSent = isSent(record);
    let added: DeliveryRecord | undefined;
    if (fact.type === 'send') foldSend(record, fact, this.strings);
    else {
      added = foldDelivery(record, fact, this.strings);
      if (added === undefined) return; // that consume span was folded already
    }
    entry.firstUs = Math.min(entry.firstUs, atUs);
    entry.lastUs = Math.max(entry.lastUs, atUs);
    if (this.options.slowUs !== undefined) {
      // A consume joined with its send is a hop of the send's chain, whose entry may be elsewhere.
      const joined = added !== undefined ? [added] : !wasSent ? (record.deliveries ?? []) : [];
      for (const delivery of joined) {
        const hop = hopOf(record, delivery, this.strings);
        if (hop !== undefined) out.facts.push({ key: `${CHAIN_PREFIX}${hop.traceId}`, fact: hop });
      }
    }
    this.judgeMessage(key, entry, out);
    this.deadlines.set(key, this.deadlineOf(key, entry));
    out.changes.add(key);
  }

  private applyChain(key: string, fact: ChainFact | HopFact, atUs: number, out: JoinOutput): void {
    let entry = this.chains.get(key);
    if (entry === undefined) {
      entry = { chain: newChainRecord(), written: false, firstUs: atUs, lastUs: atUs };
      this.chains.set(key, entry);
    }
    if (fact.type === 'chain') foldChain(entry.chain, fact, this.strings);
    else foldHop(entry.chain, fact, this.strings);
    entry.firstUs = Math.min(entry.firstUs, atUs);
    entry.lastUs = Math.max(entry.lastUs, atUs);
    if (!entry.written) {
      const slow = judgeChain(key.slice(CHAIN_PREFIX.length), entry.chain, this.strings, this.options.slowUs ?? 0);
      if (slow !== undefined) {
        entry.written = true;
        out.findings.push({ key: findingKey(slow), finding: slow });
      }
    }
    this.deadlines.set(key, this.deadlineOf(key, entry));
    out.changes.add(key);
  }

  /** Writes the findings of a message that are certain now and not written yet. */
  private judgeMessage(key: string, entry: MessageEntry, out: JoinOutput): void {
    const { record } = entry;
    const spanId = key.slice(key.indexOf(':') + 1);
    if (!mayFind(record, this.clockUs, this.options.graceUs)) return;
    const settled = isSent(record) || this.clockUs >= entry.lastUs + this.options.graceUs;
    const findings = judgeMessage(spanId.startsWith('~') ? undefined : spanId, record, {
      strings: this.strings,
      graceUs: this.options.graceUs,
      nowUs: this.clockUs,
    });
    for (const finding of findings) {
      if (!settled && finding.kind !== 'lost') continue;
      const findingId = findingKey(finding);
      if (entry.written.includes(findingId)) continue;
      entry.written = [...entry.written, findingId];
      out.findings.push({ key: findingId, finding });
      out.changes.add(key);
    }
  }

  private deadlineOf(key: string, entry: MessageEntry | ChainEntry): number {
    const keepUs = key.startsWith(CHAIN_PREFIX)
      ? this.options.graceUs + (this.options.slowUs ?? 0)
      : this.options.graceUs;
    if ('record' in entry && isSent(entry.record)) {
      // Judged lost at send + grace, and kept a grace period after its last fact.
      return Math.max(entry.record.sentAtUs + this.options.graceUs, entry.lastUs + keepUs);
    }
    return entry.lastUs + keepUs;
  }
}

/** When a fact happened: the end of its span (when the span could be exported at the earliest). */
export function factTime(fact: Fact): number {
  switch (fact.type) {
    case 'send':
      return fact.endUs;
    case 'delivery':
      return fact.endUs;
    case 'hop':
      return fact.endUs;
    default:
      return fact.consumeEndUs ?? fact.sendUs ?? 0;
  }
}

export { NONE };
