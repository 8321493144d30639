import type { JaegerTrace } from '../jaeger/types';
import { DEAD_LETTER_OUTCOMES } from '../spans/attributes';
import { type MessagingSpan, readTrace } from '../spans/messaging-span';
import {
  type AuditReport,
  type DeadLetterFinding,
  type DuplicateFinding,
  type FailedFinding,
  FINDING_KINDS,
  type FindingKind,
  type LostFinding,
  type MessageRef,
  type RedeliveredFinding,
  type ReturnedFinding,
  type SlowFinding,
} from './findings';

export interface AuditOptions {
  /** The window scanned, epoch microseconds. Sends and consumes are judged when they start in it. */
  startUs: number;
  endUs: number;
  /** A send younger than this at the end of the window is not yet judged lost. */
  graceUs: number;
  /** Chains (first send start to last consume end) longer than this are reported slow. */
  slowUs?: number;
  /** Only spans of these services are judged; empty means all. */
  services?: readonly string[];
  /** Only sends to and consumes from these destinations are judged; empty means all. */
  destinations?: readonly string[];
}

// Flags of a message record.
const SENT = 1;
const RETURNED = 2;
const SEND_FAILED = 4;
const SEND_IN_SCOPE = 8;
// Flags of a delivery.
const IN_SCOPE = 1;
const REDELIVERED = 2;
const DUPLICATE = 4;
const FAILED = 8;
const REJECTED = 16;
const DEAD_LETTER_ARRIVAL = 32;
/** A batch span (kafkajs `eachBatch`): the same message may also have its own per-message span. */
const BATCH = 64;

/** Longest message id kept; anything longer is cut, so one record's size stays bounded. */
const MAX_KEPT_ID_LENGTH = 128;
const NONE = -1;

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

interface TraceRecord {
  /** Most spans seen in one fetch of the trace: the same trace seen again no bigger is skipped. */
  spans: number;
  inScope: boolean;
  firstSendUs: number;
  /** Interned scope of the first send. */
  origin: number;
  lastConsumeEndUs: number;
}

class Interner {
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

export interface AggregatorStats {
  traces: number;
  spans: number;
  /** Message records held (one per send span id seen, sent or referred to). */
  messages: number;
  deliveries: number;
  /** Distinct interned strings (services, destinations, outcomes, error types). */
  interned: number;
}

/**
 * Folds traces into compact per-message records as they stream in, and judges them at the end.
 *
 * Memory holds one record per message and one small entry per consume span — never a trace, a
 * span or its attributes — so auditing a window of 100,000 spans costs a few megabytes whatever
 * the spans carry. Every record is keyed by a span id, so a trace seen twice (it spans two time
 * slices, or two scanned services) counts once.
 */
export class AuditAggregator {
  private readonly messages = new Map<string, MessageRecord>();
  private readonly traces = new Map<string, TraceRecord>();
  private readonly strings = new Interner();
  private readonly services: ReadonlySet<string>;
  private readonly destinations: ReadonlySet<string>;
  private deliveryCount = 0;

  constructor(private readonly options: AuditOptions) {
    this.services = new Set(options.services ?? []);
    this.destinations = new Set(options.destinations ?? []);
  }

  /** Adds a trace as Jaeger returned it. A trace already seen with as many spans is skipped. */
  addTrace(trace: JaegerTrace): void {
    const known = this.traces.get(trace.traceID);
    if (known !== undefined && known.spans >= trace.spans.length) return;
    const record = known ?? this.traceRecord(trace.traceID);
    record.spans = trace.spans.length;
    for (const span of readTrace(trace)) this.addSpan(span);
  }

  /** Adds one span. Adding the same span again changes nothing. */
  addSpan(span: MessagingSpan): void {
    if (span.role === 'send') this.addSend(span);
    else if (span.role === 'consume') this.addConsume(span);
  }

  get stats(): AggregatorStats {
    let spans = 0;
    for (const trace of this.traces.values()) spans += trace.spans;
    return {
      traces: this.traces.size,
      spans,
      messages: this.messages.size,
      deliveries: this.deliveryCount,
      interned: this.strings.size,
    };
  }

  /** The records held, keyed by send span id (or `~<consume span id>` for a consume span that names no message). */
  records(): IterableIterator<[string, MessageRecord]> {
    return this.messages.entries();
  }

