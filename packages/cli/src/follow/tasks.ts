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
  /** Latest span end among them, epoch µs. */
  maxEventUs: number;
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
  const result: SpanTaskResult = { records: [], spans: 0, unreadable: 0, maxEventUs: 0 };
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
      const endUs = span.startUs + span.durationUs;
      if (endUs > result.maxEventUs) result.maxEventUs = endUs;
      for (const fact of spanFacts(span, inScope(span))) {
        if (fact.type === 'chain' && !options.chains) continue;
        result.records.push({ topic: 'facts', key: factKey(fact), value: encodeFact(fact) });
      }
    }
  }
  return result;
}

/** The changelog key of a partition's watermarks. */
export const CLOCK_KEY = '~clock';

/** The facts-topic key of watermark records (written to every partition). */
export const WATERMARK_KEY = '~watermark';

/**
 * A span partition's progress in event time, written by stage 1 to every facts partition: every
 * span of `source` ending before `us` has been turned into facts, committed before this record.
 */
export interface Watermark {
  type: 'watermark';
  source: number;
  us: number;
}

/** Stage 1's per-partition progress, for its watermarks. */
export class SpanTask {
  /** Latest span end read, epoch µs. */
  maxEventUs = 0;
  /** Watermark last written. */
  writtenUs = 0;

  constructor(
    readonly partition: number,
    private readonly factsPartitions: number,
  ) {}

  /** The batch's facts, then this partition's watermark to every facts partition. */
  batch(
    records: readonly InRecord[],
    inScope: (span: MessagingSpan) => boolean,
    options: { chains: boolean },
  ): SpanTaskResult {
    const result = spansToFacts(records, inScope, options);
    if (result.maxEventUs > this.maxEventUs) this.maxEventUs = result.maxEventUs;
    result.records.push(...this.watermarks(this.maxEventUs));
    return result;
  }

  /**
   * When the partition is caught up (nothing left to read), its progress is the wall clock less
   * `idleMs`: spans reach the topic within that long of ending (the exporter's and collector's
   * batching), so none older can still come. Returns the watermark records, if it moved.
   */
  idle(caughtUp: boolean, nowMs: number, idleMs: number): OutRecord[] {
    if (!caughtUp) return [];
    const us = Math.max(this.maxEventUs, (nowMs - idleMs) * 1_000);
    return us > this.writtenUs ? this.watermarks(us) : [];
  }

  private watermarks(us: number): OutRecord[] {
    if (us <= this.writtenUs) return [];
    this.writtenUs = us;
    const value = JSON.stringify({ type: 'watermark', source: this.partition, us } satisfies Watermark);
    return Array.from({ length: this.factsPartitions }, (_, partition) => ({
      topic: 'facts' as const,
      key: WATERMARK_KEY,
      value,
      partition,
    }));
  }
}

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
  /** Each span partition's watermark; the clock is the oldest, once all of them have one. */
  private readonly watermarks = new Map<number, number>();
  /** Facts that could not be read (skipped). */
  unreadable = 0;

  constructor(
    readonly partition: number,
    options: JoinOptions,
    /** Partitions of the span topic: the sources of watermarks. */
    private readonly sources: number,
  ) {
    this.state = new JoinState(options);
  }

  /** Applies one changelog record (restore). */
  restore(key: string, value: Buffer | string | null): void {
    if (key === CLOCK_KEY) {
      if (value === null) return;
      const saved = JSON.parse(value.toString()) as { clock: number; sources: Record<string, number> };
      for (const [source, us] of Object.entries(saved.sources)) this.watermarks.set(Number(source), us);
      this.state.clockUs = Math.max(this.state.clockUs, saved.clock);
      return;
    }
    this.state.restore(key, value === null ? undefined : decodeEntry(value, this.state.strings));
  }

  /** Folds a batch of facts and watermarks, in order. */
  facts(records: readonly InRecord[]): void {
    for (const record of records) {
      const fact = decodeFact(record.value) as Fact | Watermark | undefined;
      if (fact === undefined || record.key === null) {
        this.unreadable++;
        continue;
      }
      if (fact.type === 'watermark') this.watermark(fact.source, fact.us);
      else this.state.apply(record.key.toString(), fact, this.out);
    }
  }

  private watermark(source: number, us: number): void {
    if (us <= (this.watermarks.get(source) ?? 0)) return;
    this.watermarks.set(source, us);
    this.clockDirty = true;
    if (this.watermarks.size < this.sources) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [known, at] of this.watermarks) if (known < this.sources && at < oldest) oldest = at;
    if (Number.isFinite(oldest)) this.state.advance(oldest, this.out);
  }

  /** Whether there is anything to write. */
  get pending(): boolean {
    return this.out.findings.length > 0 || this.out.facts.length > 0 || this.out.changes.size > 0 || this.clockDirty;
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
    if (this.clockDirty) {
      const saved = { clock: this.state.clockUs, sources: Object.fromEntries(this.watermarks) };
      records.push({ topic: 'changelog', key: CLOCK_KEY, value: JSON.stringify(saved), partition: this.partition });
      this.clockDirty = false;
    }
    return { records, findings };
  }
}
