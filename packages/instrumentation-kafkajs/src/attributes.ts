/**
 * Span attributes and metric labels built from kafkajs values. Pure functions of their input:
 * everything here takes `unknown`, because it reads what applications and foreign producers
 * hand to kafkajs, and must give "no attribute" rather than throw for anything unexpected.
 */

import { isUtf8 } from 'node:buffer';
import {
  Attr,
  creationIdentity,
  type ExtractedMessage,
  MessagingSystems,
  type MetricLabels,
  SEMCONV_NAMES,
  type SemconvNames,
  SpanTargets,
  setRenamed,
} from '@mqtrail/core';
import type { Attributes } from '@opentelemetry/api';
import { isObject } from './fields';

export const SYSTEM = MessagingSystems.KAFKA;

/** Names, kinds and sampling-relevant attributes of `send` and `process` spans, one per topic. */
export const sendTargets = new SpanTargets(SYSTEM, 'send', 'send');
export const processTargets = new SpanTargets(SYSTEM, 'process', 'process');

/** What mqtrail knows about the `Kafka` client a producer or consumer was created from. */
export interface ClientInfo {
  clientId?: string;
  serverAddress?: string;
  serverPort?: number;
}

/** Keys longer than this are not recorded: a span attribute is no place for a blob. */
export const MAX_KEY_BYTES = 1024;

