/**
 * Pure functions from amqplib's arguments and messages to span attributes, destinations and
 * metric labels. Nothing here touches a span, a channel or the network, so all of it is tested
 * with plain values.
 */

import {
  Attr,
  destinationLabel,
  findHeader,
  headerText,
  MessagingSystems,
  type MetricLabels,
  SEMCONV_NAMES,
  type SemconvNames,
  type SpanTarget,
  SpanTargets,
  setRenamed,
  spanTarget,
} from '@mqtrail/core';
import type { Attributes } from '@opentelemetry/api';
import type { AmqpMessage, AmqpPublishOptions } from './types';

/**
 * mqtrail's own attribute names for facts only RabbitMQ has. No convention covers them; if the
 * other instrumentations come to need the same facts, these belong in core's `Attr`.
 */
export const AmqpAttr = {
  /** `publish` returned false: amqplib buffered the message because the socket was full. */
  PUBLISH_BACKPRESSURE: 'mqtrail.rabbitmq.publish.backpressure',
  /** Why trace context was not added to a message (e.g. `header_size`). */
  PROPAGATION_SKIPPED: 'mqtrail.propagation.skipped',
  /** The publish went through a confirm channel; the span lasts until the broker's ack or nack. */
  CONFIRM_CHANNEL: 'mqtrail.rabbitmq.confirm',
  RETURNED: 'mqtrail.returned',
  RETURN_CODE: 'mqtrail.rabbitmq.return.code',
  RETURN_REASON: 'mqtrail.rabbitmq.return.reason',
  DEAD_LETTER_QUEUE: 'mqtrail.dead_letter.queue',
  DEAD_LETTER_REASON: 'mqtrail.dead_letter.reason',
  DEAD_LETTER_EXCHANGE: 'mqtrail.dead_letter.exchange',
  DEAD_LETTER_COUNT: 'mqtrail.dead_letter.count',
} as const;

export const SYSTEM = MessagingSystems.RABBITMQ;

