import {
  BATCH,
  type ChainFact,
  DEAD_LETTER_ARRIVAL,
  type DeliveryFact,
  DUPLICATE,
  FAILED,
  type HopFact,
  IN_SCOPE,
  REDELIVERED,
  REJECTED,
  type SendFact,
  splitScope,
} from './facts';
import type {
  DeadLetterFinding,
  DuplicateFinding,
  FailedFinding,
  Finding,
  LostFinding,
  MessageRef,
  RedeliveredFinding,
  ReturnedFinding,
  SlowFinding,
} from './findings';

/**
 * The audit's rules: pure folds of per-message facts (facts.ts) into compact records, and pure
 * judgements of a record into findings. The batch audit (aggregator.ts) judges every record once at
 * the end of its window; `audit --follow` (follow/) judges a record each time a fact or the clock
 * moves it and writes what it has not written yet. Neither has a rule of its own.
 */

// Flags of a message record.
const SENT = 1;
const RETURNED = 2;
const SEND_FAILED = 4;
const SEND_IN_SCOPE = 8;
export const NONE = -1;

/**
 * What the audit keeps of one message: its send, and a small entry per consume span. Strings that
 * repeat (service, destination, outcome, error type) are interned to small numbers.
 */
export interface MessageRecord {
  traceId: string;
  /** Start of the send span; NaN while only consume spans of the message were seen. */
  sentAtUs: number;
  /** Interned `service \0 destination` of the sender, or -1. */
  sender: number;
  flags: number;
  messageId: string | undefined;
  /** Interned error type of a failed send, or -1. */
  sendError: number;
  deliveries: DeliveryRecord[] | undefined;
}

export interface DeliveryRecord {
  spanId: string;
  /** Interned `service \0 destination` of the consumer. */
  consumer: number;
  startUs: number;
  endUs: number;
  flags: number;
  /** Interned settle outcome, or -1. */
  outcome: number;
  /** Interned error type, or -1. */
  errorType: number;
}

/** A chain (trace): its first send, its last consume end, and its slowest hop. */
export interface ChainRecord {
  inScope: boolean;
  firstSendUs: number;
  /** Interned scope of the first send. */
  origin: number;
  lastConsumeEndUs: number;
  slowest: { latencyUs: number; consumer: number; spanId: string } | undefined;
}

export class Interner {
  private readonly indexes = new Map<string, number>();
  private readonly values: string[] = [];

  intern(value: string): number {
    let index = this.indexes.get(value);
    if (index === undefined) {
      index = this.values.length;
      this.values.push(value);
      this.indexes.set(value, index);
    }
    return index;
  }

  value(index: number): string | undefined {
    return index === NONE ? undefined : this.values[index];
  }

  get size(): number {
    return this.values.length;
  }
}

export function newMessageRecord(traceId: string): MessageRecord {
  return {
    traceId,
    sentAtUs: Number.NaN,
    sender: NONE,
    flags: 0,
    messageId: undefined,
    sendError: NONE,
    deliveries: undefined,
  };
}

export function newChainRecord(): ChainRecord {
  return {
    inScope: false,
    firstSendUs: Number.POSITIVE_INFINITY,
    origin: NONE,
    lastConsumeEndUs: Number.NEGATIVE_INFINITY,
    slowest: undefined,
  };
}

export function isSent(record: MessageRecord): boolean {
  return (record.flags & SENT) !== 0;
}

/** Folds a send fact into its message's record. Folding it again changes nothing. */
export function foldSend(record: MessageRecord, fact: SendFact, strings: Interner): void {
  record.traceId = fact.traceId;
  record.sentAtUs = fact.startUs;
  record.sender = strings.intern(fact.scope);
  record.flags |= SENT;
  if (fact.returned) record.flags |= RETURNED;
  if (fact.error !== undefined) {
    record.flags |= SEND_FAILED;
    record.sendError = strings.intern(fact.error);
  }
  if (fact.inScope) record.flags |= SEND_IN_SCOPE;
  if (fact.messageId !== undefined) record.messageId = fact.messageId;
}