  /** Judges every message in the window. `incomplete` is passed through from the scan. */
  report(incomplete?: string): AuditReport {
    const { startUs, endUs, graceUs, slowUs } = this.options;
    const report: AuditReport = {
      window: {
        start: new Date(startUs / 1_000).toISOString(),
        end: new Date(endUs / 1_000).toISOString(),
        graceMs: graceUs / 1_000,
      },
      filters: { services: [...this.services], destinations: [...this.destinations] },
      scanned: { traces: this.traces.size, spans: this.stats.spans, messages: 0, deliveries: 0 },
      counts: Object.fromEntries(FINDING_KINDS.map((kind) => [kind, 0])) as Record<FindingKind, number>,
      findings: { lost: [], duplicate: [], redelivered: [], 'dead-letter': [], failed: [], slow: [], returned: [] },
    };
    if (slowUs !== undefined) report.window.slowMs = slowUs / 1_000;
    if (incomplete !== undefined) report.incomplete = incomplete;
    const { findings } = report;

    for (const [key, record] of this.messages) {
      const ref = this.messageRef(key, record);
      const sentInScope = (record.flags & SENT) !== 0 && (record.flags & SEND_IN_SCOPE) !== 0;
      if (sentInScope) {
        report.scanned.messages++;
        if (record.flags & RETURNED) findings.returned.push({ kind: 'returned', ...ref } satisfies ReturnedFinding);
        else if (record.flags & SEND_FAILED) findings.failed.push(this.sendFailure(ref, record));
        else if (record.deliveries === undefined && record.sentAtUs <= endUs - graceUs) {
          findings.lost.push({
            kind: 'lost',
            ...ref,
            ageMs: Math.round((endUs - record.sentAtUs) / 1_000),
          } satisfies LostFinding);
        }
      }
      const inScope = (record.deliveries ?? []).filter((delivery) => delivery.flags & IN_SCOPE);
      report.scanned.deliveries += inScope.length;
      if (inScope.length === 0) continue;
      findings.duplicate.push(...this.duplicates(ref, inScope));
      const redelivered = inScope.filter((delivery) => delivery.flags & REDELIVERED);
      const first = redelivered[0];
      if (first !== undefined) {
        const [consumer, consumerDestination] = this.scope(first.consumer);
        findings.redelivered.push({
          kind: 'redelivered',
          ...ref,
          consumer,
          ...(consumerDestination === undefined ? {} : { consumerDestination }),
          processSpanIds: redelivered.map((delivery) => delivery.spanId),
        } satisfies RedeliveredFinding);
      }
      const deadLetter = this.deadLetter(ref, inScope);
      if (deadLetter !== undefined) findings['dead-letter'].push(deadLetter);
      const failed = inScope.find((delivery) => delivery.flags & FAILED);
      if (failed !== undefined && !(sentInScope && record.flags & SEND_FAILED)) {
        const [service, destination] = this.scope(failed.consumer);
        const finding: FailedFinding = {
          kind: 'failed',
          ...ref,
          phase: 'process',
          failedAt: { service, ...(destination === undefined ? {} : { destination }), spanId: failed.spanId },
        };
        const errorType = this.strings.value(failed.errorType);
        const outcome = this.strings.value(failed.outcome);
        if (errorType !== undefined) finding.errorType = errorType;
        if (outcome !== undefined) finding.outcome = outcome;
        findings.failed.push(finding);
      }
    }
    if (slowUs !== undefined) findings.slow = this.slowChains(slowUs);

    const bySentAt = (a: { sentAt?: string }, b: { sentAt?: string }) => (a.sentAt ?? '').localeCompare(b.sentAt ?? '');
    for (const kind of FINDING_KINDS) {
      if (kind !== 'slow') (findings[kind] as MessageRef[]).sort(bySentAt);
      report.counts[kind] = findings[kind].length;
    }
    findings.slow.sort((a, b) => b.durationMs - a.durationMs);
    return report;
  }

