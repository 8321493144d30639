import { type Fact, factKey, spanFacts } from '../audit/facts';
import type { Finding, FindingKind } from '../audit/findings';
import type { MessagingSpan } from '../spans/messaging-span';
import { countOtlpSpans, type OtlpTraceRequest, readOtlpRequest } from '../spans/otlp';
import { decodeEntry, decodeFact, encodeEntry, encodeFact } from './codec';
import { emptyOutput, type JoinOptions, type JoinOutput, JoinState } from './join';

/**
 * The two stages of `audit --follow` as the work on one input partition, without Kafka: records
 * in, records out. worker.ts runs them in Kafka transactions; tests run them on fakes.
 */

/** A record to write: to the facts topic (by key), the findings topic (by key), or the changelog (to `partition`). */
export interface OutRecord {
  topic: 'facts' | 'findings' | 'changelog';
  key: string;
  value: string | null;
  partition?: number;
}

export interface InRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
}

/** Which spans the audit judges: the batch audit's --service and --destination filters. */
export interface FollowScope {
  services?: readonly string[];
  destinations?: readonly string[];
}

export function scopeTest(scope: FollowScope): (span: MessagingSpan) => boolean {
  const services = new Set(scope.services ?? []);
  const destinations = new Set(scope.destinations ?? []);
  return (span) =>
    (services.size === 0 || services.has(span.service)) &&
    (destinations.size === 0 || destinations.has(span.destination ?? ''));
}

export interface SpanTaskResult {
  records: OutRecord[];
  spans: number;
  /** Records that were not OTLP/JSON trace requests (skipped). */
  unreadable: number;
}

/**
 * Stage 1: spans → facts keyed by message identity. Stateless: a span read twice (the exporter
 * retried, or a batch is replayed after a crash) gives the same facts, which stage 2 folds once.
 */
export function spansToFacts(
  records: readonly InRecord[],
  inScope: (span: MessagingSpan) => boolean,
  options: { chains: boolean },
): SpanTaskResult {
  const result: SpanTaskResult = { records: [], spans: 0, unreadable: 0 };
  for (const record of records) {
    if (record.value === null) continue;
    let request: OtlpTraceRequest;
    try {
      request = JSON.parse(record.value.toString()) as OtlpTraceRequest;
    } catch {
      result.unreadable++;
      continue;
    }
    if (typeof request !== 'object' || request === null) {
      result.unreadable++;
      continue;
    }
    result.spans += countOtlpSpans(request);
    for (const span of readOtlpRequest(request)) {
      for (const fact of spanFacts(span, inScope(span))) {
        if (fact.type === 'chain' && !options.chains) continue;
        result.records.push({ topic: 'facts', key: factKey(fact), value: encodeFact(fact) });
      }
    }
  }
  return result;
}

/** The changelog key of a partition's clock. */
export const CLOCK_KEY = '~clock';

/** A finding as written to the findings topic: its key and the JSON value readers rely on. */
export interface FindingRecord {
  key: string;
  kind: FindingKind;
  traceId: string;
  /** The message's identity (its creation span id); absent for a slow chain. */
  spanId?: string;
  messageId?: string;
  service?: string;
  destination?: string;
  /** The stage-2 clock when the finding became certain (ISO). */
  decidedAt: string;
  finding: Finding;
}

export function findingRecord(key: string, finding: Finding, decidedAtUs: number): FindingRecord {
  const record: FindingRecord = {
    key,
    kind: finding.kind,
    traceId: finding.traceId,
    decidedAt: new Date(Math.floor(decidedAtUs / 1_000)).toISOString(),
    finding,
  };
  if (finding.kind === 'slow') {
    if (finding.origin !== undefined) {
      record.service = finding.origin.service;
      if (finding.origin.destination !== undefined) record.destination = finding.origin.destination;
    }
  } else {
    if (finding.sendSpanId !== undefined) record.spanId = finding.sendSpanId;
    if (finding.messageId !== undefined) record.messageId = finding.messageId;
    if (finding.service !== undefined) record.service = finding.service;
    if (finding.destination !== undefined) record.destination = finding.destination;
  }
  return record;
}