/** Folds a delivery fact into its message's record; undefined when that consume span was folded already. */
export function foldDelivery(record: MessageRecord, fact: DeliveryFact, strings: Interner): DeliveryRecord | undefined {
  if (record.deliveries?.some((delivery) => delivery.spanId === fact.spanId)) return undefined;
  const delivery: DeliveryRecord = {
    spanId: fact.spanId,
    consumer: strings.intern(fact.scope),
    startUs: fact.startUs,
    endUs: fact.endUs,
    flags: fact.flags,
    outcome: fact.outcome === undefined ? NONE : strings.intern(fact.outcome),
    errorType: fact.errorType === undefined ? NONE : strings.intern(fact.errorType),
  };
  // Most messages are consumed once: an array literal of one is sized for one, while push()
  // onto an empty array reserves room for 17.
  if (record.deliveries === undefined) record.deliveries = [delivery];
  else record.deliveries.push(delivery);
  return delivery;
}

/** Folds a span's chain fact into its trace's chain. */
export function foldChain(chain: ChainRecord, fact: ChainFact, strings: Interner): void {
  if (fact.inScope) chain.inScope = true;
  if (fact.sendUs !== undefined && fact.sendUs < chain.firstSendUs) {
    chain.firstSendUs = fact.sendUs;
    chain.origin = fact.origin === undefined ? NONE : strings.intern(fact.origin);
  }
  if (fact.consumeEndUs !== undefined) chain.lastConsumeEndUs = Math.max(chain.lastConsumeEndUs, fact.consumeEndUs);
}

/**
 * The hop a delivery makes in its message's chain: known once the message's send is. A consume in
 * another trace (a links-mode consumer) counts in the chain of the message it consumed.
 */
export function hopOf(record: MessageRecord, delivery: DeliveryRecord, strings: Interner): HopFact | undefined {
  if (!isSent(record)) return undefined;
  return {
    type: 'hop',
    traceId: record.traceId,
    spanId: delivery.spanId,
    scope: strings.value(delivery.consumer) ?? '?',
    endUs: delivery.endUs,
    latencyUs: delivery.endUs - record.sentAtUs,
  };
}

/** Folds a hop into its chain: the chain lasts until its end, and the slowest hop is kept. */
export function foldHop(chain: ChainRecord, hop: HopFact, strings: Interner): void {
  chain.lastConsumeEndUs = Math.max(chain.lastConsumeEndUs, hop.endUs);
  if (chain.slowest === undefined || hop.latencyUs > chain.slowest.latencyUs)
    chain.slowest = { latencyUs: hop.latencyUs, consumer: strings.intern(hop.scope), spanId: hop.spanId };
}

export interface JudgeContext {
  strings: Interner;
  graceUs: number;
  /** The audit's clock, epoch µs: a send not consumed by `nowUs - graceUs` is lost. */
  nowUs: number;
}

function scopeOf(strings: Interner, index: number): [string, string | undefined] {
  return splitScope(strings.value(index) ?? '?');
}

/** The message a finding is about. `sendSpanId` is undefined for a consume span that names no message. */
export function messageRef(sendSpanId: string | undefined, record: MessageRecord, strings: Interner): MessageRef {
  const ref: MessageRef = { traceId: record.traceId };
  if (sendSpanId !== undefined) ref.sendSpanId = sendSpanId;
  if (record.flags & SENT) {
    const [service, destination] = scopeOf(strings, record.sender);
    ref.service = service;
    if (destination !== undefined) ref.destination = destination;
    ref.sentAt = new Date(record.sentAtUs / 1_000).toISOString();
  }
  if (record.messageId !== undefined) ref.messageId = record.messageId;
  return ref;
}

/** Whether the send counts as a message of the audit (in its window and filters). */
export function sentInScope(record: MessageRecord): boolean {
  return (record.flags & SENT) !== 0 && (record.flags & SEND_IN_SCOPE) !== 0;
}

/** The consumes the audit judges (in its window and filters). */
export function deliveriesInScope(record: MessageRecord): DeliveryRecord[] {
  return (record.deliveries ?? []).filter((delivery) => delivery.flags & IN_SCOPE);
}

/**
 * False when `judgeMessage` can find nothing in the record at `nowUs`: a send neither returned nor
 * failed, and either not yet past its grace period or consumed once, plainly. Most messages are,
 * so a streaming driver judging after every fact asks this first.
 */
