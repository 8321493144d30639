import type { JaegerTrace } from '../jaeger/types';
import { type MessagingSpan, readTrace } from '../spans/messaging-span';
import { type ChainFact, type DeliveryFact, type SendFact, spanFacts } from './facts';
import { type AuditReport, FINDING_KINDS, type Finding, type FindingKind, type MessageRef } from './findings';
import {
  type ChainRecord,
  deliveriesInScope,
  foldChain,
  foldDelivery,
  foldHop,
  foldSend,
  hopOf,
  Interner,
  judgeChain,
  judgeMessage,
  type MessageRecord,
  newChainRecord,
  newMessageRecord,
  sentInScope,
} from './rules';

export type { DeliveryRecord, MessageRecord } from './rules';

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

interface TraceRecord extends ChainRecord {
  /** Most spans seen in one fetch of the trace: the same trace seen again no bigger is skipped. */
  spans: number;
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
    for (const fact of spanFacts(span, this.inScope(span))) {
      if (fact.type === 'send') this.addSend(fact);
      else if (fact.type === 'delivery') this.addDelivery(fact);
      else if (fact.type === 'chain') this.addChain(fact);
    }
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
    const context = { strings: this.strings, graceUs, nowUs: endUs };

    for (const [key, record] of this.messages) {
      if (sentInScope(record)) report.scanned.messages++;
      report.scanned.deliveries += deliveriesInScope(record).length;
      for (const finding of judgeMessage(key.startsWith('~') ? undefined : key, record, context))
        (findings[finding.kind] as Finding[]).push(finding);
    }
    if (slowUs !== undefined) {
      // A chain lasts until the last consume of its messages, wherever that consume's span is.
      for (const record of this.messages.values()) {
        const chain = this.traces.get(record.traceId);
        if (chain === undefined) continue;
        for (const delivery of record.deliveries ?? []) {
          const hop = hopOf(record, delivery, this.strings);
          if (hop !== undefined) foldHop(chain, hop, this.strings);
        }
      }
      for (const [traceId, chain] of this.traces) {
        const slow = judgeChain(traceId, chain, this.strings, slowUs);
        if (slow !== undefined) findings.slow.push(slow);
      }
    }

    const bySentAt = (a: { sentAt?: string }, b: { sentAt?: string }) => (a.sentAt ?? '').localeCompare(b.sentAt ?? '');
    for (const kind of FINDING_KINDS) {
      if (kind !== 'slow') (findings[kind] as MessageRef[]).sort(bySentAt);
      report.counts[kind] = findings[kind].length;
    }
    findings.slow.sort((a, b) => b.durationMs - a.durationMs);
    return report;
  }

  private addSend(fact: SendFact): void {
    foldSend(this.record(fact.spanId, fact.traceId), fact, this.strings);
  }

  private addDelivery(fact: DeliveryFact): void {
    if (foldDelivery(this.record(fact.messageSpanId, fact.traceId), fact, this.strings) !== undefined)
      this.deliveryCount++;
  }

  private addChain(fact: ChainFact): void {
    foldChain(this.traces.get(fact.traceId) ?? this.traceRecord(fact.traceId), fact, this.strings);
  }

  private record(key: string, traceId: string): MessageRecord {
    let record = this.messages.get(key);
    if (record === undefined) {
      record = newMessageRecord(traceId);
      this.messages.set(key, record);
    }
    return record;
  }

  private traceRecord(traceId: string): TraceRecord {
    const record: TraceRecord = { ...newChainRecord(), spans: 0 };
    this.traces.set(traceId, record);
    return record;
  }

  private inScope(span: MessagingSpan): boolean {
    if (span.startUs < this.options.startUs || span.startUs > this.options.endUs) return false;
    if (this.services.size > 0 && !this.services.has(span.service)) return false;
    return this.destinations.size === 0 || this.destinations.has(span.destination ?? '');
  }
}
