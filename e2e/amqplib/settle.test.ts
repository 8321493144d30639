import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTrace } from '../support/jaeger';
import { query, waitForSeries } from '../support/prometheus';
import {
  cleanUp,
  declare,
  type Handled,
  handledOf,
  killLeftovers,
  leaseMetricsPort,
  parentOf,
  type QueueSpec,
  runFixture,
  spanNamed,
  spansNamed,
  tag,
  tracesOf,
  unique,
  waitForOwnMetrics,
} from './support';

// Every settle outcome as a user checks it: the process span in Jaeger and the
// `mqtrail_settled_messages_total` series in Prometheus, from one real consumer process.
const CONSUME_TIMEOUT_MS = 1_500;

const run = unique('settle');
const q = (name: string) => `${run}-${name}`;
const queues: Record<string, QueueSpec> = {
  ack: { queue: q('ack') },
  requeue: { queue: q('requeue') },
  drop: {
    queue: q('drop'),
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q('dlq') },
  },
  dlq: { queue: q('dlq') },
  reject: { queue: q('reject') },
  auto: { queue: q('auto') },
  timeout: { queue: q('timeout') },
  closed: { queue: q('closed') },
};
const plan = [
  { queue: q('ack'), settle: 'ack', expect: 1 },
  { queue: q('requeue'), settle: 'requeue-then-ack', expect: 2 },
  { queue: q('drop'), settle: 'drop', expect: 1 },
  { queue: q('dlq'), settle: 'ack', expect: 1 },
  { queue: q('reject'), settle: 'reject', expect: 1 },
  { queue: q('auto'), settle: 'noack', expect: 1 },
  { queue: q('timeout'), settle: 'hold', expect: 1 },
  { queue: q('closed'), settle: 'close', expect: 1 },
];
const published = ['ack', 'requeue', 'drop', 'reject', 'auto', 'timeout', 'closed'];
const producer = `amqp-producer-${run}`;
const consumer = `amqp-consumer-${run}`;

function settledSeries(queue: string, outcome: string): string {
  return `mqtrail_settled_messages_total{messaging_destination_name="${queue}",mqtrail_settle_outcome="${outcome}"}`;
}

