/**
 * kafkajs hot path: per-message cost of produce (`producer.send` of `batch` messages) and consume
 * (`eachMessage` driven by kafkajs's own Runner over a fetched batch), with the network replaced
 * as described in fakes/kafka-network.ts.
 */
import { installKafkaFakes } from '../fakes/kafka-network';
import { chainHeader, PAYLOAD, traceparent, type UpstreamSampling } from '../messages';
import type { HotOp } from '../timing';

export const HOT_TOPIC = 'bench-hot';

interface KafkaModule {
  Kafka: new (
    config: object,
  ) => {
    producer(config?: object): { connect(): Promise<void>; send(record: object): Promise<unknown> };
    consumer(config: object): { run(config: object): Promise<void> };
  };
  logLevel: { NOTHING: number };
}

export interface HotPath {
  ops: HotOp<unknown>[];
  /** Throws when the client did not deliver what went in: an instrumentation must not lose messages. */
  verify(): void;
}

/** Consumed messages as kafkajs's record-batch decoder yields them. */
function consumedMessages(first: number, count: number, sampled: UpstreamSampling): Record<string, unknown>[] {
  const now = Date.now();
  const messages: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const offset = first + i;
    messages.push({
      magicByte: 2,
      attributes: 0,
      timestamp: String(now),
      offset: String(offset),
      key: Buffer.from(`key-${offset}`),
      value: PAYLOAD,
      headers: {
        traceparent: Buffer.from(traceparent(offset, sampled(offset))),
        mqtrail: Buffer.from(chainHeader(now)),
        'app-id': Buffer.from('bench'),
      },
      isControlRecord: false,
      batchContext: { producerId: '-1', inTransaction: false, isControlBatch: false },
    });
  }
  return messages;
}

/**
 * @param sampled whether the upstream producer sampled a consumed message (its traceparent flag),
 *   by offset: the variant's own ratio (messages.ts, `upstreamSampling`).
 */
export async function kafkaHotPath(sampled: UpstreamSampling, batch: number): Promise<HotPath> {
  const fakes = installKafkaFakes();
  const { Kafka, logLevel } = require('kafkajs') as KafkaModule;
  const kafka = new Kafka({ clientId: 'mqtrail-bench', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });

  const producer = kafka.producer();
  await producer.connect();
  const outgoing = Array.from({ length: batch }, (_, i) => ({
    key: `key-${i}`,
    value: PAYLOAD,
    headers: { 'app-id': 'bench' },
  }));

  const consumer = kafka.consumer({ groupId: 'bench-group' });
  let handled = 0;
  await consumer.run({
    eachMessage: async ({ message }: { message: { offset: string } }) => {
      handled += message.offset.length > 0 ? 1 : 0;
    },
  });
  const runner = fakes.takeRunner();
  let nextOffset = 0;
  const partition = 0;

  const produce: HotOp<undefined> = {
    name: 'produce',
    step: (_chunk, _index, count) =>
      producer.send({ topic: HOT_TOPIC, messages: count === batch ? outgoing : outgoing.slice(0, count) }),
  };
  const consume: HotOp<unknown[]> = {
    name: 'consume',
    chunk: batch * 100,
    prepare: (count) => {
      const batches: unknown[] = [];
      for (let done = 0; done < count; done += batch) {
        const size = Math.min(batch, count - done);
        const messages = consumedMessages(nextOffset, size, sampled);
        nextOffset += size;
        batches.push(fakes.batch(HOT_TOPIC, partition, messages, nextOffset + 1000));
      }
      return batches;
    },
    step: (batches, index) => runner.handleBatch(batches[index / batch]),
  };
  return {
    ops: [produce, consume] as HotOp<unknown>[],
    verify() {
      if (handled !== nextOffset) throw new Error(`eachMessage ran ${handled} times for ${nextOffset} messages`);
    },
  };
}