export interface ServerInfo {
  address: string;
  port: number;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Where a publish goes, as span name and metric label: the exchange, or for the default exchange
 * (`''`, which routes by queue name) the routing key, which is then a queue name. A routing key
 * on a named exchange is never used: it can be unbounded (`order.1234.created`).
 */
export function publishDestination(exchange: unknown, routingKey: unknown): string {
  const name = text(exchange);
  return name !== '' ? name : text(routingKey);
}

export function serverAttributes(server: ServerInfo | undefined): Attributes {
  return server === undefined ? {} : { [Attr.SERVER_ADDRESS]: server.address, [Attr.SERVER_PORT]: server.port };
}

/**
 * Host and port of the broker from what `connect` was given: a URL string or amqplib's object
 * form. Credentials are never read. Undefined when it cannot be understood.
 */
export function serverFromUrl(url: unknown): ServerInfo | undefined {
  if (url === undefined || url === null || url === false || url === '') return { address: 'localhost', port: 5672 };
  if (typeof url === 'string') {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (parsed === undefined || parsed.hostname === '') return undefined;
    return { address: parsed.hostname.replace(/^\[|\]$/g, ''), port: portOf(parsed.port, parsed.protocol) };
  }
  if (typeof url === 'object') {
    const { hostname, port, protocol } = url as { hostname?: unknown; port?: unknown; protocol?: unknown };
    const address = typeof hostname === 'string' && hostname !== '' ? hostname : 'localhost';
    return { address, port: portOf(port, typeof protocol === 'string' ? `${protocol.replace(/:$/, '')}:` : 'amqp:') };
  }
  return undefined;
}

function portOf(port: unknown, protocol: string): number {
  const number = Number(port);
  if (port !== '' && port !== undefined && Number.isInteger(number) && number > 0) return number;
  return protocol === 'amqps:' ? 5671 : 5672;
}

export interface PublishFacts {
  exchange: unknown;
  routingKey: unknown;
  options: AmqpPublishOptions | undefined;
  content: unknown;
  server: ServerInfo | undefined;
  captureBodySize: boolean;
  confirm: boolean;
}

/**
 * Span attributes of one publish, besides those core's `startSendSpan` sets. `semconv` (here and
 * below) names the renamed attributes; the default is the process's `OTEL_SEMCONV_STABILITY_OPT_IN`.
 */
export function publishAttributes(facts: PublishFacts, semconv: SemconvNames = SEMCONV_NAMES): Attributes {
  const attributes: Attributes = serverAttributes(facts.server);
  const routingKey = text(facts.routingKey);
  if (routingKey !== '') setRenamed(attributes, semconv.RABBITMQ_ROUTING_KEY, routingKey);
  const options = facts.options;
  if (options !== undefined && options !== null && typeof options === 'object') {
    if (typeof options.messageId === 'string') attributes[Attr.MESSAGE_ID] = options.messageId;
    if (typeof options.correlationId === 'string') attributes[Attr.MESSAGE_CONVERSATION_ID] = options.correlationId;
  }
  if (facts.captureBodySize && Buffer.isBuffer(facts.content))
    attributes[Attr.MESSAGE_BODY_SIZE] = facts.content.length;
  if (facts.confirm) attributes[AmqpAttr.CONFIRM_CHANNEL] = true;
  return attributes;
}

/** Destinations whose publish labels are kept at most; a backstop, like core's label-set cache. */
const MAX_PUBLISH_LABELS = 1_000;
const publishLabelsByDestination = new Map<string, MetricLabels>();

/**
 * Metric labels of publishes to one destination. One object per destination (temporary queues
 * folded into one), reused for every message: core caches label sets by object identity.
 */
export function publishLabels(destination: string): MetricLabels {
  const label = destinationLabel(destination);
  let labels = publishLabelsByDestination.get(label);
  if (labels === undefined) {
    if (publishLabelsByDestination.size >= MAX_PUBLISH_LABELS) publishLabelsByDestination.clear();
    labels = { system: SYSTEM, operation: 'send', destination: label };
    publishLabelsByDestination.set(label, labels);
  }
  return labels;
}

const publishTargets = new SpanTargets(SYSTEM, 'send', 'send');

/** Name, kind and sampling-relevant attributes of the send spans to one destination, built once. */
export function publishTarget(destination: string): SpanTarget {
  return publishTargets.get(destination);
}

/** The same for the spans of the messages of one subscription (`process`) or `get` (`receive`). */
export function consumeTarget(operation: 'process' | 'receive', queue: string): SpanTarget {
  return spanTarget(SYSTEM, operation, operation, queue);
}

export function consumeLabels(operation: 'process' | 'receive', queue: string): MetricLabels {
  return { system: SYSTEM, operation, destination: queue };
}

/** Span attributes of one delivered message (consume or get). */
export function deliveryAttributes(
  message: AmqpMessage,
  server: ServerInfo | undefined,
  captureBodySize: boolean,
  count = deliveryCount(message.properties?.headers),
  semconv: SemconvNames = SEMCONV_NAMES,
) {
  const attributes: Attributes = serverAttributes(server);
  const { fields, properties } = message;
  const routingKey = text(fields?.routingKey);
  if (routingKey !== '') setRenamed(attributes, semconv.RABBITMQ_ROUTING_KEY, routingKey);
  if (typeof fields?.deliveryTag === 'number')
    setRenamed(attributes, semconv.RABBITMQ_DELIVERY_TAG, fields.deliveryTag);
  if (typeof properties?.messageId === 'string') attributes[Attr.MESSAGE_ID] = properties.messageId;
  if (typeof properties?.correlationId === 'string')
    attributes[Attr.MESSAGE_CONVERSATION_ID] = properties.correlationId;
  if (captureBodySize && Buffer.isBuffer(message.content)) attributes[Attr.MESSAGE_BODY_SIZE] = message.content.length;
  if (count !== undefined) attributes[Attr.DELIVERY_COUNT] = count;
  const deadLetter = deadLetterFacts(properties?.headers);
  if (deadLetter !== undefined) {
    attributes[AmqpAttr.DEAD_LETTER_QUEUE] = deadLetter.queue;
    if (deadLetter.reason !== undefined) attributes[AmqpAttr.DEAD_LETTER_REASON] = deadLetter.reason;
    if (deadLetter.exchange !== undefined) attributes[AmqpAttr.DEAD_LETTER_EXCHANGE] = deadLetter.exchange;
    if (deadLetter.count !== undefined) attributes[AmqpAttr.DEAD_LETTER_COUNT] = deadLetter.count;
  }
  return attributes;
}

/**
 * A header RabbitMQ itself sets (`x-death`, `x-delivery-count`, …): always this exact lower-case
 * name, so an own-property lookup. The case-insensitive scan of `findHeader` is for propagation
 * headers from foreign producers; for these it cost a scan of every header per delivered message.
 */
function brokerHeader(headers: unknown, name: string): unknown {
  if (headers === null || typeof headers !== 'object') return undefined;
  try {
    return Object.hasOwn(headers, name) ? (headers as Record<string, unknown>)[name] : undefined;
  } catch {
    // A Proxy or throwing getter: treat as absent, as findHeader does.
    return undefined;
  }
}

/**
 * How many times a quorum queue delivered this message before (`x-delivery-count`). Any value
 * that is not a non-negative integer is a foreign header and ignored.
 */
export function deliveryCount(headers: unknown): number | undefined {
  const value = brokerHeader(headers, 'x-delivery-count');
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

export interface DeadLetterFacts {
  queue: string;
  reason?: string;
  exchange?: string;
  count?: number;
}

/** The `x-last-death-*` headers, then `x-first-death-*`: names built once, not per message. */
const DEATH_HEADERS = ['x-last-death', 'x-first-death'].map((prefix) => ({
  queue: `${prefix}-queue`,
  reason: `${prefix}-reason`,
  exchange: `${prefix}-exchange`,
}));

/**
 * Where a dead-lettered message died last. RabbitMQ keeps an `x-death` array, most recent first
 * (https://www.rabbitmq.com/docs/dlx#effects), and since 3.13 also `x-last-death-*`; older
 * brokers have only `x-first-death-*`. Each value may be a string or a Buffer (AMQP longstr).
 */
export function deadLetterFacts(headers: unknown): DeadLetterFacts | undefined {
  const deaths = brokerHeader(headers, 'x-death');
  const latest = Array.isArray(deaths) ? deaths[0] : undefined;
  if (latest !== null && typeof latest === 'object' && !Buffer.isBuffer(latest)) {
    const queue = headerText(findHeader(latest, 'queue'));
    if (queue !== undefined) {
      const count = findHeader(latest, 'count');
      return compact({
        queue,
        reason: headerText(findHeader(latest, 'reason')),
        exchange: headerText(findHeader(latest, 'exchange')),
        count: typeof count === 'number' && Number.isSafeInteger(count) ? count : undefined,
      });
    }
  }
  for (const names of DEATH_HEADERS) {
    const queue = headerText(brokerHeader(headers, names.queue));
    if (queue !== undefined) {
      return compact({
        queue,
        reason: headerText(brokerHeader(headers, names.reason)),
        exchange: headerText(brokerHeader(headers, names.exchange)),
      });
    }
  }
  return undefined;
}

function compact(facts: DeadLetterFacts): DeadLetterFacts {
  const result: DeadLetterFacts = { queue: facts.queue };
  if (facts.reason !== undefined) result.reason = facts.reason;
  if (facts.exchange !== undefined) result.exchange = facts.exchange;
  if (facts.count !== undefined) result.count = facts.count;
  return result;
}

/**
 * The AMQP `timestamp` property in epoch ms. The spec says seconds, but many Node producers put
 * `Date.now()` there: a value too small to be milliseconds of this century is taken as seconds.
 */
export function brokerTimestampMs(timestamp: unknown): number | undefined {
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp <= 0) return undefined;
  return timestamp < 1e11 ? timestamp * 1000 : timestamp;
}

/**
 * The application's message id, when it set one: a delivered message's duplicate identity, checked
 * in a scope of its own (any string may be a message id, a span id too). It also catches an
 * application publishing the same message twice (two publishes, two spans); a redelivery or a
 * dead-letter round trip repeats both. Without one, the identity is the creation span id
 * (`creationIdentity`).
 */
export function applicationMessageId(message: AmqpMessage): string | undefined {
  const id = message.properties?.messageId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** The scope a queue's message ids are checked in, beside its scope for creation span ids. */
export function messageIdScope(duplicateScope: string): string {
  return `${duplicateScope} message-id`;
}