export function mayFind(record: MessageRecord, nowUs: number, graceUs: number): boolean {
  if (record.flags & (RETURNED | SEND_FAILED)) return true;
  const { deliveries } = record;
  if (deliveries === undefined) return (record.flags & SENT) !== 0 && record.sentAtUs <= nowUs - graceUs;
  if (deliveries.length > 1) return true;
  return ((deliveries[0]?.flags ?? 0) & ~(IN_SCOPE | BATCH)) !== 0;
}

/**
 * Every finding about one message, as the facts folded so far and the clock show it: returned, a
 * failed send or lost (sent, in scope, not consumed by `nowUs - graceUs`); duplicates per consumer;
 * redelivered; dead-lettered; failed processing.
 */
export function judgeMessage(sendSpanId: string | undefined, record: MessageRecord, ctx: JudgeContext): Finding[] {
  const { strings } = ctx;
  const found: Finding[] = [];
  const ref = messageRef(sendSpanId, record, strings);
  const inScopeSend = sentInScope(record);
  if (inScopeSend) {
    if (record.flags & RETURNED) found.push({ kind: 'returned', ...ref } satisfies ReturnedFinding);
    else if (record.flags & SEND_FAILED) found.push(sendFailure(ref, record, strings));
    else if (record.deliveries === undefined && record.sentAtUs <= ctx.nowUs - ctx.graceUs) {
      found.push({
        kind: 'lost',
        ...ref,
        ageMs: Math.round((ctx.nowUs - record.sentAtUs) / 1_000),
      } satisfies LostFinding);
    }
  }
  const inScope = deliveriesInScope(record);
  if (inScope.length === 0) return found;
  found.push(...duplicates(ref, inScope, strings));
  const redelivered = inScope.filter((delivery) => delivery.flags & REDELIVERED);
  const first = redelivered[0];
  if (first !== undefined) {
    const [consumer, consumerDestination] = scopeOf(strings, first.consumer);
    found.push({
      kind: 'redelivered',
      ...ref,
      consumer,
      ...(consumerDestination === undefined ? {} : { consumerDestination }),
      processSpanIds: redelivered.map((delivery) => delivery.spanId),
    } satisfies RedeliveredFinding);
  }
  const deadLetter = deadLettered(ref, inScope, strings);
  if (deadLetter !== undefined) found.push(deadLetter);
  const failed = inScope.find((delivery) => delivery.flags & FAILED);
  if (failed !== undefined && !(inScopeSend && record.flags & SEND_FAILED)) {
    const [service, destination] = scopeOf(strings, failed.consumer);
    const finding: FailedFinding = {
      kind: 'failed',
      ...ref,
      phase: 'process',
      failedAt: { service, ...(destination === undefined ? {} : { destination }), spanId: failed.spanId },
    };
    const errorType = strings.value(failed.errorType);
    const outcome = strings.value(failed.outcome);
    if (errorType !== undefined) finding.errorType = errorType;
    if (outcome !== undefined) finding.outcome = outcome;
    found.push(finding);
  }
  return found;
}

/** A chain slower than `slowUs` (first send start to last consume end), with its slowest hop. */
export function judgeChain(
  traceId: string,
  chain: ChainRecord,
  strings: Interner,
  slowUs: number,
): SlowFinding | undefined {
  if (!chain.inScope || !Number.isFinite(chain.firstSendUs) || !Number.isFinite(chain.lastConsumeEndUs))
    return undefined;
  const durationUs = chain.lastConsumeEndUs - chain.firstSendUs;
  if (durationUs <= slowUs) return undefined;
  const finding: SlowFinding = { kind: 'slow', traceId, durationMs: Math.round(durationUs / 1_000) };
  const [service, destination] = scopeOf(strings, chain.origin);
  finding.origin = { service, ...(destination === undefined ? {} : { destination }) };
  const hop = chain.slowest;
  if (hop !== undefined) {
    const [hopService, hopDestination] = scopeOf(strings, hop.consumer);
    finding.slowestHop = {
      service: hopService,
      ...(hopDestination === undefined ? {} : { destination: hopDestination }),
      spanId: hop.spanId,
      latencyMs: Math.round(hop.latencyUs / 1_000),
    };
  }
  return finding;
}

