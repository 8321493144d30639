import {
  context,
  DiagLogLevel,
  diag,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { type AmqpChannel, APIS, harness, until, VARIANTS } from './test-support/amqplib';
import {
  type AmqpMessage,
  type ConsumeEndInfo,
  type ConsumeInfo,
  EndOperation,
  type PublishConfirmedInfo,
  type PublishInfo,
} from './types';

// Behaviour checked once, on the newest amqplib's promise API: hooks, chains, links, duplicates,
// hostile input. The version/API matrix is instrumentation.test.ts.
const h = harness(VARIANTS[2]);
const api = APIS[0] as (typeof APIS)[0];
const QUEUE = 'jobs';

afterEach(() => {
  h.tearDown();
  diag.disable();
});

/**
 * Messages mqtrail reports through `diag`. A logger is registered rather than `diag` spied on:
 * the global logger is shared by every copy of @opentelemetry/api loaded in the process.
 */
function captureDiagErrors(level = DiagLogLevel.ERROR): string[] {
  const messages: string[] = [];
  const record = (message: string) => messages.push(message);
  diag.setLogger({ error: record, warn: record, info: () => {}, debug: () => {}, verbose: () => {} }, level);
  return messages;
}

function consumeAll(channel: AmqpChannel, queue: string, onMessage: (message: AmqpMessage) => unknown, options = {}) {
  return api.consume(channel, queue, (message) => (message === null ? undefined : onMessage(message)), options);
}

describe('hooks', () => {
  it('runs every hook with one info object: publish before injection, confirm, consume and consume end', async () => {
    const seen: string[] = [];
    let publishInfo: Omit<PublishInfo, 'content'> | undefined;
    let confirmInfo: PublishConfirmedInfo | undefined;
    let consumeInfo: ConsumeInfo | undefined;
    let endInfo: ConsumeEndInfo | undefined;
    h.setUp({
      publishHook: (span, info) => {
        seen.push('publish');
        const { content: _content, ...rest } = info;
        publishInfo = structuredClone(rest);
        span.setAttribute('app.publish', info.routingKey);
      },
      publishConfirmHook: (span, info) => {
        seen.push('confirm');
        confirmInfo = info;
        span.setAttribute('app.confirmed', info.confirmError === null);
      },
      consumeHook: (span, info) => {
        seen.push('consume');
        consumeInfo = info;
        span.setAttribute('app.queue', info.queue);
      },
      consumeEndHook: (span, info) => {
        seen.push('end');
        endInfo = info;
        span.setAttribute('app.end', info.endOperation);
      },
    });
    h.broker.declare(QUEUE);
    const producer = await api.open(h.loaded, h.connection, true);
    const consumer = await api.open(h.loaded, h.connection);
    const done = new Promise<void>((resolve) => {
      void consumeAll(consumer, QUEUE, (message) => {
        consumer.nack?.(message, false, false);
        resolve();
      });
    });
    await new Promise((resolve) => producer.sendToQueue?.(QUEUE, Buffer.from('x'), { headers: { app: 1 } }, resolve));
    await done;

    // The confirm and the delivery race, as on a real broker; everything else is ordered.
    expect(seen[0]).toBe('publish');
    expect([...seen].sort()).toEqual(['confirm', 'consume', 'end', 'publish']);
    expect(seen.indexOf('consume')).toBeLessThan(seen.indexOf('end'));
    expect(publishInfo).toMatchObject({ exchange: '', routingKey: QUEUE, isConfirmChannel: true });
    expect(publishInfo?.options?.headers).toEqual({ app: 1 });
    // As contrib: amqplib's `null` for an ack, not undefined.
    expect(confirmInfo?.confirmError).toBeNull();
    expect(consumeInfo?.msg.content.toString()).toBe('x');
    expect(endInfo).toMatchObject({ rejected: true, endOperation: 'nack', outcome: 'drop' });
    expect(h.telemetry.span(`send ${QUEUE}`).attributes).toMatchObject({ 'app.publish': QUEUE, 'app.confirmed': true });
    expect(h.telemetry.span(`process ${QUEUE}`).attributes).toMatchObject({ 'app.queue': QUEUE, 'app.end': 'nack' });
  });

  it('tells consumeEndHook how each message ended with contrib’s rejected and endOperation', async () => {
    const ends: Pick<ConsumeEndInfo, 'rejected' | 'endOperation' | 'outcome'>[] = [];
    h.setUp({
      consumeEndHook: (_span, { rejected, endOperation, outcome }) => ends.push({ rejected, endOperation, outcome }),
    });
    h.broker.declare(QUEUE);
    const producer = await api.open(h.loaded, h.connection);
    const consumer = await api.open(h.loaded, h.connection);
    const messages: AmqpMessage[] = [];
    await consumeAll(consumer, QUEUE, (message) => messages.push(message));
    for (let i = 0; i < 4; i++) producer.sendToQueue?.(QUEUE, Buffer.from(String(i)));
    await until(() => messages.length === 4, 'four deliveries');
    const [m0, m1, m2] = messages as [AmqpMessage, AmqpMessage, AmqpMessage];
    consumer.ack?.(m0);
    consumer.nack?.(m1);
    consumer.reject?.(m2, false);
    await api.close(consumer);

    expect(ends).toEqual([
      { rejected: false, endOperation: EndOperation.Ack, outcome: 'ack' },
      { rejected: true, endOperation: EndOperation.Nack, outcome: 'requeue' },
      { rejected: true, endOperation: EndOperation.Reject, outcome: 'drop' },
      { rejected: true, endOperation: EndOperation.ChannelClosed, outcome: 'closed' },
    ]);
  });

  it('keeps a hook’s throw or rejection away from the application and from what goes on the wire', async () => {
    const reported = captureDiagErrors();
    const boom = () => {
      throw new Error('hook bug');
    };
    h.setUp({
      publishHook: (_span, info) => {
        // Even a hook that tampers with the options it is handed cannot remove the trace context.
        if (info.options) info.options.headers = { tampered: true };
        boom();
      },
      publishConfirmHook: boom,
      consumeHook: () => Promise.reject(new Error('async hook bug')),
      consumeEndHook: boom,
    });
    h.broker.declare(QUEUE);
    const producer = await api.open(h.loaded, h.connection, true);
    const consumer = await api.open(h.loaded, h.connection);
    const received = new Promise<AmqpMessage>((resolve) => {
      void consumeAll(consumer, QUEUE, (message) => {
        consumer.ack?.(message);
        resolve(message);
      });
    });
    await new Promise((resolve) => producer.sendToQueue?.(QUEUE, Buffer.from('x'), {}, resolve));
    const message = await received;
    await until(() => reported.length >= 4, 'four hook errors reported');
    expect(reported.join('\n')).toMatch(/publishHook[\s\S]*publishConfirmHook|publishConfirmHook[\s\S]*publishHook/);

    expect(message.properties.headers?.traceparent).toBeTypeOf('string');
    expect(message.properties.headers?.tampered).toBeUndefined();
    const process = h.telemetry.span(`process ${QUEUE}`);
    expect(process.parentSpanContext?.spanId).toBe(h.telemetry.span(`send ${QUEUE}`).spanContext().spanId);
    expect(process.attributes['mqtrail.settle.outcome']).toBe('ack');
    expect(h.telemetry.openSpans()).toBe(0);
  });
});

describe('consumption chains', () => {
  it('joins an RPC reply to the request’s trace over a reply-to queue, keeping the reply queue out of names and labels', async () => {
    h.setUp();
    h.broker.declare('rpc');
    h.broker.declare('amq.gen-Xyz123');
    const client = await api.open(h.loaded, h.connection);
    const server = await api.open(h.loaded, h.connection);
    await consumeAll(server, 'rpc', (request) => {
      server.sendToQueue?.(request.properties.replyTo, Buffer.from('pong'), {
        correlationId: request.properties.correlationId,
      });
      server.ack?.(request);
    });
    const reply = new Promise<AmqpMessage>((resolve) => {
      void consumeAll(client, 'amq.gen-Xyz123', resolve, { noAck: true });
    });
    client.sendToQueue?.('rpc', Buffer.from('ping'), { correlationId: 'call-1', replyTo: 'amq.gen-Xyz123' });
    await reply;
    await until(() => h.telemetry.spans().length === 4, 'four spans');

    const spans = h.telemetry.spans();
    const traceIds = new Set(spans.map((span) => span.spanContext().traceId));
    expect(traceIds.size).toBe(1);
    const names = spans.map((span) => span.name).sort();
    expect(names).toEqual(['process', 'process rpc', 'send', 'send rpc']);
    const byName = (name: string) => spans.find((span) => span.name === name) as ReadableSpan;
    expect(byName('send').parentSpanContext?.spanId).toBe(byName('process rpc').spanContext().spanId);
    expect(byName('process').parentSpanContext?.spanId).toBe(byName('send').spanContext().spanId);
    expect(byName('process').attributes).toMatchObject({
      'messaging.destination.temporary': true,
      'messaging.message.conversation_id': 'call-1',
      'mqtrail.chain.hops': 2,
    });
    const labels = (await h.telemetry.points('messaging.client.sent.messages')).map(
      (point) => point.attributes['messaging.destination.name'],
    );
    expect(labels.sort()).toEqual(['(temporary)', 'rpc']);
  });

  it('carries the chain’s origin and hop count forward when a consumer publishes', async () => {
    h.setUp();
    h.broker.declare('first');
    h.broker.declare('second');
    const channel = await api.open(h.loaded, h.connection);
    await consumeAll(channel, 'first', (message) => {
      channel.sendToQueue?.('second', message.content);
      channel.ack?.(message);
    });
    const second = new Promise<AmqpMessage>((resolve) => {
      void consumeAll(channel, 'second', resolve, { noAck: true });
    });
    channel.sendToQueue?.('first', Buffer.from('x'));
    const message = await second;
    const [first] = h.broker.published;
    const origin = /o=(\d+)/.exec(String(first?.properties.headers?.mqtrail))?.[1];
    expect(String(message.properties.headers?.mqtrail)).toMatch(new RegExp(`^1;s=\\d+;o=${origin};h=2$`));
    expect(h.telemetry.span('process second').attributes['mqtrail.chain.hops']).toBe(2);
  });

  it('with useLinksForConsume keeps the ambient context as parent and links the message', async () => {
    h.setUp({ useLinksForConsume: true });
    h.broker.declare(QUEUE);
    const channel = await api.open(h.loaded, h.connection);
    const received = new Promise<AmqpMessage>((resolve) => {
      void consumeAll(channel, QUEUE, resolve, { noAck: true });
    });
    channel.sendToQueue?.(QUEUE, Buffer.from('x'));
    await received;
    const send = h.telemetry.span(`send ${QUEUE}`);
    const process = h.telemetry.span(`process ${QUEUE}`);
    expect(process.parentSpanContext).toBeUndefined();
    expect(process.links[0]?.context.spanId).toBe(send.spanContext().spanId);
    // A link that is not to the parent stays an ordinary (FOLLOWS_FROM) link.
    expect(process.links[0]?.attributes?.['opentracing.ref_type']).toBeUndefined();
  });

  it('keeps the baggage of the producer in the consumer’s handler context', async () => {
    h.setUp();
    h.broker.declare(QUEUE);
    const channel = await api.open(h.loaded, h.connection);
    let tenant: string | undefined;
    const received = new Promise<void>((resolve) => {
      void consumeAll(
        channel,
        QUEUE,
        () => {
          tenant = propagation.getActiveBaggage()?.getEntry('tenant')?.value;
          resolve();
        },
        { noAck: true },
      );
    });
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    context.with(propagation.setBaggage(ROOT_CONTEXT, baggage), () => channel.sendToQueue?.(QUEUE, Buffer.from('x')));
    await received;
    expect(tenant).toBe('acme');
  });
});

describe('pull', () => {
  it('runs a callback-API get callback inside its receive span, and ends a noAck get as auto', async () => {
    h.setUp();
    h.broker.declare(QUEUE);
    const callbackApi = APIS[1] as (typeof APIS)[1];
    const channel = await callbackApi.open(h.loaded, h.connection);
    channel.sendToQueue?.(QUEUE, Buffer.from('x'));
    const active = await new Promise<string | undefined>((resolve) => {
      channel.get?.(QUEUE, { noAck: true }, () => resolve(trace.getActiveSpan()?.spanContext().spanId));
    });
    const receive = h.telemetry.span(`receive ${QUEUE}`);
    expect(active).toBe(receive.spanContext().spanId);
    expect(receive.attributes['mqtrail.settle.outcome']).toBe('auto');
  });
});

describe('duplicates', () => {
  it('counts a message seen twice by the same queue, by span id and message id', async () => {
    h.setUp();
    h.broker.declare(QUEUE);
    const channel = await api.open(h.loaded, h.connection);
    const seen: AmqpMessage[] = [];
    await consumeAll(channel, QUEUE, (message) => seen.push(message), { noAck: true });
    channel.sendToQueue?.(QUEUE, Buffer.from('x'), { messageId: 'order-7' });
    channel.sendToQueue?.(QUEUE, Buffer.from('x'), { messageId: 'order-7' });
    await until(() => seen.length === 2, 'two deliveries');
    const flags = h.telemetry.spansOfKind(SpanKind.CONSUMER).map((span) => span.attributes['mqtrail.duplicate']);
    expect(flags).toEqual([undefined, true]);
    expect(await h.telemetry.count('mqtrail.duplicate.messages')).toBe(1);
  });
});

describe('redeliveries are not duplicates', () => {
  it('forgets a message left unacked by a closed channel, so its redelivery is not counted as a duplicate', async () => {
    h.setUp();
    h.broker.declare(QUEUE);
    const producer = await api.open(h.loaded, h.connection);
    const first = await api.open(h.loaded, h.connection);
    const held = new Promise<void>((resolve) => {
      void consumeAll(first, QUEUE, () => resolve());
    });
    producer.sendToQueue?.(QUEUE, Buffer.from('x'), { messageId: 'order-9' });
    const [wire] = h.broker.published;
    await held;
    await api.close(first);
    // The broker's redelivery, as RabbitMQ does after the close.
    h.broker.inject(QUEUE, { redelivered: true, properties: wire?.properties });
    const second = await api.open(h.loaded, h.connection);
    const redelivered = new Promise<void>((resolve) => {
      void consumeAll(second, QUEUE, (message) => {
        second.ack?.(message);
        resolve();
      });
    });
    await redelivered;
    const [closed, acked] = h.telemetry.spansOfKind(SpanKind.CONSUMER);
    expect(closed?.attributes['mqtrail.settle.outcome']).toBe('closed');
    expect(acked?.attributes['mqtrail.redelivered']).toBe(true);
    expect(acked?.attributes['mqtrail.duplicate']).toBeUndefined();
    expect(await h.telemetry.count('mqtrail.duplicate.messages')).toBe(0);
  });
});

describe('handlers that fail', () => {
  it('records a synchronous throw on the span and lets amqplib see it as before', async () => {
    h.setUp();
    h.broker.declare(QUEUE);
    const channel = await api.open(h.loaded, h.connection);
    const errors: unknown[] = [];
    channel.on('error', (error) => errors.push(error));
    await consumeAll(channel, QUEUE, () => {
      throw new RangeError('handler bug');
    });
    channel.sendToQueue?.(QUEUE, Buffer.from('x'));
    await until(() => h.telemetry.spansOfKind(SpanKind.CONSUMER).length === 1, 'process span ended');
    // amqplib closes the channel over a throwing consumer; the span ends with the close, keeping the cause.
    const process = h.telemetry.span(`process ${QUEUE}`);
    expect(process.attributes['mqtrail.settle.outcome']).toBe('closed');
    expect(process.events.some((event) => event.attributes?.['exception.message'] === 'handler bug')).toBe(true);
    expect((errors[0] as Error).message).toBe('handler bug');
  });

  it('hands amqplib a promise that rejects with the handler’s own error, and records it', async () => {
    h.setUp();
    const channel = await api.open(h.loaded, h.connection);
    const failure = new Error('async handler bug');
    const tag = await consumeAll(channel, QUEUE, () => Promise.reject(failure), { noAck: true });
    const consumer = channel.consumers.get(tag);
    const message = {
      fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: QUEUE, consumerTag: tag },
      properties: { headers: {} },
      content: Buffer.from('x'),
    };
    await expect(consumer?.(message)).rejects.toBe(failure);
    const process = h.telemetry.span(`process ${QUEUE}`);
    expect(process.status.code).toBe(SpanStatusCode.ERROR);
    expect(process.attributes['mqtrail.settle.outcome']).toBe('auto');
  });
});

