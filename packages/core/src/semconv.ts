/**
 * Names from the OpenTelemetry messaging semantic conventions that mqtrail emits, in one place.
 *
 * The incubating entry point is recommended to be pinned to an exact version, which this package
 * does. Where 1.45 renamed an attribute (`messaging.system` → `messaging.system.name`,
 * `messaging.kafka.*` → `kafka.*`, `messaging.rabbitmq.*` → `rabbitmq.*`) both names are in
 * `RenamedAttr`; which of them a process writes is chosen once by `OTEL_SEMCONV_STABILITY_OPT_IN`
 * (see semconv-stability.ts).
 */
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import {
  ATTR_KAFKA_MESSAGE_KEY,
  ATTR_KAFKA_MESSAGE_TOMBSTONE,
  ATTR_KAFKA_OFFSET,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_DESTINATION_TEMPORARY,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
  ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
  ATTR_MESSAGING_SYSTEM,
  ATTR_MESSAGING_SYSTEM_NAME,
  ATTR_OPENTRACING_REF_TYPE,
  ATTR_RABBITMQ_DESTINATION_ROUTING_KEY,
  ATTR_RABBITMQ_MESSAGE_DELIVERY_TAG,
  MESSAGING_SYSTEM_VALUE_KAFKA,
  MESSAGING_SYSTEM_VALUE_RABBITMQ,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
  OPENTRACING_REF_TYPE_VALUE_CHILD_OF,
} from '@opentelemetry/semantic-conventions/incubating';

/** Attributes of a link that repeats the span's parent: keeps it a CHILD_OF edge in Jaeger. */
export const CHILD_OF_LINK = { [ATTR_OPENTRACING_REF_TYPE]: OPENTRACING_REF_TYPE_VALUE_CHILD_OF } as const;

/**
 * The attributes 1.45 renamed, each under the name before and since. Nothing else mqtrail writes
 * was renamed. Write them through `semconvNames(...)`/`SEMCONV_NAMES`, which holds the names the
 * process's opt-in asks for; read them (CLI, dashboards) under either name.
 */
export const RenamedAttr = {
  SYSTEM: { old: ATTR_MESSAGING_SYSTEM, new: ATTR_MESSAGING_SYSTEM_NAME },
  KAFKA_MESSAGE_KEY: { old: ATTR_MESSAGING_KAFKA_MESSAGE_KEY, new: ATTR_KAFKA_MESSAGE_KEY },
  KAFKA_MESSAGE_TOMBSTONE: { old: ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE, new: ATTR_KAFKA_MESSAGE_TOMBSTONE },
  KAFKA_OFFSET: { old: ATTR_MESSAGING_KAFKA_OFFSET, new: ATTR_KAFKA_OFFSET },
  RABBITMQ_ROUTING_KEY: {
    old: ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
    new: ATTR_RABBITMQ_DESTINATION_ROUTING_KEY,
  },
  RABBITMQ_DELIVERY_TAG: { old: ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG, new: ATTR_RABBITMQ_MESSAGE_DELIVERY_TAG },
} as const;

export type RenamedAttribute = keyof typeof RenamedAttr;

export const Attr = {
  /** @deprecated Renamed in 1.45: write through `SEMCONV_NAMES`, read both names of `RenamedAttr`. */
  SYSTEM: ATTR_MESSAGING_SYSTEM,
  OPERATION_NAME: ATTR_MESSAGING_OPERATION_NAME,
  OPERATION_TYPE: ATTR_MESSAGING_OPERATION_TYPE,
  DESTINATION_NAME: ATTR_MESSAGING_DESTINATION_NAME,
  DESTINATION_TEMPORARY: ATTR_MESSAGING_DESTINATION_TEMPORARY,
  DESTINATION_PARTITION_ID: ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  CONSUMER_GROUP_NAME: ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  CLIENT_ID: ATTR_MESSAGING_CLIENT_ID,
  BATCH_MESSAGE_COUNT: ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  MESSAGE_ID: ATTR_MESSAGING_MESSAGE_ID,
  MESSAGE_CONVERSATION_ID: ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  MESSAGE_BODY_SIZE: ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  /** @deprecated Renamed in 1.45: write through `SEMCONV_NAMES`, read both names of `RenamedAttr`. */
  KAFKA_MESSAGE_KEY: ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  /** @deprecated Renamed in 1.45: write through `SEMCONV_NAMES`, read both names of `RenamedAttr`. */
  KAFKA_MESSAGE_TOMBSTONE: ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE,
  /** @deprecated Renamed in 1.45: write through `SEMCONV_NAMES`, read both names of `RenamedAttr`. */
  KAFKA_OFFSET: ATTR_MESSAGING_KAFKA_OFFSET,
  /** @deprecated Renamed in 1.45: write through `SEMCONV_NAMES`, read both names of `RenamedAttr`. */
  RABBITMQ_ROUTING_KEY: ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
  /** @deprecated Renamed in 1.45: write through `SEMCONV_NAMES`, read both names of `RenamedAttr`. */
  RABBITMQ_DELIVERY_TAG: ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
  SERVER_ADDRESS: ATTR_SERVER_ADDRESS,
  SERVER_PORT: ATTR_SERVER_PORT,
  ERROR_TYPE: ATTR_ERROR_TYPE,
  // mqtrail's own, under its prefix: no convention covers consumption-chain facts.
  SETTLE_OUTCOME: 'mqtrail.settle.outcome',
  CHAIN_HOPS: 'mqtrail.chain.hops',
  CHAIN_ORIGIN_TIME: 'mqtrail.chain.origin_time',
  REDELIVERED: 'mqtrail.redelivered',
  DELIVERY_COUNT: 'mqtrail.delivery_count',
  DUPLICATE: 'mqtrail.duplicate',
} as const;

export const MetricName = {
  SENT_MESSAGES: METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  CONSUMED_MESSAGES: METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  OPERATION_DURATION: METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  PROCESS_DURATION: METRIC_MESSAGING_PROCESS_DURATION,
  DELIVERY_LATENCY: 'mqtrail.delivery.latency',
  CHAIN_LATENCY: 'mqtrail.chain.latency',
  SETTLED_MESSAGES: 'mqtrail.settled.messages',
  REDELIVERED_MESSAGES: 'mqtrail.redelivered.messages',
  DUPLICATE_MESSAGES: 'mqtrail.duplicate.messages',
  RETURNED_MESSAGES: 'mqtrail.returned.messages',
  KAFKA_CONSUMER_LAG: 'mqtrail.kafka.consumer.lag',
} as const;

export type MessagingSystem = typeof MESSAGING_SYSTEM_VALUE_KAFKA | typeof MESSAGING_SYSTEM_VALUE_RABBITMQ;
export const MessagingSystems = {
  KAFKA: MESSAGING_SYSTEM_VALUE_KAFKA,
  RABBITMQ: MESSAGING_SYSTEM_VALUE_RABBITMQ,
} as const;

/** `messaging.operation.type` values. */
export type OperationType = 'create' | 'send' | 'receive' | 'process' | 'settle';

/** How a consumed message ended: a closed set so metric labels stay bounded. */
export type SettleOutcome =
  | 'ack'
  | 'requeue'
  | 'drop'
  | 'dead-letter'
  | 'commit'
  | 'auto'
  | 'closed'
  | 'timeout'
  | 'error';
