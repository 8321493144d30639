/**
 * The `shape` variant's span content: what mqtrail's spans carry on the bench's workloads, given
 * to the SDK the cheapest way it takes it, by the floor's wrappers (floor.ts) and nothing else.
 * It answers "what does mqtrail's span alone cost?": the messaging conventions' required and
 * recommended attributes (contrib writes fewer, under the names before 1.x), the link to the
 * creation context, the chain hop count, and on RabbitMQ how the message was settled. Whatever
 * mqtrail does besides (chain header, duplicate check, settle tracking, metrics, guards) is not
 * here, so a target this variant misses cannot be met without changing what the spans show.
 *
 * Names are those of the default semconv mode (no `OTEL_SEMCONV_STABILITY_OPT_IN`). The same
 * start/after split as mqtrail's: the sampling-relevant attributes and the link at the start, the
 * rest after it with one `setAttributes` (the SDK validates start attributes twice).
 * span-sample.ts prints a variant's spans; its test holds this content to mqtrail's.
 */
import { type Attributes, type Span, SpanKind, type SpanOptions, trace } from '@opentelemetry/api';
import type { MessageFacts, SpanContent } from './floor';

const CHILD_OF: Attributes = Object.freeze({ 'opentracing.ref_type': 'child_of' });
const SETTLED: Attributes = Object.freeze({ 'mqtrail.settle.outcome': 'ack' });

function target(facts: MessageFacts, operation: 'send' | 'process'): Attributes {
  return {
    'messaging.operation.name': operation,
    'messaging.operation.type': operation,
    'messaging.destination.name': facts.destination,
    'messaging.system': facts.system,
  };
}

/** The broker a kafkajs client names first, as `server.address` and `server.port`. */
function kafkaServer(broker: unknown): Attributes {
  if (typeof broker !== 'string') return {};
  const colon = broker.lastIndexOf(':');
  return { 'server.address': broker.slice(0, colon), 'server.port': Number(broker.slice(colon + 1)) };
}

/** The broker of an amqplib channel, as its socket has it. */
function amqpServer(channel: object | undefined): Attributes {
  const socket = (channel as { connection?: { stream?: { remoteAddress?: unknown; remotePort?: unknown } } })
    ?.connection?.stream;
  const address = socket?.remoteAddress;
  const port = socket?.remotePort;
  return typeof address === 'string' && typeof port === 'number'
    ? { 'server.address': address, 'server.port': port }
    : {};
}

/**
 * The attributes a message's client gives it (kafkajs: client id and broker; amqplib: the broker),
 * found once per producer, consumer or channel, as mqtrail finds them once per client.
 */
const clientAttributesOf = new WeakMap<object, Attributes>();

function clientAttributes(facts: MessageFacts): Attributes {
  const owner = facts.channel ?? facts.client;
  let attributes = clientAttributesOf.get(owner);
  if (attributes === undefined) {
    attributes = Object.freeze(
      facts.system === 'kafka'
        ? { 'messaging.client.id': String(facts.client.clientId), ...kafkaServer(facts.client.broker) }
        : amqpServer(facts.channel),
    );
    clientAttributesOf.set(owner, attributes);
  }
  return attributes;
}

function kafkaMessage(facts: MessageFacts): Attributes {
  const { key } = facts.message as { key?: unknown };
  const attributes: Attributes = { ...clientAttributes(facts) };
  if (key !== undefined && key !== null) attributes['messaging.kafka.message.key'] = String(key);
  return attributes;
}

interface AmqpPublishOptions {
  messageId?: unknown;
}

interface AmqpDelivery {
  fields: { routingKey?: unknown; deliveryTag?: unknown };
  properties: { messageId?: unknown };
}

function sendAttributes(facts: MessageFacts): Attributes {
  if (facts.system === 'kafka') return kafkaMessage(facts);
  const attributes: Attributes = { ...clientAttributes(facts) };
  if (facts.routingKey) attributes['messaging.rabbitmq.destination.routing_key'] = facts.routingKey;
  const { messageId } = (facts.message ?? {}) as AmqpPublishOptions;
  if (typeof messageId === 'string') attributes['messaging.message.id'] = messageId;
  if (facts.confirm) attributes['mqtrail.rabbitmq.confirm'] = true;
  return attributes;
}

function processAttributes(facts: MessageFacts): Attributes {
  if (facts.system === 'kafka') {
    const { offset } = facts.message as { offset?: unknown };
    return {
      'mqtrail.chain.hops': 1,
      ...kafkaMessage(facts),
      'messaging.consumer.group.name': String(facts.client.groupId),
      'messaging.destination.partition.id': String(facts.partition),
      'messaging.kafka.offset': Number(offset),
    };
  }
  const { fields, properties } = facts.message as AmqpDelivery;
  const attributes: Attributes = { 'mqtrail.chain.hops': 1, ...clientAttributes(facts) };
  if (fields.routingKey) attributes['messaging.rabbitmq.destination.routing_key'] = String(fields.routingKey);
  if (typeof fields.deliveryTag === 'number')
    attributes['messaging.rabbitmq.message.delivery_tag'] = fields.deliveryTag;
  if (typeof properties.messageId === 'string') attributes['messaging.message.id'] = properties.messageId;
  return attributes;
}

export const MQTRAIL_SHAPE: SpanContent = {
  send: (facts) => ({ kind: SpanKind.PRODUCER, attributes: target(facts, 'send') }),
  sendRecording: (span, facts) => {
    span.setAttributes(sendAttributes(facts));
  },
  process: (facts, parent): SpanOptions => {
    const creation = trace.getSpanContext(parent);
    return {
      kind: SpanKind.CONSUMER,
      attributes: target(facts, 'process'),
      links: creation === undefined ? undefined : [{ context: creation, attributes: CHILD_OF }],
    };
  },
  processRecording: (span: Span, facts) => {
    span.setAttributes(processAttributes(facts));
  },
  processEnd: (span, facts) => {
    if (facts.system === 'rabbitmq') recordAck(span);
  },
};

/**
 * mqtrail ends a RabbitMQ delivery's span when it is settled, with the outcome as an attribute and
 * (`event`, by default) as an event; the floor's span ends when the handler, which acks, returns.
 */
export function recordAck(span: Span, event = true): void {
  span.setAttribute('mqtrail.settle.outcome', 'ack');
  if (event) span.addEvent('settle ack', SETTLED);
}