  private addSend(span: MessagingSpan): void {
    const record = this.record(span.spanId, span.traceId);
    record.traceId = span.traceId;
    record.sentAtUs = span.startUs;
    record.sender = this.strings.intern(scopeKey(span));
    record.flags |= SENT;
    if (span.returned) record.flags |= RETURNED;
    if (span.error !== undefined) {
      record.flags |= SEND_FAILED;
      record.sendError = this.strings.intern(span.error.type ?? 'error');
    }
    if (this.inScope(span)) record.flags |= SEND_IN_SCOPE;
    if (span.messageId !== undefined) record.messageId = span.messageId.slice(0, MAX_KEPT_ID_LENGTH);

    const trace = this.traces.get(span.traceId) ?? this.traceRecord(span.traceId);
    if (this.inScope(span)) trace.inScope = true;
    if (span.startUs < trace.firstSendUs) {
      trace.firstSendUs = span.startUs;
      trace.origin = record.sender;
    }
  }

  private addConsume(span: MessagingSpan): void {
    let flags = 0;
    if (this.inScope(span)) flags |= IN_SCOPE;
    if (span.redelivered) flags |= REDELIVERED;
    if (span.duplicate) flags |= DUPLICATE;
    if (span.error !== undefined) flags |= FAILED;
    if (span.outcome !== undefined && DEAD_LETTER_OUTCOMES.includes(span.outcome)) flags |= REJECTED;
    if (span.deadLetter !== undefined) flags |= DEAD_LETTER_ARRIVAL;
    if (span.batchCount !== undefined) flags |= BATCH;

    const trace = this.traces.get(span.traceId) ?? this.traceRecord(span.traceId);
    if (flags & IN_SCOPE) trace.inScope = true;
    trace.lastConsumeEndUs = Math.max(trace.lastConsumeEndUs, span.startUs + span.durationUs);

    // A consume span that names no message is kept only when it has something to report.
    const refs =
      span.messages.length > 0
        ? span.messages
        : flags & ~IN_SCOPE
          ? [{ traceId: span.traceId, spanId: `~${span.spanId}` }]
          : [];
    for (const ref of refs) {
      const record = this.record(ref.spanId, ref.traceId);
      if (record.deliveries?.some((delivery) => delivery.spanId === span.spanId)) continue;
      const delivery: DeliveryRecord = {
        spanId: span.spanId,
        consumer: this.strings.intern(scopeKey(span)),
        startUs: span.startUs,
        endUs: span.startUs + span.durationUs,
        flags,
        outcome: span.outcome === undefined ? NONE : this.strings.intern(span.outcome),
        errorType: span.error === undefined ? NONE : this.strings.intern(span.error.type ?? 'error'),
      };
      // Most messages are consumed once: an array literal of one is sized for one, while push()
      // onto an empty array reserves room for 17.
      if (record.deliveries === undefined) record.deliveries = [delivery];
      else record.deliveries.push(delivery);
      this.deliveryCount++;
    }
  }

  private record(key: string, traceId: string): MessageRecord {
    let record = this.messages.get(key);
    if (record === undefined) {
      record = {
        traceId,
        sentAtUs: Number.NaN,
        sender: NONE,
        flags: 0,
        messageId: undefined,
        sendError: NONE,
        deliveries: undefined,
      };
      this.messages.set(key, record);
    }
    return record;
  }

  private traceRecord(traceId: string): TraceRecord {
    const record: TraceRecord = {
      spans: 0,
      inScope: false,
      firstSendUs: Number.POSITIVE_INFINITY,
      origin: NONE,
      lastConsumeEndUs: Number.NEGATIVE_INFINITY,
    };
    this.traces.set(traceId, record);
    return record;
  }

  private inScope(span: MessagingSpan): boolean {
    if (span.startUs < this.options.startUs || span.startUs > this.options.endUs) return false;
    if (this.services.size > 0 && !this.services.has(span.service)) return false;
    return this.destinations.size === 0 || this.destinations.has(span.destination ?? '');
  }

  /** Service and destination of an interned scope. */
  private scope(index: number): [string, string | undefined] {
    const [service = '?', destination] = (this.strings.value(index) ?? '?').split('\u0000');
    return [service, destination === '' ? undefined : destination];
  }

  private messageRef(key: string, record: MessageRecord): MessageRef {
    const ref: MessageRef = { traceId: record.traceId };
    if (!key.startsWith('~')) ref.sendSpanId = key;
    if (record.flags & SENT) {
      const [service, destination] = this.scope(record.sender);
      ref.service = service;
      if (destination !== undefined) ref.destination = destination;
      ref.sentAt = new Date(record.sentAtUs / 1_000).toISOString();
    }
    if (record.messageId !== undefined) ref.messageId = record.messageId;
    return ref;
  }

