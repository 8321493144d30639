import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTrace } from '../support/jaeger';
import { declare, killLeftovers, rabbitmqctl, runFixture, spansNamed, tag, tracesOf, unique } from './support';

// The broker closes the connection under a consumer holding unacked messages
// (`rabbitmqctl close_all_connections`, scoped to a vhost of this suite so nothing else on the
// broker is touched). Every open span must end as `closed` with an error, none may leak, and the
// application's reconnect — its own loop, or amqplib's recovering connection — must keep working
// and be traced.
const HELD = 3;
const vhost = unique('mqtrail-e2e-reconnect');
const url = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(vhost)}`;

interface Spans {
  started: number;
  ended: number;
  open: number;
  outcomes: Record<string, number>;
}

describe('connections closed by the broker mid-stream', () => {
  beforeAll(async () => {
    await rabbitmqctl('add_vhost', vhost);
    await rabbitmqctl('set_permissions', '--vhost', vhost, 'guest', '.*', '.*', '.*');
  });

  afterAll(async () => {
    killLeftovers();
    await rabbitmqctl('delete_vhost', vhost);
  });

  it.each([
    ['the application’s own reconnect loop', 'app'],
    ['amqplib’s recovering connection', 'recovery'],
  ])('end every open span as closed, leak none, and trace after %s', async (_how, mode) => {
    const run = unique(mode);
    const queue = `${run}-work`;
    const producer = `amqp-producer-${run}`;
    const consumer = `amqp-reconnecting-${run}`;
    await declare([{ queue }], url);
    const producing = runFixture(
      'producer.cjs',
      {
        AMQP_URL: url,
        MESSAGES: JSON.stringify(Array.from({ length: HELD }, (_, i) => ({ key: `m${i}`, via: 'sendToQueue', queue }))),
      },
      { serviceName: producer },
    );
    const traces = tracesOf(await producing.result);

    const consuming = runFixture(
      'reconnect.cjs',
      { AMQP_URL: url, QUEUE: queue, EXPECT: String(HELD), MODE: mode },
      { serviceName: consumer, instrumentations: [] },
    );
    const holding = await consuming.firstMessage;
    expect(holding.holding).toBe(HELD);
    expect((holding.spans as Spans).open).toBe(HELD);

    await rabbitmqctl('close_all_connections', '--vhost', vhost, 'e2e: broker closes the connection mid-stream');
    const result = await consuming.result;
    const spans = result.spans as Spans;
    expect(result.connections).toBeGreaterThanOrEqual(2);
    expect(spans.open).toBe(0);
    expect(spans.ended).toBe(spans.started);
    expect(spans.outcomes).toEqual({ closed: HELD, ack: HELD });

    for (const key of Object.keys(traces)) {
      const trace = await fetchTrace(traces[key] as string, 4);
      const processes = spansNamed(trace, `process ${queue}`).sort((a, b) => a.startTime - b.startTime);
      expect(processes.map((span) => tag(span, 'mqtrail.settle.outcome'))).toEqual(['closed', 'ack']);
      expect(tag(processes[0] as never, 'error')).toBe(true);
      expect(tag(processes[0] as never, 'error.type')).toBe('ChannelClosedError');
      expect(tag(processes[1] as never, 'mqtrail.redelivered')).toBe(true);
      // Unfinished work coming back is a redelivery, not a duplicate.
      expect(tag(processes[1] as never, 'mqtrail.duplicate')).toBeUndefined();
    }
  });
});
