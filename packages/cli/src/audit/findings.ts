/** What `mqtrail audit` reports, one kind per question people ask of a queue. */
export const FINDING_KINDS = ['lost', 'duplicate', 'redelivered', 'dead-letter', 'failed', 'slow', 'returned'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** The message a finding is about: its send span (its identity in the trace). */
export interface MessageRef {
  traceId: string;
  /** Span id of the message's send span; absent for a consume span that refers to no message. */
  sendSpanId?: string;
  /** Sending service and destination, when the send span was seen. */
  service?: string;
  destination?: string;
  messageId?: string;
  /** ISO time of the send. */
  sentAt?: string;
}

/** Sent, not returned, not failed, and no consume span refers to it, though older than the grace period. */
export interface LostFinding extends MessageRef {
  kind: 'lost';
  /** How long ago it was sent, at the end of the window, in ms. */
  ageMs: number;
}

/** The broker returned the message to its publisher as unroutable: known, so not lost. */
export interface ReturnedFinding extends MessageRef {
  kind: 'returned';
}

/** Processed more than once by the same consumer (service and destination). */
export interface DuplicateFinding extends MessageRef {
  kind: 'duplicate';
  consumer: string;
  consumerDestination?: string;
  /** Consume spans of this message in that consumer. */
  times: number;
  /**
   * `same-message`: several consume spans of one send span; `flagged`: the instrumentation marked a
   * consume span `mqtrail.duplicate` (seen before under another identity, e.g. the same message id).
   */
  reasons: ('same-message' | 'flagged')[];
  processSpanIds: string[];
}

/** The broker redelivered the message (`mqtrail.redelivered`). */
export interface RedeliveredFinding extends MessageRef {
  kind: 'redelivered';
  consumer: string;
  consumerDestination?: string;
  processSpanIds: string[];
}

/** Settled with drop or dead-letter, or consumed from a dead-letter queue. */
export interface DeadLetterFinding extends MessageRef {
  kind: 'dead-letter';
  /** The consumer that dropped or dead-lettered it, and how. */
  rejectedBy?: { service: string; destination?: string; outcome: string; spanId: string };
  /** The consumer that received it through dead-lettering. */
  arrivedAt?: { service: string; destination?: string; spanId: string };
}

/** The send failed, or a consume span failed (ERROR status, error.type, outcome error or timeout). */
export interface FailedFinding extends MessageRef {
  kind: 'failed';
  phase: 'send' | 'process';
  /** Service and destination of the failed span. */
  failedAt: { service?: string; destination?: string; spanId: string };
  errorType?: string;
  outcome?: string;
}

/** A trace whose chain took longer than `--slow`: first send start to last consume end. */
export interface SlowFinding {
  kind: 'slow';
  traceId: string;
  durationMs: number;
  /** The service and destination of the chain's first message. */
  origin?: { service: string; destination?: string };
  /** The consume span that took longest from its message's send, and how long. */
  slowestHop?: { service: string; destination?: string; spanId: string; latencyMs: number };
}

export type Finding =
  | LostFinding
  | ReturnedFinding
  | DuplicateFinding
  | RedeliveredFinding
  | DeadLetterFinding
  | FailedFinding
  | SlowFinding;

export interface AuditReport {
  window: { start: string; end: string; graceMs: number; slowMs?: number };
  filters: { services: string[]; destinations: string[] };
  scanned: {
    traces: number;
    spans: number;
    /** Send spans in scope (in the window, matching the filters). */
    messages: number;
    /** Consume spans in scope. */
    deliveries: number;
  };
  counts: Record<FindingKind, number>;
  findings: {
    lost: LostFinding[];
    duplicate: DuplicateFinding[];
    redelivered: RedeliveredFinding[];
    'dead-letter': DeadLetterFinding[];
    failed: FailedFinding[];
    slow: SlowFinding[];
    returned: ReturnedFinding[];
  };
  /** Set when some time slice held more traces than one query returns: the scan may have missed some. */
  incomplete?: string;
}