  private sendFailure(ref: MessageRef, record: MessageRecord): FailedFinding {
    const finding: FailedFinding = {
      kind: 'failed',
      ...ref,
      phase: 'send',
      failedAt: { spanId: ref.sendSpanId ?? '' },
    };
    if (ref.service !== undefined) finding.failedAt.service = ref.service;
    if (ref.destination !== undefined) finding.failedAt.destination = ref.destination;
    const errorType = this.strings.value(record.sendError);
    if (errorType !== undefined) finding.errorType = errorType;
    return finding;
  }

  /**
   * One finding per consumer that processed the message more than once, or flagged it. A batch
   * span and the per-message span inside it are one processing, so they are counted apart.
   */
  private duplicates(ref: MessageRef, deliveries: DeliveryRecord[]): DuplicateFinding[] {
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
      const finished = list.filter((delivery) => this.strings.value(delivery.outcome) !== 'requeue');
      if (finished.length > 1 && ref.sendSpanId !== undefined) reasons.push('same-message');
      if (list.some((delivery) => delivery.flags & DUPLICATE)) reasons.push('flagged');
      if (reasons.length === 0) continue;
      const [consumer, consumerDestination] = this.scope(consumerScope);
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

  private deadLetter(ref: MessageRef, deliveries: DeliveryRecord[]): DeadLetterFinding | undefined {
    const rejected = deliveries.find((delivery) => delivery.flags & REJECTED);
    const arrival = deliveries.find((delivery) => delivery.flags & DEAD_LETTER_ARRIVAL);
    if (rejected === undefined && arrival === undefined) return undefined;
    const finding: DeadLetterFinding = { kind: 'dead-letter', ...ref };
    if (rejected !== undefined) {
      const [service, destination] = this.scope(rejected.consumer);
      finding.rejectedBy = {
        service,
        ...(destination === undefined ? {} : { destination }),
        outcome: this.strings.value(rejected.outcome) ?? 'drop',
        spanId: rejected.spanId,
      };
    }
    if (arrival !== undefined) {
      const [service, destination] = this.scope(arrival.consumer);
      finding.arrivedAt = { service, ...(destination === undefined ? {} : { destination }), spanId: arrival.spanId };
    }
    return finding;
  }

  /**
   * A chain is a trace: its first send to its last consume end, counting consumes in other traces
   * that link to its messages (consumers with `useLinksForConsume`).
   */
  private slowChains(slowUs: number): SlowFinding[] {
    const slowestHop = new Map<string, { latencyUs: number; delivery: DeliveryRecord }>();
    for (const record of this.messages.values()) {
      if (!(record.flags & SENT) || record.deliveries === undefined) continue;
      const trace = this.traces.get(record.traceId);
      for (const delivery of record.deliveries) {
        if (trace !== undefined) trace.lastConsumeEndUs = Math.max(trace.lastConsumeEndUs, delivery.endUs);
        const latencyUs = delivery.endUs - record.sentAtUs;
        const current = slowestHop.get(record.traceId);
        if (current === undefined || latencyUs > current.latencyUs)
          slowestHop.set(record.traceId, { latencyUs, delivery });
      }
    }
    const found: SlowFinding[] = [];
    for (const [traceId, trace] of this.traces) {
      if (!trace.inScope || !Number.isFinite(trace.firstSendUs) || !Number.isFinite(trace.lastConsumeEndUs)) continue;
      const durationUs = trace.lastConsumeEndUs - trace.firstSendUs;
      if (durationUs <= slowUs) continue;
      const finding: SlowFinding = { kind: 'slow', traceId, durationMs: Math.round(durationUs / 1_000) };
      const [service, destination] = this.scope(trace.origin);
      finding.origin = { service, ...(destination === undefined ? {} : { destination }) };
      const hop = slowestHop.get(traceId);
      if (hop !== undefined) {
        const [hopService, hopDestination] = this.scope(hop.delivery.consumer);
        finding.slowestHop = {
          service: hopService,
          ...(hopDestination === undefined ? {} : { destination: hopDestination }),
          spanId: hop.delivery.spanId,
          latencyMs: Math.round(hop.latencyUs / 1_000),
        };
      }
      found.push(finding);
    }
    return found;
  }
}

function scopeKey(span: MessagingSpan): string {
  return `${span.service}\u0000${span.destination ?? ''}`;
}
