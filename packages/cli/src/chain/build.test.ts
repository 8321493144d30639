import { beforeEach, describe, expect, it } from 'vitest';
import { shopTrace } from '../test-support/shop-trace';
import { ms, resetIds, T0, TraceBuilder } from '../test-support/traces';
import { buildChain } from './build';

beforeEach(resetIds);

describe('buildChain', () => {
  it('follows a RabbitMQ → Kafka chain: messages, the hops that consumed them, what they sent', () => {
    const { trace, ids } = shopTrace();
    const chain = buildChain(trace);

    expect(chain.traceIds).toEqual([trace.traceID]);
    expect(chain.rootMessages).toEqual([ids.order]);
    expect(chain.services).toEqual(['api', 'audit', 'billing', 'shipping']);
    const order = chain.messages.find((m) => m.sendSpanId === ids.order);
    expect(order).toMatchObject({
      found: true,
      service: 'api',
      system: 'rabbitmq',
      destination: 'orders',
      routingKey: 'order.created',
      messageId: 'm-1',
      conversationId: 'c-1',
      sentAtUs: T0 + ms(1),
      deliveries: [ids.audit, ids.billing], // in start order
    });
    expect(order?.sentBy).toBeUndefined();
    const payment = chain.messages.find((m) => m.sendSpanId === ids.payment);
    expect(payment).toMatchObject({ system: 'kafka', partition: '0', key: 'o-1', sentBy: ids.billing });

    const billing = chain.hops.find((h) => h.spanId === ids.billing);
    expect(billing).toMatchObject({
      service: 'billing',
      kind: 'process',
      waitingUs: ms(12),
      processingUs: ms(40),
      latencyUs: ms(52),
      outcome: 'ack',
      failed: false,
      chainHops: 1,
      messages: [ids.order],
      sent: [ids.payment],
    });
    const shipping = chain.hops.find((h) => h.spanId === ids.shipping);
    expect(shipping).toMatchObject({ waitingUs: ms(5_100), consumerGroup: 'ship', partition: '0', offset: '7' });
    expect(chain.slowestHop).toBe(ids.shipping);
  });

  it('marks failures: an error status, and outcomes that lose the message', () => {
    const { trace, ids } = shopTrace();
    const chain = buildChain(trace);
    const audit = chain.hops.find((h) => h.spanId === ids.audit);
    expect(audit).toMatchObject({
      failed: true,
      outcome: 'drop',
      redelivered: true,
      error: { type: 'ValidationError', message: 'ValidationError happened' },
    });
    expect(chain.failures).toBe(1);

    const dropped = new TraceBuilder();
    const sent = dropped.send({ service: 'a', destination: 'q', at: 0 });
    dropped.consume({
      service: 'b',
      destination: 'q',
      messages: [sent],
      at: ms(1),
      duration: ms(1),
      outcome: 'dead-letter',
    });
    const failedSend = dropped.send({ service: 'a', destination: 'q', at: ms(2), error: 'ECONNRESET' });
    const chain2 = buildChain(dropped.build());
    expect(chain2.hops[0]?.failed).toBe(true);
    expect(chain2.messages.find((m) => m.sendSpanId === failedSend)?.error).toEqual({ type: 'ECONNRESET' });
    expect(chain2.failures).toBe(2);
  });

  it('joins a links-only consumer (useLinksForConsume) that lives in its own trace', () => {
    const producer = new TraceBuilder();
    const sent = producer.send({ service: 'api', destination: 'orders', at: 0 });
    const consumer = new TraceBuilder();
    const poll = consumer.span({ service: 'billing', name: 'poll', at: ms(5), duration: ms(20), kind: 'internal' });
    const hop = consumer.consume({
      service: 'billing',
      destination: 'orders',
      messages: [sent],
      messageTrace: producer.traceId,
      refs: 'links',
      parent: poll,
      at: ms(7),
      duration: ms(3),
      outcome: 'ack',
    });

    const chain = buildChain([consumer.build(), producer.build()]);
    expect(chain.traceIds).toEqual([consumer.traceId, producer.traceId]);
    expect(chain.rootMessages).toEqual([sent]);
    expect(chain.messages[0]?.deliveries).toEqual([hop]);
    expect(chain.hops[0]).toMatchObject({ messages: [sent], waitingUs: ms(7) });

    // Alone, the consumer's trace still shows the hop, under a placeholder for the missing send.
    const alone = buildChain(consumer.build());
    expect(alone.messages).toEqual([
      { sendSpanId: sent, traceId: producer.traceId, found: false, returned: false, deliveries: [hop] },
    ]);
    expect(alone.hops[0]?.waitingUs).toBeUndefined();
  });

  it('reads a batch span with one link per message once, waiting for its oldest message', () => {
    const trace = new TraceBuilder();
    const sends = [0, 1, 2].map((i) =>
      trace.send({ service: 'api', destination: 'payments', system: 'kafka', at: ms(10 * i), partition: '0' }),
    );
    const batch = trace.consume({
      service: 'shipping',
      destination: 'payments',
      system: 'kafka',
      messages: sends,
      at: ms(100),
      duration: ms(5),
      batchCount: 3,
      consumerGroup: 'ship',
    });
    const chain = buildChain(trace.build());
    expect(chain.hops).toHaveLength(1);
    expect(chain.hops[0]).toMatchObject({ spanId: batch, batchSize: 3, messages: sends, waitingUs: ms(100) });
    for (const message of chain.messages) expect(message.deliveries).toEqual([batch]);
    expect(chain.rootMessages).toEqual(sends);
    expect(chain.slowestHop).toBeUndefined(); // one hop: nothing to compare
  });

  it('tolerates missing spans: a send whose parent is gone starts a root, a hop without any reference too', () => {
    const trace = new TraceBuilder();
    const orphanSend = trace.send({ service: 'api', destination: 'q', at: 0, parent: 'ffffffffffffffff' });
    const http = trace.span({ service: 'worker', name: 'GET /poll', at: ms(1) });
    // An instrumentation that parents a receive on its HTTP span and links to nothing.
    const pulled = trace.consume({
      service: 'worker',
      destination: 'q',
      kind: 'receive',
      messages: [http],
      refs: 'parent',
      at: ms(2),
      duration: ms(1),
      outcome: 'ack',
    });
    const chain = buildChain(trace.build());
    expect(chain.rootMessages).toEqual([orphanSend]);
    expect(chain.rootHops).toEqual([pulled]);
    expect(chain.hops[0]).toMatchObject({ kind: 'receive', messages: [] });
    expect(chain.messages.every((message) => message.found)).toBe(true);
  });

  it('reads a consumer that has only a parent (no link) and an outcome given only as an event', () => {
    const trace = new TraceBuilder();
    const sent = trace.send({ service: 'api', destination: 'q', at: 0 });
    const hop = trace.consume({
      service: 'b',
      destination: 'q',
      messages: [sent],
      refs: 'parent',
      at: ms(3),
      duration: ms(1),
      outcome: 'requeue',
      outcomeAsEvent: true,
    });
    const chain = buildChain(trace.build());
    expect(chain.hops[0]).toMatchObject({ spanId: hop, messages: [sent], outcome: 'requeue', failed: false });
  });

  it('counts a span Jaeger returned twice once', () => {
    const { trace } = shopTrace();
    const doubled = { ...trace, spans: [...trace.spans, ...trace.spans] };
    expect(buildChain(doubled).hops).toHaveLength(buildChain(trace).hops.length);
    expect(buildChain([trace, trace]).traceIds).toEqual([trace.traceID]);
  });

  it('serialises to JSON as it is', () => {
    const chain = buildChain(shopTrace().trace);
    expect(JSON.parse(JSON.stringify(chain))).toEqual(chain);
  });
});