function sendFailure(ref: MessageRef, record: MessageRecord, strings: Interner): FailedFinding {
  const finding: FailedFinding = {
    kind: 'failed',
    ...ref,
    phase: 'send',
    failedAt: { spanId: ref.sendSpanId ?? '' },
  };
  if (ref.service !== undefined) finding.failedAt.service = ref.service;
  if (ref.destination !== undefined) finding.failedAt.destination = ref.destination;
  const errorType = strings.value(record.sendError);
  if (errorType !== undefined) finding.errorType = errorType;
  return finding;
}

/**
 * One finding per consumer that processed the message more than once, or flagged it. A batch
 * span and the per-message span inside it are one processing, so they are counted apart.
 */
function duplicates(ref: MessageRef, deliveries: DeliveryRecord[], strings: Interner): DuplicateFinding[] {
  const byConsumer = new Map<number, DeliveryRecord[]>();
  for (const delivery of deliveries) {
    const key = delivery.consumer * 2 + (delivery.flags & BATCH ? 1 : 0);
    const list = byConsumer.get(key) ?? [];
    list.push(delivery);
    byConsumer.set(key, list);
  }
  const found: DuplicateFinding[] = [];
  for (const [key, list] of byConsumer) {
    const consumerScope = Math.floor(key / 2);
    const reasons: DuplicateFinding['reasons'] = [];
    // A delivery the consumer requeued did not finish: the next one is a redelivery (reported as
    // such), not the message processed twice.
    const finished = list.filter((delivery) => strings.value(delivery.outcome) !== 'requeue');
    if (finished.length > 1 && ref.sendSpanId !== undefined) reasons.push('same-message');
    if (list.some((delivery) => delivery.flags & DUPLICATE)) reasons.push('flagged');
    if (reasons.length === 0) continue;
    const [consumer, consumerDestination] = scopeOf(strings, consumerScope);
    found.push({
      kind: 'duplicate',
      ...ref,
      consumer,
      ...(consumerDestination === undefined ? {} : { consumerDestination }),
      times: list.length,
      reasons,
      processSpanIds: list.map((delivery) => delivery.spanId),
    });
  }
  return found;
}

function deadLettered(ref: MessageRef, deliveries: DeliveryRecord[], strings: Interner): DeadLetterFinding | undefined {
  const rejected = deliveries.find((delivery) => delivery.flags & REJECTED);
  const arrival = deliveries.find((delivery) => delivery.flags & DEAD_LETTER_ARRIVAL);
  if (rejected === undefined && arrival === undefined) return undefined;
  const finding: DeadLetterFinding = { kind: 'dead-letter', ...ref };
  if (rejected !== undefined) {
    const [service, destination] = scopeOf(strings, rejected.consumer);
    finding.rejectedBy = {
      service,
      ...(destination === undefined ? {} : { destination }),
      outcome: strings.value(rejected.outcome) ?? 'drop',
      spanId: rejected.spanId,
    };
  }
  if (arrival !== undefined) {
    const [service, destination] = scopeOf(strings, arrival.consumer);
    finding.arrivedAt = { service, ...(destination === undefined ? {} : { destination }), spanId: arrival.spanId };
  }
  return finding;
}

/**
 * The key a finding is written under: its kind and the message's identity (creation trace and span
 * id), the trace for a slow chain, and the consumer for a duplicate (each consumer's is its own).
 */
export function findingKey(finding: Finding): string {
  if (finding.kind === 'slow') return `slow:${finding.traceId}`;
  const identity = `${finding.kind}:${finding.traceId}:${finding.sendSpanId ?? '-'}`;
  if (finding.kind === 'duplicate')
    return `${identity}:${finding.consumer}${finding.consumerDestination === undefined ? '' : `@${finding.consumerDestination}`}`;
  if (finding.sendSpanId === undefined) {
    // A consume span that names no message: its own span id tells one from another.
    const spanId =
      finding.kind === 'failed'
        ? finding.failedAt.spanId
        : finding.kind === 'redelivered'
          ? finding.processSpanIds[0]
          : finding.kind === 'dead-letter'
            ? (finding.rejectedBy?.spanId ?? finding.arrivedAt?.spanId)
            : undefined;
    return `${identity}:${spanId ?? ''}`;
  }
  return identity;
}
