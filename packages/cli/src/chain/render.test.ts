import { beforeEach, describe, expect, it } from 'vitest';
import { shopTrace } from '../test-support/shop-trace';
import { ms, resetIds, TraceBuilder } from '../test-support/traces';
import { buildChain } from './build';
import { renderChain } from './render';
import { summarizeChain } from './summary';

beforeEach(resetIds);

describe('renderChain', () => {
  it('draws the chain as a tree, marking the slowest hop and the failures', () => {
    const text = renderChain(buildChain(shopTrace().trace));
    expect(text).toMatchInlineSnapshot(`
      "trace 00000000000000000000000000000001 · 2026-01-01T00:00:00.000Z · 2 messages · 3 hops · 4 services · took 5.13 s · 1 failure
      ● send orders · api · rabbitmq orders · routing key order.created · message id m-1 · correlation id c-1
      ├─▶ process orders-audit · audit · waited 10 ms · processed 2.0 ms · drop · redelivered  ✗ failed (ValidationError: ValidationError happened)
      └─▶ process orders · billing · waited 12 ms · processed 40 ms · ack
        └─● send payments · billing · kafka payments [0] · key o-1
          └─▶ process payments · shipping · group ship · partition 0 offset 7 · waited 5.10 s · processed 3.0 ms  ◀ slowest
      waited = consume span start − send span start · processed = consume span duration (delivery to settle)
      "
    `);
  });

  it('draws a batch once, returned and unconsumed messages, and placeholders for missing sends', () => {
    const trace = new TraceBuilder();
    const a = trace.send({ service: 'api', destination: 'payments', system: 'kafka', at: 0, partition: '1' });
    const b = trace.send({ service: 'api', destination: 'payments', system: 'kafka', at: ms(1), partition: '1' });
    trace.consume({
      service: 'shipping',
      destination: 'payments',
      system: 'kafka',
      messages: [a, b],
      at: ms(20),
      duration: ms(4),
      batchCount: 2,
      consumerGroup: 'ship',
    });
    // amqplib fails a returned message's send span with the return as its error.
    trace.send({
      service: 'api',
      destination: 'nowhere',
      at: ms(2),
      routingKey: 'x',
      returned: true,
      error: 'ReturnedMessageError',
    });
    trace.send({ service: 'api', destination: 'amq.gen-Xa2', at: ms(3) });
    trace.consume({
      service: 'late',
      destination: 'q',
      messages: ['00000000000000aa'],
      at: ms(9),
      duration: ms(1),
      outcome: 'ack',
    });
    expect(renderChain(buildChain(trace.build()), { legend: false })).toMatchInlineSnapshot(`
      "trace 00000000000000000000000000000001 · 2026-01-01T00:00:00.000Z · 5 messages · 2 hops · 3 services · took 24 ms
      ● send payments · api · kafka payments [1]
      └─▶ process payments · shipping · group ship · batch of 2 · waited 20 ms · processed 4.0 ms  ◀ slowest
      ● send payments · api · kafka payments [1]
      └─▶ process payments · shipping · batch of 2, shown above
      ● send nowhere · api · rabbitmq nowhere · routing key x
      └─⮌ returned by the broker as unroutable (312 NO_ROUTE)
      ● send amq.gen-Xa2 · api · rabbitmq amq.gen-Xa2 (temporary)
      └─(no consumer span in this trace)
      ● message 00000000000000aa (its send span is not in the trace)
      └─▶ process q · late · waited ? · processed 1.0 ms · ack
      "
    `);
  });

  it('colours only when asked', () => {
    const chain = buildChain(shopTrace().trace);
    expect(renderChain(chain)).not.toContain('\u001b[');
    expect(renderChain(chain, { color: true })).toContain('\u001b[31m');
  });

  it('says so when a trace has no messaging spans', () => {
    const trace = new TraceBuilder();
    trace.span({ service: 'api', name: 'GET /', at: 0 });
    expect(renderChain(buildChain(trace.build()), { legend: false })).toContain('(no messaging spans in this trace)');
  });
});

describe('summarizeChain', () => {
  it('is one line: the services in order, counts, outcomes, flags and failures', () => {
    expect(summarizeChain(buildChain(shopTrace().trace))).toBe(
      'api → audit → billing → shipping · 2 messages · 3 hops · drop×1 ack×1 · redelivered · 1 failure · took 5.13 s',
    );
  });
});
