import { type SemconvMode, semconvNames } from '@mqtrail/core';
import { describe, expect, it } from 'vitest';
import {
  applicationMessageId,
  brokerTimestampMs,
  deadLetterFacts,
  deliveryAttributes,
  deliveryCount,
  messageIdScope,
  publishAttributes,
  publishDestination,
  publishLabels,
  serverFromUrl,
} from './attributes';
import type { AmqpMessage } from './types';

describe('publishDestination', () => {
  it.each([
    ['an exchange', 'shop', 'order.1.created', 'shop'],
    ['the default exchange: the queue', '', 'orders', 'orders'],
    ['garbage', 42, undefined, ''],
  ])('is %s', (_what, exchange, routingKey, expected) => {
    expect(publishDestination(exchange, routingKey)).toBe(expected);
  });
});

describe('applicationMessageId', () => {
  const message = (messageId?: unknown) => ({ fields: {}, properties: { messageId }, content: Buffer.alloc(0) });

  it('is the message id the application set, else nothing', () => {
    expect(applicationMessageId(message('order-7') as never)).toBe('order-7');
    expect(applicationMessageId(message() as never)).toBeUndefined();
    expect(applicationMessageId(message('') as never)).toBeUndefined();
    expect(applicationMessageId(message(42) as never)).toBeUndefined();
  });

  it('is checked in a scope apart from creation span ids', () => {
    expect(messageIdScope('orders')).not.toBe('orders');
  });
});

describe('publishLabels', () => {
  it('keeps one labels object per destination, temporary queues folded into one', () => {
    const labels = publishLabels('orders');
    expect(labels).toEqual({ system: 'rabbitmq', operation: 'send', destination: 'orders' });
    expect(publishLabels('orders')).toBe(labels);
    expect(publishLabels('amq.gen-abc')).toBe(publishLabels('amq.gen-xyz'));
    expect(publishLabels('amq.gen-abc').destination).toBe('(temporary)');
  });
});

describe('serverFromUrl', () => {
  it.each([
    ['amqp://app:s3cret@rabbit.internal:5673/vhost', { address: 'rabbit.internal', port: 5673 }],
    ['amqp://rabbit', { address: 'rabbit', port: 5672 }],
    ['amqps://rabbit', { address: 'rabbit', port: 5671 }],
    ['amqp://[::1]:5672', { address: '::1', port: 5672 }],
    [undefined, { address: 'localhost', port: 5672 }],
    [
      { protocol: 'amqps', hostname: 'mq', username: 'u', password: 'p' },
      { address: 'mq', port: 5671 },
    ],
    [
      { hostname: 'mq', port: 1234 },
      { address: 'mq', port: 1234 },
    ],
    ['not a url', undefined],
    [42, undefined],
  ])('reads %j', (url, expected) => {
    const server = serverFromUrl(url);
    expect(server).toEqual(expected);
    expect(JSON.stringify(server ?? {})).not.toMatch(/s3cret|app:|"u"|"p"/);
  });
});

describe('deadLetterFacts', () => {
  it('reads the latest x-death entry, strings or Buffers', () => {
    expect(
      deadLetterFacts({
        'x-death': [
          { queue: Buffer.from('orders'), reason: 'rejected', exchange: '', count: 2 },
          { queue: 'older', reason: 'expired' },
        ],
      }),
    ).toEqual({ queue: 'orders', reason: 'rejected', exchange: '', count: 2 });
  });

  it('falls back to x-last-death-* and x-first-death-*', () => {
    expect(deadLetterFacts({ 'x-last-death-queue': 'q', 'x-last-death-reason': 'maxlen' })).toEqual({
      queue: 'q',
      reason: 'maxlen',
    });
    expect(deadLetterFacts({ 'x-first-death-queue': 'q1' })).toEqual({ queue: 'q1' });
  });

  it.each([
    ['no headers', undefined],
    ['x-death not an array', { 'x-death': 'nope' }],
    ['x-death of garbage', { 'x-death': [null, 5] }],
    ['x-death without a queue', { 'x-death': [{ queue: 5 }] }],
  ])('ignores %s', (_what, headers) => {
    expect(deadLetterFacts(headers)).toBeUndefined();
  });
});

