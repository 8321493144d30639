/**
 * A kafkajs-shaped module without a network: `Kafka` with `producer()` and `consumer()` factories
 * returning plain objects with the methods the instrumentation wraps, like kafkajs 2.x does.
 * Producers record what they were asked to send and answer like a broker; consumers let the test
 * deliver messages and batches, and emit kafkajs's instrumentation events.
 */
import { EventEmitter } from 'node:events';
import type { RecordMetadata } from 'kafkajs';

export type Answer = (request: unknown) => Promise<RecordMetadata[]>;

/** Answers every topic-partition with partition 0, like a one-partition topic. */
export const ackAll: Answer = async (request) => {
  const record = request as { topic?: string; topicMessages?: { topic: string }[] };
  const topics = record.topicMessages?.map((entry) => entry.topic) ?? [record.topic ?? ''];
  return [...new Set(topics)].map((topicName) => ({ topicName, partition: 0, errorCode: 0, baseOffset: '0' }));
};

export interface FakeTransaction {
  send(record: unknown): Promise<RecordMetadata[]>;
  sendBatch(batch: unknown): Promise<RecordMetadata[]>;
  sendOffsets(offsets: unknown): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

export interface FakeProducer {
  send(record: unknown): Promise<RecordMetadata[]>;
  sendBatch(batch: unknown): Promise<RecordMetadata[]>;
  transaction(): Promise<FakeTransaction>;
  /** Every argument `send`/`sendBatch` received, as received. */
  requests: unknown[];
  /** How the "broker" answers; replace to fail or to report partitions. */
  answer: Answer;
  /** Transaction calls in order, e.g. `sendOffsets`, `commit`. */
  transactionCalls: string[];
  /** When set, transaction commits reject with it. */
  commitError: unknown;
}

export interface RunConfig {
  eachMessage?: (payload: unknown) => Promise<void>;
  eachBatch?: (payload: unknown) => Promise<void>;
  [key: string]: unknown;
}

export interface FakeConsumer {
  run(config?: unknown): Promise<void>;
  on(event: string, listener: (event: unknown) => void): () => void;
  events: { COMMIT_OFFSETS: string; END_BATCH_PROCESS: string };
  /** The config `run` received. */
  runConfig: RunConfig | undefined;
  /** Emits a kafkajs instrumentation event the way kafkajs does. */
  emit(event: string, payload: unknown): void;
}

export interface FakeKafkaConfig {
  clientId?: string;
  brokers: unknown;
}

export function fakeKafkajs() {
  class Kafka {
    readonly config: FakeKafkaConfig;
    constructor(config: FakeKafkaConfig) {
      this.config = config;
    }

    producer(): FakeProducer {
      // Like kafkajs, a transaction has its own send functions, not the producer's (wrapped) ones.
      const request = async (argument: unknown) => {
        producer.requests.push(argument);
        return producer.answer(argument);
      };
      const producer: FakeProducer = {
        requests: [],
        answer: ackAll,
        transactionCalls: [],
        commitError: undefined,
        send: request,
        sendBatch: request,
        async transaction() {
          let active = true;
          return {
            send: request,
            sendBatch: request,
            async sendOffsets() {
              producer.transactionCalls.push('sendOffsets');
            },
            async commit() {
              producer.transactionCalls.push('commit');
              if (producer.commitError !== undefined) throw producer.commitError;
              active = false;
            },
            async abort() {
              producer.transactionCalls.push('abort');
              active = false;
            },
            isActive: () => active,
          };
        },
      };
      return producer;
    }

    consumer(_options: { groupId: string }): FakeConsumer {
      const emitter = new EventEmitter();
      const consumer: FakeConsumer = {
        runConfig: undefined,
        events: { COMMIT_OFFSETS: 'consumer.commit_offsets', END_BATCH_PROCESS: 'consumer.end_batch_process' },
        async run(config) {
          consumer.runConfig = config as RunConfig;
        },
        on(event, listener) {
          emitter.on(event, listener);
          return () => emitter.off(event, listener);
        },
        emit(event, payload) {
          emitter.emit(event, { id: 0, type: event, timestamp: Date.now(), payload });
        },
      };
      return consumer;
    }
  }
  return { Kafka };
}

export type FakeKafkajs = ReturnType<typeof fakeKafkajs>;

/** A consumed message as kafkajs 2.x delivers it (a RecordBatch entry). */
export function kafkaMessage(
  offset: number,
  headers: unknown = {},
  fields: Partial<{ key: Buffer | null; value: Buffer | null; timestamp: string }> = {},
) {
  return {
    key: fields.key ?? null,
    value: fields.value === undefined ? Buffer.from(`value-${offset}`) : fields.value,
    timestamp: fields.timestamp ?? String(Date.now() - 1000),
    attributes: 0,
    offset: String(offset),
    headers,
  };
}

/** An `eachBatch` batch: kafkajs's Batch fields and methods the instrumentation and users read. */
export function kafkaBatch(topic: string, partition: number, messages: ReturnType<typeof kafkaMessage>[]) {
  return {
    topic,
    partition,
    highWatermark: String(Number(messages.at(-1)?.offset ?? 0) + 1),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => messages[0]?.offset ?? null,
    lastOffset: () => messages.at(-1)?.offset ?? '-1',
    offsetLag: () => '0',
    offsetLagLow: () => '0',
  };
}
