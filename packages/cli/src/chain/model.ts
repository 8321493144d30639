import type { SpanError } from '../spans/messaging-span';

/**
 * A consumption chain: the messages of one or more traces and the hops that consumed them, as a
 * graph with ids rather than nested objects, so a batch hop that consumed several messages appears
 * once, and the whole chain serialises to JSON as it is (`mqtrail trace --json`).
 *
 *   message --deliveries--> hop --sent--> message --deliveries--> hop ...
 *
 * Times are epoch microseconds and durations microseconds, as Jaeger gives them.
 */
export interface Chain {
  /** The traces the chain was built from; the first is the one asked for. */
  traceIds: string[];
  /** Messages in send order, including placeholders for send spans that are not in the traces. */
  messages: ChainMessage[];
  /** Consume spans (process, receive, batch) in start order. */
  hops: ChainHop[];
  /** Send span ids of messages not sent from inside a hop: where the chain starts. */
  rootMessages: string[];
  /** Hops that refer to no message at all (no parent, no link): shown at top level. */
  rootHops: string[];
  /** Services with a message or hop in the chain, sorted. */
  services: string[];
  /** The hop with the longest latency (waiting + processing), when the chain has two or more. */
  slowestHop?: string;
  /** Failed hops plus failed sends; a returned message counts as returned, not as a failure. */
  failures: number;
  /** First span start and last span end in the traces, in epoch microseconds. */
  startUs: number;
  endUs: number;
}

/** One message, identified by its send span (the creation context the consumers link to). */
export interface ChainMessage {
  sendSpanId: string;
  traceId: string;
  /** False for a placeholder: consumers refer to this send span, but it is not in the traces. */
  found: boolean;
  service?: string;
  operation?: string;
  system?: string;
  destination?: string;
  messageId?: string;
  conversationId?: string;
  routingKey?: string;
  partition?: string;
  key?: string;
  /** Start of the send span. */
  sentAtUs?: number;
  /** The send failed (a returned message's send span fails too, with the return as its error). */
  error?: SpanError;
  /** The broker returned the message as unroutable. */
  returned: boolean;
  /** The broker's reply code and text for a returned message, e.g. `312 NO_ROUTE`. */
  returnReason?: string;
  /** Span id of the hop this message was sent from, when it was sent while processing another. */
  sentBy?: string;
  /** Span ids of the hops that consumed it, in start order. */
  deliveries: string[];
}

/** One consume span: the processing (or pull) of one message, or of a batch. */
export interface ChainHop {
  spanId: string;
  traceId: string;
  service: string;
  operation: string;
  kind: 'process' | 'receive';
  system?: string;
  destination?: string;
  consumerGroup?: string;
  partition?: string;
  offset?: string;
  /** Start of the consume span. */
  startUs: number;
  /** Duration of the consume span: from delivery to the consumer until it ended (settled, or the handler returned). */
  processingUs: number;
  /**
   * Consume span start minus send span start: the time the message spent between its producer and
   * this consumer (broker queue, network, consumer prefetch buffer). For a batch, that of the
   * longest-waiting message. Undefined when no send span of it is in the traces. Negative values
   * mean the two hosts' clocks disagree.
   */
  waitingUs?: number;
  /** Waiting plus processing: send start to consume end. */
  latencyUs?: number;
  outcome?: string;
  redelivered: boolean;
  duplicate: boolean;
  error?: SpanError;
  /** `mqtrail.dead_letter.*` attributes: the message reached this consumer through dead-lettering. */
  deadLetter?: Record<string, string>;
  /** `mqtrail.chain.hops` on the span: how many publishes the chain had made up to this message. */
  chainHops?: number;
  /** Messages in a batch span (`messaging.batch.message_count`), else the number of messages it refers to. */
  batchSize: number;
  /** Send span ids of the messages it consumed. */
  messages: string[];
  /** Send span ids of the messages sent while it ran. */
  sent: string[];
  /** ERROR status, `error.type`, or an outcome that lost the message (drop, dead-letter, error, timeout). */
  failed: boolean;
}
