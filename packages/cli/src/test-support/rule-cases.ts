import type { FindingKind } from '../audit/findings';
import type { JaegerTrace } from '../jaeger/types';
import { shopTrace } from './shop-trace';
import { ms, TraceBuilder } from './traces';

/**
 * The audit's rules as one table, run by both drivers: the batch audit over Jaeger traces
 * (audit/rules.table.test.ts) and `audit --follow` over the same spans as OTLP/JSON through its two
 * stages. Each case builds its traces and says how many findings of each kind it has; the two
 * drivers must also agree finding by finding (by finding key).
 */
export interface RuleCase {
  name: string;
  traces: () => JaegerTrace[];
  slowUs?: number;
  expected: Partial<Record<FindingKind, number>>;
}

export const GRACE_US = ms(30_000);

// Scenarios the table shares with the aggregator's own tests (audit/aggregator.test.ts), which
// assert finding by finding and so need the span ids: each returns its builders and the ids.

/** One message sent and acked by one consumer. */
export function healthyChain() {
  const trace = new TraceBuilder();
  const sent = trace.send({ service: 'api', destination: 'orders', at: 0 });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [sent],
    at: ms(5),
    duration: ms(5),
    outcome: 'ack',
  });
  return { trace, sent };
}

/** A message consumed in a trace of its own that links to the send (useLinksForConsume). */
export function linksModeConsume() {
  const producer = new TraceBuilder();
  const sent = producer.send({ service: 'api', destination: 'orders', at: 0 });
  const consumer = new TraceBuilder();
  consumer.consume({
    service: 'billing',
    destination: 'orders',
    messages: [sent],
    messageTrace: producer.traceId,
    refs: 'links',
    at: ms(3),
    duration: ms(1),
  });
  return { producer, consumer, sent };
}

/** An unroutable mandatory message: amqplib ends its span as failed when the confirm arrives. */
export function returnedMessage() {
  const trace = new TraceBuilder();
  const returned = trace.send({
    service: 'api',
    destination: 'nowhere',
    at: 0,
    returned: true,
    error: 'ReturnedError',
  });
  return { trace, returned };
}

/** The same message id sent twice; the consumer flags the second delivery duplicate. */
export function duplicatePublish() {
  const trace = new TraceBuilder();
  const a = trace.send({ service: 'api', destination: 'orders', at: 0, messageId: 'same' });
  const b = trace.send({ service: 'api', destination: 'orders', at: ms(1), messageId: 'same' });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [a],
    at: ms(2),
    duration: ms(1),
    outcome: 'ack',
  });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [b],
    at: ms(3),
    duration: ms(1),
    outcome: 'ack',
    duplicate: true,
  });
  return { trace, a, b };
}

/** A send that failed, a processing that threw (then requeued) and one that timed out. */
export function failedSendAndProcessing() {
  const trace = new TraceBuilder();
  const bad = trace.send({ service: 'api', destination: 'orders', at: 0, error: 'KafkaJSNumberOfRetriesExceeded' });
  const sent = trace.send({ service: 'api', destination: 'orders', at: ms(1) });
  const failed = trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [sent],
    at: ms(2),
    duration: ms(1),
    error: 'TypeError',
    outcome: 'requeue',
  });
  const timedOut = trace.send({ service: 'api', destination: 'orders', at: ms(3) });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [timedOut],
    at: ms(4),
    duration: ms(1),
    outcome: 'timeout',
  });
  return { trace, bad, failed };
}

