import { describe, expect, it } from 'vitest';
import type { JaegerSpan } from '../jaeger/types';
import { shopTrace } from '../test-support/shop-trace';
import { inSemconvMode } from '../test-support/traces';
import { isDeadLettered, readSpan, readTrace } from './messaging-span';

function span(tags: Record<string, unknown>, extra: Partial<JaegerSpan> = {}): JaegerSpan {
  return {
    traceID: 't1',
    spanID: 's1',
    operationName: 'op',
    references: [],
    startTime: 10,
    duration: 5,
    tags: Object.entries(tags).map(([key, value]) => ({ key, type: typeof value, value })),
    logs: [],
    processID: 'p1',
    ...extra,
  };
}

describe('readSpan', () => {
  it('tells send, consume and other spans apart by operation type, else by kind', () => {
    expect(readSpan(span({ 'messaging.operation.type': 'send' }), 's').role).toBe('send');
    expect(readSpan(span({ 'messaging.operation.type': 'create' }), 's').role).toBe('send');
    expect(readSpan(span({ 'messaging.operation.type': 'process' }), 's')).toMatchObject({
      role: 'consume',
      consumeKind: 'process',
    });
    expect(readSpan(span({ 'messaging.operation.type': 'receive' }), 's')).toMatchObject({
      role: 'consume',
      consumeKind: 'receive',
    });
    expect(readSpan(span({ 'messaging.operation.type': 'settle' }), 's').role).toBe('other');
    expect(readSpan(span({ 'messaging.system': 'kafka', 'span.kind': 'producer' }), 's').role).toBe('send');
    expect(readSpan(span({ 'messaging.system': 'kafka', 'span.kind': 'consumer' }), 's').role).toBe('consume');
    expect(readSpan(span({ 'span.kind': 'consumer' }), 's').role).toBe('other');
  });

  it('finds the consumed messages however Jaeger rendered parent and links', () => {
    const ref = (refType: 'CHILD_OF' | 'FOLLOWS_FROM', spanID: string, traceID = 't1') => ({
      refType,
      traceID,
      spanID,
    });
    const consume = { 'messaging.operation.type': 'process' };
    // Parent and link to the same send span: Jaeger keeps one FOLLOWS_FROM, which is also the parent.
    expect(readSpan(span(consume, { references: [ref('FOLLOWS_FROM', 'send')] }), 's')).toMatchObject({
      parent: { spanId: 'send' },
      messages: [{ traceId: 't1', spanId: 'send' }],
    });
    // useLinksForConsume: ambient parent, link to the send span in another trace.
    expect(
      readSpan(span(consume, { references: [ref('CHILD_OF', 'poll'), ref('FOLLOWS_FROM', 'send', 't0')] }), 's'),
    ).toMatchObject({ parent: { spanId: 'poll' }, messages: [{ traceId: 't0', spanId: 'send' }] });
    // Parent only.
    expect(readSpan(span(consume, { references: [ref('CHILD_OF', 'send')] }), 's').messages).toEqual([
      { traceId: 't1', spanId: 'send' },
    ]);
    // A batch: many links, no parent.
    const batch = readSpan(span(consume, { references: [ref('FOLLOWS_FROM', 'a'), ref('FOLLOWS_FROM', 'b')] }), 's');
    expect(batch.parent).toBeUndefined();
    expect(batch.messages.map((m) => m.spanId)).toEqual(['a', 'b']);
    // Jaeger may send `references: null`.
    expect(readSpan(span(consume, { references: null }), 's').messages).toEqual([]);
  });

  it('reads outcome, flags, errors and dead-letter facts', () => {
    const read = readSpan(
      span({
        'messaging.operation.type': 'process',
        'messaging.system': 'rabbitmq',
        'messaging.destination.name': 'orders.dlq',
        'mqtrail.settle.outcome': 'ack',
        'mqtrail.redelivered': true,
        'mqtrail.duplicate': 'true',
        'mqtrail.chain.hops': 3,
        'mqtrail.dead_letter.queue': 'orders',
        'mqtrail.dead_letter.count': 2,
        'messaging.kafka.offset': 42,
        'error.type': 'TypeError',
        'otel.status_code': 'ERROR',
        'otel.status_description': 'boom',
      }),
      'svc',
    );
    expect(read).toMatchObject({
      service: 'svc',
      system: 'rabbitmq',
      destination: 'orders.dlq',
      outcome: 'ack',
      redelivered: true,
      duplicate: true,
      hops: 3,
      offset: '42',
      error: { type: 'TypeError', message: 'boom' },
      deadLetter: { queue: 'orders', count: '2' },
    });
    expect(isDeadLettered(read)).toBe(true);
    expect(readSpan(span({ 'messaging.operation.type': 'process', error: true }), 's').error).toEqual({});
    expect(
      readSpan(span({ 'messaging.operation.type': 'process', 'mqtrail.delivery_count': 1 }), 's').redelivered,
    ).toBe(true);
    expect(
      readSpan(span({ 'messaging.operation.type': 'process', 'mqtrail.delivery_count': 0 }), 's').redelivered,
    ).toBe(false);
    const timedOut = readSpan(
      span({ 'messaging.operation.type': 'process', 'mqtrail.settle.outcome': 'timeout' }),
      's',
    );
    expect(timedOut.error).toEqual({ type: 'timeout' });
  });

  it('reads status ERROR without an error type on a dropped or timed-out message as its settlement', () => {
    const settled = (outcome: string, extra: Record<string, unknown> = {}) =>
      readSpan(
        span({
          'messaging.operation.type': 'process',
          'otel.status_code': 'ERROR',
          'mqtrail.settle.outcome': outcome,
          ...extra,
        }),
        's',
      );
    expect(settled('drop').error).toBeUndefined();
    expect(isDeadLettered(settled('drop'))).toBe(true);
    expect(settled('timeout').error).toEqual({ type: 'timeout' });
    expect(settled('drop', { 'error.type': 'TypeError' }).error).toEqual({ type: 'TypeError' });
    expect(settled('ack').error).toEqual({});
  });

  it('takes the outcome from the last settle event when the attribute is missing', () => {
    const logs = ['settle requeue', 'settle ack'].map((event, i) => ({
      timestamp: i,
      fields: [{ key: 'event', type: 'string', value: event }],
    }));
    expect(readSpan(span({ 'messaging.operation.type': 'process' }, { logs }), 's').outcome).toBe('ack');
  });

  it('knows a returned message by its attribute or its event', () => {
    expect(readSpan(span({ 'messaging.operation.type': 'send', 'mqtrail.returned': true }), 's').returned).toBe(true);
    const logs = [{ timestamp: 1, fields: [{ key: 'event', type: 'string', value: 'message returned' }] }];
    expect(readSpan(span({ 'messaging.operation.type': 'send' }, { logs }), 's').returned).toBe(true);
    expect(readSpan(span({ 'messaging.operation.type': 'send' }), 's').returned).toBe(false);
  });
});

describe('spans of every OTEL_SEMCONV_STABILITY_OPT_IN mode', () => {
  it('reads the 1.45 names', () => {
    const read = readSpan(
      span({
        'messaging.system.name': 'kafka',
        'span.kind': 'consumer',
        'kafka.offset': 42,
        'kafka.message.key': 'o-1',
      }),
      's',
    );
    expect(read).toMatchObject({ role: 'consume', system: 'kafka', offset: '42', key: 'o-1' });
    expect(readSpan(span({ 'rabbitmq.destination.routing_key': 'order.created' }), 's').routingKey).toBe(
      'order.created',
    );
  });

  it('prefers the 1.45 name when a span has both', () => {
    expect(readSpan(span({ 'messaging.system': 'x', 'messaging.system.name': 'kafka' }), 's').system).toBe('kafka');
  });

  it.each(['new', 'dup'] as const)('reads a trace written in mode %s as the same trace in the old names', (mode) => {
    const { trace } = shopTrace();
    const written = inSemconvMode(trace, mode);
    expect(JSON.stringify(written)).not.toEqual(JSON.stringify(trace));
    expect(readTrace(written)).toEqual(readTrace(trace));
  });
});