describe('deliveryCount and brokerTimestampMs', () => {
  it('accepts only non-negative integer delivery counts', () => {
    expect(deliveryCount({ 'x-delivery-count': 3 })).toBe(3);
    expect(deliveryCount({ 'x-delivery-count': '3' })).toBeUndefined();
    expect(deliveryCount({ 'x-delivery-count': -1 })).toBeUndefined();
    expect(deliveryCount(null)).toBeUndefined();
  });

  it('reads AMQP timestamps in seconds or in milliseconds', () => {
    expect(brokerTimestampMs(1_700_000_000)).toBe(1_700_000_000_000);
    expect(brokerTimestampMs(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(brokerTimestampMs(0)).toBeUndefined();
    expect(brokerTimestampMs('1')).toBeUndefined();
  });
});

describe('span attributes', () => {
  const message: AmqpMessage = {
    content: Buffer.from('hello'),
    fields: { deliveryTag: 7, redelivered: false, exchange: 'shop', routingKey: 'order.created' },
    properties: { messageId: 'm', correlationId: 'c', headers: { 'x-delivery-count': 1 } },
  };

  it('records the body size only when asked, never the body', () => {
    expect(deliveryAttributes(message, undefined, false)['messaging.message.body.size']).toBeUndefined();
    const attributes = deliveryAttributes(message, { address: 'mq', port: 5672 }, true);
    expect(attributes).toEqual({
      'server.address': 'mq',
      'server.port': 5672,
      'messaging.rabbitmq.destination.routing_key': 'order.created',
      'messaging.rabbitmq.message.delivery_tag': 7,
      'messaging.message.id': 'm',
      'messaging.message.conversation_id': 'c',
      'messaging.message.body.size': 5,
      'mqtrail.delivery_count': 1,
    });
    expect(JSON.stringify(attributes)).not.toContain('hello');
  });

  it('reads publish options defensively', () => {
    const base = {
      exchange: '',
      routingKey: 'q',
      content: 'x',
      server: undefined,
      captureBodySize: true,
      confirm: false,
    };
    expect(publishAttributes({ ...base, options: undefined })).toEqual({
      'messaging.rabbitmq.destination.routing_key': 'q',
    });
    expect(publishAttributes({ ...base, options: { messageId: 5 } as never })).toEqual({
      'messaging.rabbitmq.destination.routing_key': 'q',
    });
  });
});

describe('attribute names under OTEL_SEMCONV_STABILITY_OPT_IN', () => {
  const message: AmqpMessage = {
    content: Buffer.from('hello'),
    fields: { deliveryTag: 7, redelivered: false, exchange: 'shop', routingKey: 'order.created' },
    properties: { messageId: 'm' },
  };
  const publish = {
    exchange: 'shop',
    routingKey: 'order.created',
    options: { messageId: 'm' },
    content: Buffer.from('hello'),
    server: undefined,
    captureBodySize: false,
    confirm: false,
  };

  it.each<[SemconvMode, Record<string, unknown>, Record<string, unknown>]>([
    [
      'old',
      { 'messaging.rabbitmq.destination.routing_key': 'order.created' },
      { 'messaging.rabbitmq.message.delivery_tag': 7 },
    ],
    ['new', { 'rabbitmq.destination.routing_key': 'order.created' }, { 'rabbitmq.message.delivery_tag': 7 }],
    [
      'dup',
      {
        'messaging.rabbitmq.destination.routing_key': 'order.created',
        'rabbitmq.destination.routing_key': 'order.created',
      },
      { 'messaging.rabbitmq.message.delivery_tag': 7, 'rabbitmq.message.delivery_tag': 7 },
    ],
  ])('%s: routing key as %j, delivery tag as %j', (mode, routingKey, deliveryTag) => {
    const semconv = semconvNames(mode);
    // Names 1.45 kept (`messaging.message.id`) stay as they are in every mode.
    expect(publishAttributes(publish, semconv)).toEqual({ ...routingKey, 'messaging.message.id': 'm' });
    expect(deliveryAttributes(message, undefined, false, undefined, semconv)).toEqual({
      ...routingKey,
      ...deliveryTag,
      'messaging.message.id': 'm',
    });
  });
});