/** `host:port`, `[v6]:port` or a bare host, as kafkajs accepts in `brokers`. */
export function parseBroker(broker: unknown): { address: string; port?: number } | undefined {
  if (typeof broker !== 'string' || broker === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(broker);
  if (bracketed?.[1] !== undefined) return withPort(bracketed[1], bracketed[2]);
  const colon = broker.lastIndexOf(':');
  // More than one colon without brackets is an IPv6 address without a port.
  if (colon < 0 || broker.indexOf(':') !== colon) return { address: broker };
  return withPort(broker.slice(0, colon), broker.slice(colon + 1));
}

function withPort(address: string, port: string | undefined): { address: string; port?: number } {
  const number = port === undefined || !/^\d{1,5}$/.test(port) ? undefined : Number(port);
  return number !== undefined && number > 0 && number < 65_536 ? { address, port: number } : { address };
}

/**
 * Client id and the first broker of a `new Kafka(config)`. Brokers given as a function are
 * discovered at connect time, so there is no configured address to report.
 */
export function clientInfo(config: unknown): ClientInfo {
  if (!isObject(config)) return {};
  const info: ClientInfo = {};
  if (typeof config.clientId === 'string' && config.clientId !== '') info.clientId = config.clientId;
  const first = Array.isArray(config.brokers) ? parseBroker(config.brokers[0]) : undefined;
  if (first !== undefined) {
    info.serverAddress = first.address;
    if (first.port !== undefined) info.serverPort = first.port;
  }
  return info;
}

/**
 * `messaging.kafka.message.key` (`kafka.message.key` since 1.45): string keys as they are, Buffer keys when they are valid UTF-8.
 * The conventions ask to leave out keys without an unambiguous string form, so binary keys
 * (and oversized ones) give nothing.
 */
export function messageKey(key: unknown): string | undefined {
  if (typeof key === 'string') return Buffer.byteLength(key) <= MAX_KEY_BYTES ? key : undefined;
  // isUtf8 + toString rather than a fatal TextDecoder: same answer, a fraction of the cost per message.
  if (key instanceof Uint8Array && key.byteLength <= MAX_KEY_BYTES && isUtf8(key)) {
    return Buffer.isBuffer(key)
      ? key.toString('utf8')
      : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8');
  }
  return undefined;
}

/** Size of a message value in bytes; undefined for a tombstone or anything not a body. */
export function bodySize(value: unknown): number | undefined {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  return undefined;
}

/** A Kafka offset (an int64 as a decimal string) as a number, when it is exactly representable. */
export function offsetNumber(offset: unknown): number | undefined {
  const number = typeof offset === 'number' ? offset : typeof offset === 'string' ? Number(offset) : Number.NaN;
  return Number.isSafeInteger(number) ? number : undefined;
}

/**
 * A partition number from kafkajs payloads, which are not consistent: the offsets kafkajs commits
 * on its own are keyed by partition as object keys, so they arrive as strings ('0').
 */
export function partitionNumber(partition: unknown): number | undefined {
  const number = typeof partition === 'string' && /^\d{1,9}$/.test(partition) ? Number(partition) : partition;
  return typeof number === 'number' && Number.isInteger(number) && number >= 0 ? number : undefined;
}

/** Kafka message timestamps are epoch milliseconds as strings; undefined when absent or garbage. */
export function timestampMs(timestamp: unknown): number | undefined {
  const ms = offsetNumber(timestamp);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/**
 * `messaging.system` (or `messaging.system.name`, or both: see `OTEL_SEMCONV_STABILITY_OPT_IN`)
 * for spans built outside core's send and consume helpers.
 */
export function systemAttributes(semconv: SemconvNames = SEMCONV_NAMES): Attributes {
  const attributes: Attributes = {};
  setRenamed(attributes, semconv.SYSTEM, SYSTEM);
  return attributes;
}

export function clientAttributes(client: ClientInfo, attributes: Attributes = {}): Attributes {
  if (client.clientId !== undefined) attributes[Attr.CLIENT_ID] = client.clientId;
  if (client.serverAddress !== undefined) attributes[Attr.SERVER_ADDRESS] = client.serverAddress;
  if (client.serverPort !== undefined) attributes[Attr.SERVER_PORT] = client.serverPort;
  return attributes;
}

export interface MessageAttributeOptions {
  captureMessageKey: boolean;
  captureBodySize: boolean;
}

/**
 * Key, tombstone and body size of one message, on `send` and `process` spans alike. Like
 * clientAttributes, it writes into the object given: spreading partial objects into one per
 * message was a visible share of the consume path's profile.
 */
function messageAttributes(
  message: Record<string, unknown>,
  options: MessageAttributeOptions,
  attributes: Attributes,
  semconv: SemconvNames,
): Attributes {
  if (options.captureMessageKey) {
    const key = messageKey(message.key);
    if (key !== undefined) setRenamed(attributes, semconv.KAFKA_MESSAGE_KEY, key);
  }
  if (message.value === null) setRenamed(attributes, semconv.KAFKA_MESSAGE_TOMBSTONE, true);
  if (options.captureBodySize) {
    const size = bodySize(message.value);
    if (size !== undefined) attributes[Attr.MESSAGE_BODY_SIZE] = size;
  }
  return attributes;
}

/**
 * Attributes of a `send` span, beyond the ones core's `startSendSpan` sets. `semconv` (here and
 * below) names the renamed attributes; the default is the process's `OTEL_SEMCONV_STABILITY_OPT_IN`.
 */
export function sendAttributes(
  client: ClientInfo,
  message: Record<string, unknown>,
  options: MessageAttributeOptions,
  semconv: SemconvNames = SEMCONV_NAMES,
): Attributes {
  const attributes = messageAttributes(message, options, clientAttributes(client), semconv);
  // A partition chosen by the caller is known now; one chosen by the partitioner only after the ack.
  if (Number.isInteger(message.partition)) attributes[Attr.DESTINATION_PARTITION_ID] = String(message.partition);
  return attributes;
}

export interface ConsumerScope {
  client: ClientInfo;
  /** The consumer group; kafkajs requires one for every consumer. */
  groupId: string;
}

/** Attributes of a per-message `process` span, beyond the ones core's `startConsumeSpan` sets. */
export function processAttributes(
  scope: ConsumerScope,
  partition: number,
  message: Record<string, unknown>,
  options: MessageAttributeOptions,
  semconv: SemconvNames = SEMCONV_NAMES,
): Attributes {
  const attributes = messageAttributes(message, options, clientAttributes(scope.client), semconv);
  attributes[Attr.CONSUMER_GROUP_NAME] = scope.groupId;
  attributes[Attr.DESTINATION_PARTITION_ID] = String(partition);
  const offset = offsetNumber(message.offset);
  if (offset !== undefined) setRenamed(attributes, semconv.KAFKA_OFFSET, offset);
  return attributes;
}

/** Attributes of the one `process` span of an `eachBatch` call. */
export function batchAttributes(
  scope: ConsumerScope,
  topic: string,
  partition: number,
  count: number,
  semconv: SemconvNames = SEMCONV_NAMES,
): Attributes {
  return {
    ...clientAttributes(scope.client),
    ...systemAttributes(semconv),
    [Attr.OPERATION_NAME]: 'process',
    [Attr.OPERATION_TYPE]: 'process',
    [Attr.DESTINATION_NAME]: topic,
    [Attr.DESTINATION_PARTITION_ID]: String(partition),
    [Attr.CONSUMER_GROUP_NAME]: scope.groupId,
    [Attr.BATCH_MESSAGE_COUNT]: count,
  };
}

/**
 * Duplicate identity of a Kafka record: its creation span id, which a replay after a rebalance or
 * a seek repeats and so does a producer's retry (same record, new offset); for a record from a
 * producer without trace context, its offset, which catches replays only. The two never look
 * alike (an offset identity has a `/`, a span id is hex digits), so they share the group's scope.
 */
export function messageIdentity(
  extracted: ExtractedMessage,
  topic: string,
  partition: number,
  offset: unknown,
): string {
  return creationIdentity(extracted) ?? `${topic}/${partition}/${String(offset)}`;
}

/** Topics whose labels one consumer scope keeps at most; a backstop, like core's label-set cache. */
const MAX_LABELLED_TOPICS = 1_000;
/** Partitions above this get fresh labels objects each time instead of a slot in an array. */
const MAX_LABELLED_PARTITION = 10_000;
const labelsByScope = new WeakMap<ConsumerScope, Map<string, MetricLabels[]>>();

/**
 * Metric labels of everything that happens to consumed messages of one partition. One object per
 * scope, topic and partition, reused for every message: core caches label sets by object identity.
 */
export function processLabels(scope: ConsumerScope, topic: string, partition: number): MetricLabels {
  let byTopic = labelsByScope.get(scope);
  if (byTopic === undefined) {
    byTopic = new Map();
    labelsByScope.set(scope, byTopic);
  }
  let byPartition = byTopic.get(topic);
  if (byPartition === undefined) {
    if (byTopic.size >= MAX_LABELLED_TOPICS) byTopic.clear();
    byPartition = [];
    byTopic.set(topic, byPartition);
  }
  const known = byPartition[partition];
  if (known !== undefined) return known;
  const labels: MetricLabels = {
    system: SYSTEM,
    operation: 'process',
    destination: topic,
    partition,
    consumerGroup: scope.groupId,
  };
  if (Number.isInteger(partition) && partition >= 0 && partition <= MAX_LABELLED_PARTITION) {
    byPartition[partition] = labels;
  }
  return labels;
}

/**
 * The partition each topic's messages went to, from a produce response (`RecordMetadata[]`).
 * kafkajs answers per topic-partition, not per message, so a topic whose messages were spread
 * over several partitions maps to `null`: which message went where is not reported.
 */
export function partitionsByTopic(metadata: unknown): Map<string, number | null> {
  const partitions = new Map<string, number | null>();
  if (!Array.isArray(metadata)) return partitions;
  for (const entry of metadata) {
    if (!isObject(entry) || typeof entry.topicName !== 'string' || !Number.isInteger(entry.partition)) continue;
    const known = partitions.get(entry.topicName);
    const partition = entry.partition as number;
    partitions.set(entry.topicName, known === undefined || known === partition ? partition : null);
  }
  return partitions;
}