/**
 * Stage 2 for one facts partition: the join state, restored from the partition's changelog, and
 * what each batch of facts or each clock tick writes. `take()` returns everything to write in one
 * transaction: findings, hop facts, and the changelog puts and tombstones of the changed entries
 * and of the clock. If the transaction fails, the task is thrown away and restored again.
 */
export class JoinTask {
  readonly state: JoinState;
  private out: JoinOutput = emptyOutput();
  private clockDirty = false;
  /** Wall time of the last fact, epoch ms: the clock follows the wall clock once the partition is idle. */
  lastFactAtMs: number;
  /** Facts the last batch held, and facts unreadable. */
  unreadable = 0;

  constructor(
    readonly partition: number,
    options: JoinOptions,
    nowMs: number,
  ) {
    this.state = new JoinState(options);
    this.lastFactAtMs = nowMs;
  }

  /** Applies one changelog record (restore). */
  restore(key: string, value: Buffer | string | null): void {
    if (key === CLOCK_KEY) {
      if (value !== null) this.state.clockUs = Math.max(this.state.clockUs, Number(value.toString()));
      return;
    }
    this.state.restore(key, value === null ? undefined : decodeEntry(value, this.state.strings));
  }

  /** Folds a batch of facts. */
  facts(records: readonly InRecord[], nowMs: number): void {
    const before = this.state.clockUs;
    for (const record of records) {
      const fact = decodeFact(record.value);
      if (fact === undefined || record.key === null) {
        this.unreadable++;
        continue;
      }
      this.state.apply(record.key.toString(), fact as Fact, this.out);
    }
    if (records.length > 0) this.lastFactAtMs = nowMs;
    if (this.state.clockUs !== before) this.clockDirty = true;
  }

  /**
   * Advances the clock from the wall clock when no fact came for `idleMs` (the worker passes the
   * grace period): the partition's own event time has stopped, so the wall clock less `idleMs`
   * stands in for it. A backlog being replayed keeps every partition busy, so this never judges a
   * replayed message by the wall clock; a quiet partition reports a lost message at most `idleMs`
   * after its grace period (plus the pipeline's delay).
   */
  tick(nowMs: number, idleMs: number): void {
    if (nowMs - this.lastFactAtMs < idleMs) return;
    const wallClockUs = (nowMs - idleMs) * 1_000;
    const before = this.state.clockUs;
    this.state.advance(Math.max(before, wallClockUs), this.out);
    if (this.state.clockUs !== before) this.clockDirty = true;
  }

  /** Whether there is anything to write. */
  get pending(): boolean {
    return this.out.findings.length > 0 || this.out.facts.length > 0 || this.out.changes.size > 0;
  }

  /** Everything to write in one transaction, and the findings among it; resets the output. */
  take(): { records: OutRecord[]; findings: FindingRecord[] } {
    const out = this.out;
    this.out = emptyOutput();
    const records: OutRecord[] = [];
    const findings: FindingRecord[] = [];
    for (const { key, finding } of out.findings) {
      const record = findingRecord(key, finding, this.state.clockUs);
      findings.push(record);
      records.push({ topic: 'findings', key, value: JSON.stringify(record) });
    }
    for (const { key, fact } of out.facts) records.push({ topic: 'facts', key, value: encodeFact(fact) });
    for (const key of out.changes) {
      const entry = this.state.entry(key);
      records.push({
        topic: 'changelog',
        key,
        value: entry === undefined ? null : encodeEntry(entry, this.state.strings),
        partition: this.partition,
      });
    }
    if (this.clockDirty || records.length > 0) {
      records.push({ topic: 'changelog', key: CLOCK_KEY, value: String(this.state.clockUs), partition: this.partition });
      this.clockDirty = false;
    }
    return { records, findings };
  }
}