describe('settle outcomes', () => {
  let traces: Record<string, string>;
  let handled: Handled[];

  beforeAll(async () => {
    await declare(Object.values(queues));
    const { port: metricsPort } = await leaseMetricsPort();
    const consuming = runFixture(
      'consumer.cjs',
      { PLAN: JSON.stringify(plan), HOLD: '1' },
      {
        serviceName: consumer,
        metricsPort,
        instrumentationConfig: { consumeTimeoutMs: CONSUME_TIMEOUT_MS },
      },
    );
    await consuming.firstMessage;
    const producing = runFixture(
      'producer.cjs',
      {
        MESSAGES: JSON.stringify(
          published.map((key) => ({ key, via: 'sendToQueue', queue: q(key), options: { messageId: key } })),
        ),
      },
      { serviceName: producer },
    );
    traces = tracesOf(await producing.result);
    await waitForOwnMetrics(metricsPort, q('ack'));
    // Every outcome is scraped from the live consumer before it is stopped.
    await Promise.all([
      waitForSeries(settledSeries(q('ack'), 'ack')),
      waitForSeries(settledSeries(q('requeue'), 'ack')),
      waitForSeries(settledSeries(q('dlq'), 'ack')),
      waitForSeries(settledSeries(q('reject'), 'drop')),
      waitForSeries(settledSeries(q('auto'), 'auto')),
      waitForSeries(settledSeries(q('timeout'), 'timeout')),
      waitForSeries(settledSeries(q('closed'), 'closed')),
    ]);
    consuming.process.kill('SIGTERM');
    handled = handledOf(await consuming.result);
  });

  afterAll(async () => {
    killLeftovers();
    await cleanUp(Object.values(queues));
  });

  it.each([
    ['ack', 'ack', 'ack'],
    ['nack with requeue', 'requeue', 'requeue'],
    ['nack without requeue', 'drop', 'drop'],
    ['reject without requeue', 'reject', 'drop'],
    ['noAck', 'auto', 'auto'],
    ['never settled', 'timeout', 'timeout'],
    ['channel closed', 'closed', 'closed'],
  ])('%s: outcome %s is on the span and counted once in Prometheus', async (_what, key, outcome) => {
    const [sample] = await query(settledSeries(q(key), outcome));
    expect(sample?.value[1]).toBe('1');
    expect(sample?.metric.messaging_system).toBe('rabbitmq');

    const trace = await fetchTrace(traces[key] as string, 3);
    const outcomes = spansNamed(trace, `process ${q(key)}`).map((span) => tag(span, 'mqtrail.settle.outcome'));
    expect(outcomes).toContain(outcome);
  });

  // As the contrib instrumentation marks them, so error rates read from span status stay the same
  // after a switch: a message dropped or never settled fails its span. Nothing threw, so there is
  // no error.type; the outcome says what happened. A requeue is a retry, not a failure.
  it.each([
    ['nack without requeue', 'drop', 'nack called on message without requeue'],
    ['reject without requeue', 'reject', 'reject called on message without requeue'],
    ['never settled', 'timeout', 'instrumentation timeout: not settled within consumeTimeoutMs'],
  ])('%s: the process span’s status is ERROR, without error.type', async (_what, key, description) => {
    const trace = await fetchTrace(traces[key] as string, 3);
    const process = spanNamed(trace, `process ${q(key)}`, consumer);
    expect(tag(process, 'otel.status_code')).toBe('ERROR');
    expect(tag(process, 'otel.status_description')).toBe(description);
    expect(tag(process, 'error')).toBe(true);
    expect(tag(process, 'error.type')).toBeUndefined();
  });

  it.each([
    ['ack', 'ack'],
    ['nack with requeue', 'requeue'],
    ['noAck', 'auto'],
  ])('%s: the process span’s status stays unset', async (_what, key) => {
    const trace = await fetchTrace(traces[key] as string, 3);
    for (const process of spansNamed(trace, `process ${q(key)}`)) {
      expect(tag(process, 'otel.status_code')).toBeUndefined();
      expect(tag(process, 'error')).toBeUndefined();
    }
  });

  it('ends a closed channel’s unsettled message as an error', async () => {
    const trace = await fetchTrace(traces.closed as string, 3);
    const process = spanNamed(trace, `process ${q('closed')}`, consumer);
    expect(tag(process, 'error')).toBe(true);
    expect(tag(process, 'error.type')).toBe('ChannelClosedError');
  });

  it('records the redelivery of a requeued message, in its trace and in Prometheus', async () => {
    const trace = await fetchTrace(traces.requeue as string, 4);
    const [first, second] = spansNamed(trace, `process ${q('requeue')}`).sort((a, b) => a.startTime - b.startTime);
    expect(tag(first as never, 'mqtrail.settle.outcome')).toBe('requeue');
    expect(tag(second as never, 'mqtrail.settle.outcome')).toBe('ack');
    expect(tag(second as never, 'mqtrail.redelivered')).toBe(true);
    expect(tag(second as never, 'mqtrail.duplicate')).toBeUndefined();
    const send = spanNamed(trace, `send ${q('requeue')}`, producer);
    expect(parentOf(first as never)).toBe(send.spanID);
    expect(parentOf(second as never)).toBe(send.spanID);
    const [redelivered] = await query(
      `mqtrail_redelivered_messages_total{messaging_destination_name="${q('requeue')}"}`,
    );
    expect(redelivered?.value[1]).toBe('1');
    expect(handled.filter((entry) => entry.queue === q('requeue')).map((entry) => entry.redelivered)).toEqual([
      false,
      true,
    ]);
  });

  it('keeps a dead-lettered message in its original trace, with where and why it died', async () => {
    const trace = await fetchTrace(traces.drop as string, 4);
    const send = spanNamed(trace, `send ${q('drop')}`, producer);
    const dropped = spanNamed(trace, `process ${q('drop')}`, consumer);
    const deadLettered = spanNamed(trace, `process ${q('dlq')}`, consumer);
    expect(parentOf(dropped)).toBe(send.spanID);
    expect(parentOf(deadLettered)).toBe(send.spanID);
    expect(tag(deadLettered, 'mqtrail.dead_letter.queue')).toBe(q('drop'));
    expect(tag(deadLettered, 'mqtrail.dead_letter.reason')).toBe('rejected');
    expect(tag(deadLettered, 'mqtrail.settle.outcome')).toBe('ack');
  });
});
