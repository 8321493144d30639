import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTrace } from '../support/jaeger';
import { cleanUp, declare, killLeftovers, parentOf, runFixture, spanNamed, tag, unique } from './support';

// Request/reply over RabbitMQ's direct reply-to, client and server in separate processes: the
// whole round trip is one trace, and the per-call reply queue stays out of span names.
describe('RPC over direct reply-to', () => {
  const run = unique('rpc');
  const queue = `${run}-requests`;
  const client = `amqp-rpc-client-${run}`;
  const server = `amqp-rpc-server-${run}`;

  beforeAll(() => declare([{ queue }]));
  afterAll(async () => {
    killLeftovers();
    await cleanUp([{ queue }]);
  });

  it('is one trace: call → send → process → reply send → reply process', async () => {
    const serving = runFixture('rpc-server.cjs', { QUEUE: queue }, { serviceName: server });
    await serving.firstMessage;
    const calling = runFixture('rpc-client.cjs', { QUEUE: queue }, { serviceName: client });
    const result = await calling.result;
    await serving.result;
    const traceId = result.traceId as string;
    const answer = result.answer as { body: string; span: { traceId: string; spanId: string } };
    expect(answer.body).toBe('pong ping');

    const trace = await fetchTrace(traceId, 5);
    const call = spanNamed(trace, 'call ping', client);
    const request = spanNamed(trace, `send ${queue}`, client);
    const handle = spanNamed(trace, `process ${queue}`, server);
    const reply = spanNamed(trace, 'send', server);
    const receive = spanNamed(trace, 'process', client);
    expect(parentOf(request)).toBe(call.spanID);
    expect(parentOf(handle)).toBe(request.spanID);
    expect(parentOf(reply)).toBe(handle.spanID);
    expect(parentOf(receive)).toBe(reply.spanID);
    expect(answer.span).toEqual({ traceId, spanId: receive.spanID });
    expect(tag(reply, 'messaging.destination.temporary')).toBe(true);
    expect(tag(receive, 'messaging.message.conversation_id')).toBe(tag(handle, 'messaging.message.conversation_id'));
    expect(tag(receive, 'mqtrail.chain.hops')).toBe(2);
  });
});