describe('hostile input', () => {
  it('delivers a message whose headers throw on access, untraced but untouched', async () => {
    h.setUp();
    const channel = await api.open(h.loaded, h.connection);
    const delivered: unknown[] = [];
    const tag = await consumeAll(channel, QUEUE, (message) => delivered.push(message));
    const headers = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile getter');
        },
        ownKeys() {
          throw new Error('hostile keys');
        },
      },
    );
    const message = {
      fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: QUEUE, consumerTag: tag },
      properties: { headers },
      content: Buffer.from('x'),
    };
    channel.emit('delivery', message);
    expect(delivered).toEqual([message]);
    channel.ack?.(message);
    expect(h.telemetry.openSpans()).toBe(0);
  });

  it('passes a consumer-cancel notification (null) straight to the handler', async () => {
    h.setUp();
    const channel = await api.open(h.loaded, h.connection);
    const seen: unknown[] = [];
    const tag = await api.consume(channel, QUEUE, (message) => seen.push(message));
    channel.emit('cancel', { consumerTag: tag });
    expect(seen).toEqual([null]);
    expect(h.telemetry.spans()).toHaveLength(0);
  });

  it('publishes headers that are not a table unchanged, without propagation', async () => {
    h.setUp();
    const channel = await api.open(h.loaded, h.connection);
    const warnings = captureDiagErrors(DiagLogLevel.WARN);
    h.broker.declare(QUEUE);
    // amqplib encodes an array as a table of its indices; mqtrail must not change that.
    channel.sendToQueue?.(QUEUE, Buffer.from('x'), { headers: ['a'] });
    expect(h.broker.published[0]?.properties.headers).toEqual({ 0: 'a' });
    expect(h.telemetry.span(`send ${QUEUE}`).attributes['mqtrail.propagation.skipped']).toBe('headers_not_a_table');
    expect(warnings.join('\n')).toContain('not an object');
  });

  it('keeps inherited header keys amqplib would have sent, and reads options through their prototype', async () => {
    h.setUp();
    const channel = await api.open(h.loaded, h.connection);
    h.broker.declare(QUEUE);
    const defaults = { persistent: true, headers: Object.assign(Object.create({ inherited: 'yes' }), { own: 1 }) };
    channel.sendToQueue?.(QUEUE, Buffer.from('x'), Object.create(defaults));
    const wire = h.broker.published[0]?.properties;
    expect(wire?.headers).toMatchObject({ inherited: 'yes', own: 1 });
    expect(wire?.headers?.traceparent).toBeTypeOf('string');
    expect(wire?.deliveryMode).toBe(2);
  });
});

describe('patching', () => {
  it('stops tracing once unpatched, and patching twice never stacks wrappers', async () => {
    h.setUp();
    h.tearDown();
    h.setUp();
    h.broker.declare(QUEUE);
    const channel = await api.open(h.loaded, h.connection);
    channel.sendToQueue?.(QUEUE, Buffer.from('x'));
    expect(h.telemetry.spans()).toHaveLength(1);
    h.tearDown();
    channel.sendToQueue?.(QUEUE, Buffer.from('y'));
    expect(h.telemetry.spans()).toHaveLength(1);
    expect(h.broker.published).toHaveLength(2);
    expect(h.broker.published[1]?.properties.headers).toEqual({});
  });

  it('does not trace an active span’s absence: a publish outside any trace starts a new one', async () => {
    h.setUp();
    const channel = await api.open(h.loaded, h.connection);
    channel.sendToQueue?.(QUEUE, Buffer.from('x'));
    expect(trace.getActiveSpan()).toBeUndefined();
    expect(h.telemetry.span(`send ${QUEUE}`).parentSpanContext).toBeUndefined();
  });
});