export const RULE_CASES: RuleCase[] = [
  {
    name: 'a healthy chain',
    traces: () => [healthyChain().trace.build()],
    expected: {},
  },
  {
    name: 'lost: sent, never consumed',
    traces: () => {
      const trace = new TraceBuilder();
      trace.send({ service: 'api', destination: 'orders', at: 0, messageId: 'm-1' });
      trace.send({ service: 'api', destination: 'orders', at: ms(1) });
      return [trace.build()];
    },
    expected: { lost: 2 },
  },
  {
    name: 'a links-mode consumer in another trace consumes the message (either order)',
    traces: () => {
      const { producer, consumer } = linksModeConsume();
      return [consumer.build(), producer.build()];
    },
    expected: {},
  },
  {
    name: 'a kafkajs batch span links every message of the batch',
    traces: () => {
      const producer = new TraceBuilder();
      const sends = [0, 1, 2].map((i) =>
        producer.send({ service: 'api', destination: 't', system: 'kafka', at: ms(i) }),
      );
      const consumer = new TraceBuilder();
      consumer.consume({
        service: 'ship',
        destination: 't',
        system: 'kafka',
        messages: sends.slice(0, 2),
        messageTrace: producer.traceId,
        at: ms(5),
        duration: ms(3),
        batchCount: 2,
      });
      return [producer.build(), consumer.build()];
    },
    expected: { lost: 1 },
  },
  {
    name: 'returned (unroutable), never lost',
    traces: () => [returnedMessage().trace.build()],
    expected: { returned: 1 },
  },
  {
    name: 'requeued then redelivered: a redelivery, not a duplicate',
    traces: () => {
      const trace = new TraceBuilder();
      const sent = trace.send({ service: 'api', destination: 'orders', at: 0 });
      trace.consume({
        service: 'billing',
        destination: 'orders',
        messages: [sent],
        at: ms(1),
        duration: ms(1),
        outcome: 'requeue',
      });
      trace.consume({
        service: 'billing',
        destination: 'orders',
        messages: [sent],
        at: ms(3),
        duration: ms(1),
        outcome: 'ack',
        redelivered: true,
      });
      return [trace.build()];
    },
    expected: { redelivered: 1 },
  },
  {
    name: 'duplicate publish: the same message id sent twice, the second consume flagged',
    traces: () => [duplicatePublish().trace.build()],
    expected: { duplicate: 1 },
  },
  {
    name: 'processed twice by one consumer (a replayed batch), and once by another queue',
    traces: () => {
      const trace = new TraceBuilder();
      const sent = trace.send({ service: 'api', destination: 'orders', at: 0 });
      for (const at of [1, 4])
        trace.consume({
          service: 'billing',
          destination: 'orders',
          messages: [sent],
          at: ms(at),
          duration: ms(1),
          outcome: 'ack',
        });
      trace.consume({
        service: 'audit',
        destination: 'orders-audit',
        messages: [sent],
        at: ms(2),
        duration: ms(1),
        outcome: 'ack',
      });
      return [trace.build()];
    },
    expected: { duplicate: 1 },
  },
  {
    name: 'dead-lettered: dropped by one consumer, consumed from the dead-letter queue by another',
    traces: () => {
      const trace = new TraceBuilder();
      const sent = trace.send({ service: 'api', destination: 'orders', at: 0 });
      trace.consume({
        service: 'billing',
        destination: 'orders',
        messages: [sent],
        at: ms(1),
        duration: ms(1),
        outcome: 'drop',
      });
      trace.consume({
        service: 'dlq-reader',
        destination: 'orders.dlq',
        messages: [sent],
        at: ms(5),
        duration: ms(1),
        outcome: 'ack',
        deadLetter: { queue: 'orders', reason: 'rejected' },
      });
      return [trace.build()];
    },
    expected: { 'dead-letter': 1 },
  },
  {
    name: 'failed send, failed processing, timed-out processing',
    traces: () => [failedSendAndProcessing().trace.build()],
    expected: { failed: 3 },
  },
  {
    name: 'a consume span that names no message but failed',
    traces: () => {
      const trace = new TraceBuilder();
      trace.consume({
        service: 'billing',
        destination: 'orders',
        messages: [],
        at: 0,
        duration: ms(1),
        error: 'TypeError',
      });
      return [trace.build()];
    },
    expected: { failed: 1 },
  },
  {
    name: 'the shop: a slow chain, and an audit consumer that drops a redelivered copy it failed on',
    slowUs: ms(5_000),
    traces: () => [shopTrace().trace],
    expected: { slow: 1, 'dead-letter': 1, redelivered: 1, failed: 1 },
  },
  {
    name: 'slow: the last consume is in another trace',
    slowUs: ms(1_000),
    traces: () => {
      const producer = new TraceBuilder();
      const sent = producer.send({ service: 'api', destination: 'orders', at: 0 });
      producer.consume({ service: 'billing', destination: 'orders', messages: [sent], at: ms(100), duration: ms(1) });
      const other = new TraceBuilder();
      other.consume({
        service: 'late',
        destination: 'orders',
        messages: [sent],
        messageTrace: producer.traceId,
        refs: 'links',
        at: ms(2_000),
        duration: ms(10),
      });
      return [producer.build(), other.build()];
    },
    expected: { slow: 1 },
  },
];
