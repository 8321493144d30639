import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AmqpAttr } from './attributes';
import { type AmqpChannel, APIS, harness, until, VARIANTS } from './test-support/amqplib';
import type { AmqpMessage } from './types';

const QUEUE = 'orders';

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

function outcomeOf(span: ReadableSpan): unknown {
  return span.attributes['mqtrail.settle.outcome'];
}

// One suite for every supported amqplib version and both of its APIs (promise and callback):
// the behaviour must not depend on either.
describe.each(VARIANTS)('$label', (variant) => {
  const h = harness(variant);

  describe.each(APIS)('$name API', (api) => {
    beforeEach(() => h.setUp());
    afterEach(() => h.tearDown());

    async function consumeOne(
      channel: AmqpChannel,
      queue = QUEUE,
      options: object = {},
      onMessage?: (message: AmqpMessage) => void,
    ): Promise<AmqpMessage> {
      return new Promise<AmqpMessage>((resolve, reject) => {
        api
          .consume(
            channel,
            queue,
            (message) => {
              if (message === null) return;
              onMessage?.(message);
              resolve(message);
            },
            options,
          )
          .catch(reject);
      });
    }

    it('makes the process span of a sendToQueue message a child of its send span, and links it', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      const consumer = await api.open(h.loaded, h.connection);
      let activeInHandler: string | undefined;
      const received = consumeOne(consumer, QUEUE, {}, (message) => {
        activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
        consumer.ack?.(message);
      });
      producer.sendToQueue?.(QUEUE, Buffer.from('hello'), { messageId: 'm-1', correlationId: 'c-1' });
      const message = await received;

      const send = h.telemetry.span(`send ${QUEUE}`);
      const process = h.telemetry.span(`process ${QUEUE}`);
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(process.kind).toBe(SpanKind.CONSUMER);
      expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
      expect(parentOf(process)).toBe(send.spanContext().spanId);
      expect(process.links.map((link) => link.context.spanId)).toEqual([send.spanContext().spanId]);
      // So Jaeger keeps the CHILD_OF reference instead of turning it into FOLLOWS_FROM.
      expect(process.links[0]?.attributes).toEqual({ 'opentracing.ref_type': 'child_of' });
      expect(activeInHandler).toBe(process.spanContext().spanId);
      expect(send.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.destination.name': QUEUE,
        'messaging.rabbitmq.destination.routing_key': QUEUE,
        'messaging.message.id': 'm-1',
        'messaging.message.conversation_id': 'c-1',
        'server.address': '10.1.2.3',
        'server.port': 5672,
      });
      expect(process.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.destination.name': QUEUE,
        'messaging.rabbitmq.message.delivery_tag': 1,
        'messaging.message.id': 'm-1',
        'mqtrail.settle.outcome': 'ack',
        'mqtrail.chain.hops': 1,
      });
      expect(message.content.toString()).toBe('hello');
      expect(h.telemetry.openSpans()).toBe(0);
      expect(await h.telemetry.count('messaging.client.sent.messages', { 'messaging.destination.name': QUEUE })).toBe(
        1,
      );
      expect(await h.telemetry.count('messaging.client.consumed.messages')).toBe(1);
      expect(await h.telemetry.count('mqtrail.settled.messages', { 'mqtrail.settle.outcome': 'ack' })).toBe(1);
    });

    it('names a publish to an exchange after the exchange, never the routing key', async () => {
      h.broker.declare(QUEUE, 'shop');
      const producer = await api.open(h.loaded, h.connection);
      const consumer = await api.open(h.loaded, h.connection);
      const received = consumeOne(consumer, QUEUE, { noAck: true });
      producer.publish?.('shop', 'order.1234.created', Buffer.from('x'));
      await received;

      const send = h.telemetry.span('send shop');
      expect(send.attributes).toMatchObject({
        'messaging.destination.name': 'shop',
        'messaging.rabbitmq.destination.routing_key': 'order.1234.created',
      });
      const process = h.telemetry.span(`process ${QUEUE}`);
      expect(parentOf(process)).toBe(send.spanContext().spanId);
      expect(outcomeOf(process)).toBe('auto');
    });

    it('sends a copy of the options and headers, never mutating the caller’s, with context and chain headers added', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      const headers = { tenant: 'acme', count: 3 };
      const options = Object.freeze({ headers: Object.freeze(headers), persistent: true });
      const result = producer.sendToQueue?.(QUEUE, Buffer.from('x'), options);

      expect(result).toBe(true);
      expect(options).toEqual({ headers: { tenant: 'acme', count: 3 }, persistent: true });
      const [wire] = h.broker.published;
      const wireHeaders = (wire?.properties.headers ?? {}) as Record<string, unknown>;
      expect(wireHeaders).toMatchObject({ tenant: 'acme', count: 3 });
      expect(wire?.properties.deliveryMode).toBe(2);
      const send = h.telemetry.span(`send ${QUEUE}`);
      const traceparent = wireHeaders.traceparent;
      expect(traceparent).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
      expect(wireHeaders.mqtrail).toMatch(/^1;s=\d+;o=\d+;h=1$/);
    });

    it('adds trace context only, without the chain header, when chainHeader is false', async () => {
      h.setUp({ chainHeader: false });
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      producer.sendToQueue?.(QUEUE, Buffer.from('x'), { headers: { tenant: 'acme' } });

      const [wire] = h.broker.published;
      expect(Object.keys(wire?.properties.headers ?? {}).sort()).toEqual(['tenant', 'traceparent']);
    });

    it('ends a confirm-channel publish span on the broker’s ack, and calls the caller’s callback unchanged', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection, true);
      const confirmed = new Promise<unknown[]>((resolve) => {
        producer.sendToQueue?.(QUEUE, Buffer.from('x'), {}, (...args: unknown[]) => resolve(args));
      });
      expect(h.telemetry.spans()).toHaveLength(0);
      expect(h.telemetry.openSpans()).toBe(1);
      const args = await confirmed;

      expect(args[0]).toBeNull();
      const send = h.telemetry.span(`send ${QUEUE}`);
      expect(send.status.code).toBe(SpanStatusCode.UNSET);
      expect(send.attributes[AmqpAttr.CONFIRM_CHANNEL]).toBe(true);
      expect(h.telemetry.openSpans()).toBe(0);
      const durations = await h.telemetry.points('messaging.client.operation.duration');
      expect(durations).toHaveLength(1);
    });

    it('marks a nacked confirm-channel publish as failed and still hands the caller amqplib’s error', async () => {
      h.broker.confirmMode = 'nack';
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection, true);
      const error = await new Promise<unknown>((resolve) => {
        producer.sendToQueue?.(QUEUE, Buffer.from('x'), {}, (err: unknown) => resolve(err));
      });

      expect((error as Error).message).toBe('message nacked');
      const send = h.telemetry.span(`send ${QUEUE}`);
      expect(send.status.code).toBe(SpanStatusCode.ERROR);
      expect(send.attributes['error.type']).toBe('PublishNackedError');
    });

    it('tracks confirms for a publish with no callback too, and waitForConfirms still works', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection, true);
      producer.publish?.('', QUEUE, Buffer.from('a'));
      producer.publish?.('', QUEUE, Buffer.from('b'), {});
      await new Promise<void>((resolve, reject) => {
        const waited = producer.waitForConfirms?.((err: unknown) => (err ? reject(err) : resolve()));
        if (api.name === 'promise') (waited as Promise<void>).then(resolve, reject);
      });
      await until(() => h.telemetry.spans().length === 2, 'both send spans ended');
      expect(h.telemetry.openSpans()).toBe(0);
    });

    it('records each settle outcome on the span and in the metric, a drop with status ERROR as contrib does', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      const consumer = await api.open(h.loaded, h.connection);
      const messages: AmqpMessage[] = [];
      await api.consume(consumer, QUEUE, (message) => {
        if (message !== null) messages.push(message);
      });
      for (let i = 0; i < 5; i++) producer.sendToQueue?.(QUEUE, Buffer.from(String(i)), { messageId: `m${i}` });
      await until(() => messages.length === 5, 'five deliveries');
      const [m0, m1, m2, m3, m4] = messages as [AmqpMessage, AmqpMessage, AmqpMessage, AmqpMessage, AmqpMessage];

      consumer.ack?.(m0);
      consumer.nack?.(m1); // requeue defaults to true
      consumer.nack?.(m2, false, false);
      consumer.reject?.(m3, false);
      consumer.reject?.(m4);

      const byId = (id: string) =>
        h.telemetry
          .spans()
          .find((span) => span.kind === SpanKind.CONSUMER && span.attributes['messaging.message.id'] === id);
      expect([0, 1, 2, 3, 4].map((i) => outcomeOf(byId(`m${i}`) as ReadableSpan))).toEqual([
        'ack',
        'requeue',
        'drop',
        'drop',
        'requeue',
      ]);
      expect(byId('m1')?.events.map((event) => event.name)).toContain('settle requeue');
      // Dropped messages fail the span (as contrib marks them), with no error.type: nothing threw.
      expect([0, 1, 2, 3, 4].map((i) => byId(`m${i}`)?.status)).toEqual([
        { code: SpanStatusCode.UNSET },
        { code: SpanStatusCode.UNSET },
        { code: SpanStatusCode.ERROR, message: 'nack called on message without requeue' },
        { code: SpanStatusCode.ERROR, message: 'reject called on message without requeue' },
        { code: SpanStatusCode.UNSET },
      ]);
      expect(byId('m2')?.attributes['error.type']).toBeUndefined();
      expect(await h.telemetry.count('mqtrail.settled.messages', { 'mqtrail.settle.outcome': 'drop' })).toBe(2);
      expect(await h.telemetry.count('mqtrail.settled.messages', { 'mqtrail.settle.outcome': 'requeue' })).toBe(2);
      expect(h.broker.settlements.map((s) => s.method)).toEqual(['ack', 'nack', 'nack', 'reject', 'reject']);
      expect(h.telemetry.openSpans()).toBe(0);
    });

    it('settles everything up to a message with allUpTo, and all open messages with ackAll/nackAll', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      const consumer = await api.open(h.loaded, h.connection);
      const messages: AmqpMessage[] = [];
      await api.consume(consumer, QUEUE, (message) => {
        if (message !== null) messages.push(message);
      });
      for (let i = 0; i < 6; i++) producer.sendToQueue?.(QUEUE, Buffer.from(String(i)));
      await until(() => messages.length === 6, 'six deliveries');

      consumer.ack?.(messages[1], true); // tags 1 and 2
      expect(h.telemetry.spansOfKind(SpanKind.CONSUMER)).toHaveLength(2);
      consumer.nack?.(messages[3], true, false); // tags 3 and 4
      expect(h.telemetry.spansOfKind(SpanKind.CONSUMER).map(outcomeOf)).toEqual(['ack', 'ack', 'drop', 'drop']);
      consumer.ackAll?.();
      expect(h.telemetry.spansOfKind(SpanKind.CONSUMER).map(outcomeOf)).toEqual([
        'ack',
        'ack',
        'drop',
        'drop',
        'ack',
        'ack',
      ]);

      producer.sendToQueue?.(QUEUE, Buffer.from('late'));
      await until(() => messages.length === 7, 'one more delivery');
      consumer.nackAll?.(true);
      expect(outcomeOf(h.telemetry.spansOfKind(SpanKind.CONSUMER).at(-1) as ReadableSpan)).toBe('requeue');
      expect(h.telemetry.spansOfKind(SpanKind.CONSUMER).map((span) => span.status.code)).toEqual([
        SpanStatusCode.UNSET,
        SpanStatusCode.UNSET,
        SpanStatusCode.ERROR,
        SpanStatusCode.ERROR,
        SpanStatusCode.UNSET,
        SpanStatusCode.UNSET,
        SpanStatusCode.UNSET,
      ]);

      producer.sendToQueue?.(QUEUE, Buffer.from('dropped'));
      await until(() => messages.length === 8, 'a last delivery');
      consumer.nackAll?.(false);
      const dropped = h.telemetry.spansOfKind(SpanKind.CONSUMER).at(-1) as ReadableSpan;
      expect(outcomeOf(dropped)).toBe('drop');
      expect(dropped.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'nackAll called on message without requeue',
      });
      expect(h.telemetry.openSpans()).toBe(0);
    });

    it('ends an unsettled message’s span as closed, with an error, when its channel closes', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      const consumer = await api.open(h.loaded, h.connection);
      const received = consumeOne(consumer);
      producer.sendToQueue?.(QUEUE, Buffer.from('x'));
      await received;
      await api.close(consumer);

      const process = h.telemetry.span(`process ${QUEUE}`);
      expect(outcomeOf(process)).toBe('closed');
      expect(process.status.code).toBe(SpanStatusCode.ERROR);
      expect(process.attributes['error.type']).toBe('ChannelClosedError');
      expect(await h.telemetry.count('mqtrail.settled.messages', { 'mqtrail.settle.outcome': 'closed' })).toBe(1);
    });

    it('ends open message and confirm spans when the broker closes the channel, with the broker’s reason', async () => {
      h.broker.declare(QUEUE);
      h.broker.confirmMode = 'none';
      const producer = await api.open(h.loaded, h.connection, true);
      const consumer = await api.open(h.loaded, h.connection);
      const channelErrors: unknown[] = [];
      consumer.on('error', (error) => channelErrors.push(error));
      producer.on('error', () => {});
      const received = consumeOne(consumer);
      let confirmError: unknown;
      producer.sendToQueue?.(QUEUE, Buffer.from('x'), {}, (err: unknown) => {
        confirmError = err;
      });
      await received;
      h.connection.closeChannelFromBroker(consumer, 'PRECONDITION_FAILED - unknown delivery tag 9');
      h.connection.drop();

      const process = h.telemetry.span(`process ${QUEUE}`);
      expect(outcomeOf(process)).toBe('closed');
      expect(process.status.message).toContain('PRECONDITION_FAILED');
      expect(channelErrors).toHaveLength(1);
      const send = h.telemetry.span(`send ${QUEUE}`);
      expect(send.status.code).toBe(SpanStatusCode.ERROR);
      expect(send.attributes['error.type']).toBe('ChannelClosedError');
      expect((confirmError as Error).message).toBe('channel closed');
      expect(h.telemetry.openSpans()).toBe(0);
    });

    it('does not stop an unhandled channel error from reaching the application', async () => {
      const consumer = await api.open(h.loaded, h.connection);
      expect(() => h.connection.closeChannelFromBroker(consumer)).toThrow(/PRECONDITION_FAILED/);
    });

    it('ends a noAck message’s span as auto when the handler returns', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      const consumer = await api.open(h.loaded, h.connection);
      const received = consumeOne(consumer, QUEUE, { noAck: true });
      producer.sendToQueue?.(QUEUE, Buffer.from('x'));
      await received;
      expect(outcomeOf(h.telemetry.span(`process ${QUEUE}`))).toBe('auto');
      expect(await h.telemetry.count('mqtrail.settled.messages', { 'mqtrail.settle.outcome': 'auto' })).toBe(1);
    });

    it('gives a pulled message a CLIENT receive span that ends when it is acked', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      const consumer = await api.open(h.loaded, h.connection);
      expect(await api.get(consumer, QUEUE)).toBe(false);
      producer.sendToQueue?.(QUEUE, Buffer.from('x'));
      const message = await api.get(consumer, QUEUE);
      expect(message).not.toBe(false);
      expect(h.telemetry.spansOfKind(SpanKind.CLIENT)).toHaveLength(0);
      consumer.ack?.(message);

      const receive = h.telemetry.span(`receive ${QUEUE}`);
      expect(receive.kind).toBe(SpanKind.CLIENT);
      expect(receive.attributes['messaging.operation.type']).toBe('receive');
      expect(parentOf(receive)).toBe(h.telemetry.span(`send ${QUEUE}`).spanContext().spanId);
      expect(outcomeOf(receive)).toBe('ack');
    });

    it('records redeliveries, quorum delivery counts and dead-letter facts', async () => {
      h.broker.inject('orders.dlq', {
        redelivered: true,
        properties: {
          headers: {
            'x-delivery-count': 2,
            'x-death': [
              { count: 1, reason: 'rejected', queue: 'orders', time: { '!': 'timestamp', value: 1 }, exchange: '' },
            ],
            'x-first-death-queue': 'orders',
            'x-first-death-reason': 'rejected',
          },
        },
      });
      const consumer = await api.open(h.loaded, h.connection);
      await consumeOne(consumer, 'orders.dlq', { noAck: true });
      const process = h.telemetry.span('process orders.dlq');
      expect(process.attributes).toMatchObject({
        'mqtrail.redelivered': true,
        'mqtrail.delivery_count': 2,
        [AmqpAttr.DEAD_LETTER_QUEUE]: 'orders',
        [AmqpAttr.DEAD_LETTER_REASON]: 'rejected',
        [AmqpAttr.DEAD_LETTER_COUNT]: 1,
      });
      expect(await h.telemetry.count('mqtrail.redelivered.messages')).toBe(1);
    });

    it('consumes messages with every field-table type and garbage propagation headers as messages without context', async () => {
      const headers = {
        traceparent: 'not-a-traceparent',
        tracestate: Buffer.from([0xff, 0x00, 0xfe]),
        baggage: '%%%,=;',
        mqtrail: '1;s=NaN;o=;h=0',
        long: Buffer.alloc(10_000, 'a'),
        int: 42,
        negative: -70_000,
        big: 2 ** 40,
        float: 1.5,
        flag: true,
        nothing: null,
        nested: { deeper: { deepest: [1, 'two', Buffer.from('3')] } },
        list: ['a', 1, null, { k: 'v' }],
        when: { '!': 'timestamp', value: 1_700_000_000 },
        dec: { '!': 'decimal', value: { places: 2, digits: 1234 } },
      };
      h.broker.inject(QUEUE, { properties: { headers } });
      const consumer = await api.open(h.loaded, h.connection);
      const message = await consumeOne(consumer, QUEUE, {}, (m) => consumer.ack?.(m));

      const process = h.telemetry.span(`process ${QUEUE}`);
      expect(process.parentSpanContext).toBeUndefined();
      expect(process.links).toEqual([]);
      expect(process.attributes['mqtrail.chain.hops']).toBe(1);
      expect(outcomeOf(process)).toBe('ack');
      // The application sees exactly what the broker delivered.
      const delivered = message.properties.headers as Record<string, unknown>;
      expect(delivered.traceparent).toBe('not-a-traceparent');
      expect(delivered.nested).toEqual({ deeper: { deepest: [1, 'two', Buffer.from('3')] } });
      expect(delivered.when).toEqual({ '!': 'timestamp', value: 1_700_000_000 });
    });

    it('leaves propagation out rather than push a publish over amqplib’s 64 KiB header table', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      // Fits on its own (65 536 bytes with table and entry overhead), not with trace context added.
      const headers = { big: 'x'.repeat(65_536 - 4 - 1 - 3 - 5 - 20) };
      expect(() => producer.sendToQueue?.(QUEUE, Buffer.from('x'), { headers })).not.toThrow();

      const [wire] = h.broker.published;
      const wireHeaders = (wire?.properties.headers ?? {}) as Record<string, unknown>;
      expect(Object.keys(wireHeaders)).toEqual(['big']);
      expect(wireHeaders.big).toBe(headers.big);
      const send = h.telemetry.span(`send ${QUEUE}`);
      expect(send.attributes[AmqpAttr.PROPAGATION_SKIPPED]).toBe('header_size');
      expect(send.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('passes a synchronous publish error through unchanged and ends the span with it', async () => {
      const producer = await api.open(h.loaded, h.connection);
      let thrown: unknown;
      try {
        producer.sendToQueue?.(QUEUE, 'not a buffer');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      const send = h.telemetry.span(`send ${QUEUE}`);
      expect(send.status.code).toBe(SpanStatusCode.ERROR);
      expect(send.attributes['error.type']).toBe('TypeError');
      expect(h.telemetry.openSpans()).toBe(0);
    });

    it('records backpressure and returns amqplib’s false unchanged', async () => {
      h.broker.declare(QUEUE);
      const producer = await api.open(h.loaded, h.connection);
      h.connection.writable = false;
      expect(producer.sendToQueue?.(QUEUE, Buffer.from('x'))).toBe(false);
      const send = h.telemetry.span(`send ${QUEUE}`);
      expect(send.attributes[AmqpAttr.PUBLISH_BACKPRESSURE]).toBe(true);
      expect(send.events.map((event) => event.name)).toContain('backpressure');
    });
  });
});

// Behaviour that does not vary with the API surface, checked on the newest amqplib.
describe('amqplib 2.x, promise API', () => {
  const h = harness(VARIANTS[2]);
  const api = APIS[0] as (typeof APIS)[0];
  afterEach(() => {
    h.tearDown();
    vi.useRealTimers();
  });

  it('counts a returned mandatory message and records it on its still-open confirm span', async () => {
    h.setUp();
    const producer = await api.open(h.loaded, h.connection, true);
    const returned = new Promise<void>((resolve) => producer.once('return', () => resolve()));
    const confirmed = new Promise<unknown>((resolve) => {
      producer.publish?.('nowhere', 'key', Buffer.from('x'), { mandatory: true }, (err: unknown) => resolve(err));
    });
    await returned;
    expect(await confirmed).toBeNull();

    const send = h.telemetry.span('send nowhere');
    expect(send.attributes[AmqpAttr.RETURNED]).toBe(true);
    expect(send.attributes[AmqpAttr.RETURN_REASON]).toBe('NO_ROUTE');
    expect(send.events.map((event) => event.name)).toContain('message returned');
    expect(send.attributes['error.type']).toBe('ReturnedMessageError');
    expect(await h.telemetry.count('mqtrail.returned.messages', { 'messaging.destination.name': 'nowhere' })).toBe(1);
  });

  it('counts a returned message from a plain channel', async () => {
    h.setUp();
    const producer = await api.open(h.loaded, h.connection);
    const returned = new Promise<void>((resolve) => producer.once('return', () => resolve()));
    producer.sendToQueue?.('missing', Buffer.from('x'), { mandatory: true });
    await returned;
    expect(await h.telemetry.count('mqtrail.returned.messages', { 'messaging.destination.name': 'missing' })).toBe(1);
  });

  it('ends a confirm span with an error when no confirm comes within confirmTimeoutMs', async () => {
    h.setUp({ confirmTimeoutMs: 1_000 });
    h.broker.confirmMode = 'none';
    h.broker.declare(QUEUE);
    const producer = await api.open(h.loaded, h.connection, true);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    producer.sendToQueue?.(QUEUE, Buffer.from('x'), {}, () => {});
    vi.advanceTimersByTime(1_001);
    const send = h.telemetry.span(`send ${QUEUE}`);
    expect(send.attributes['error.type']).toBe('ConfirmTimeoutError');
  });

  it('ends an unsettled message’s span as timeout, with status ERROR, after consumeTimeoutMs (default 60 s)', async () => {
    const ends: unknown[] = [];
    h.setUp({ consumeEndHook: (_span, { rejected, endOperation }) => ends.push({ rejected, endOperation }) });
    h.broker.declare(QUEUE);
    const producer = await api.open(h.loaded, h.connection);
    const consumer = await api.open(h.loaded, h.connection);
    const delivered: AmqpMessage[] = [];
    await api.consume(consumer, QUEUE, (message) => {
      if (message !== null) delivered.push(message);
    });
    // Only timers are faked: deliveries still arrive through setImmediate.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    producer.sendToQueue?.(QUEUE, Buffer.from('x'));
    await until(() => delivered.length === 1, 'delivery');
    expect(h.telemetry.spansOfKind(SpanKind.CONSUMER)).toHaveLength(0);
    vi.advanceTimersByTime(60_001);

    const process = h.telemetry.span(`process ${QUEUE}`);
    expect(outcomeOf(process)).toBe('timeout');
    expect(process.status.code).toBe(SpanStatusCode.ERROR);
    expect(process.status.message).toMatch(/^instrumentation timeout/);
    expect(process.attributes['error.type']).toBeUndefined();
    expect(ends).toEqual([{ rejected: null, endOperation: 'instrumentation timeout' }]);
    // A late ack after the timeout changes nothing and does not throw.
    consumer.ack?.(delivered[0]);
    expect(h.telemetry.spansOfKind(SpanKind.CONSUMER)).toHaveLength(1);
  });
});
