/**
 * kafkajs against the real broker on 127.0.0.1:9092: a consumer (eachMessage) joins its group on
 * a fresh one-partition topic, then a producer sends `messages` in `send` calls of `batch`, each
 * awaited, while the consumer drains concurrently in the same process. A warm-up round of the
 * same shape runs first. The topic and group are deleted afterwards.
 */

import { timedBody } from '../messages';
import type { BrokerJob, Measurements } from '../protocol';
import { destinationName, measureBrokerRun } from './names';
import { DeliverySink } from './sink';

const BROKERS = ['127.0.0.1:9092'];

interface Admin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  createTopics(options: object): Promise<boolean>;
  deleteTopics(options: object): Promise<void>;
  deleteGroups(groups: string[]): Promise<unknown>;
}

interface Producer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: object): Promise<unknown>;
}

interface Consumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(options: object): Promise<void>;
  run(options: object): Promise<void>;
  on(event: string, listener: () => void): void;
  events: { GROUP_JOIN: string };
}

interface KafkaModule {
  Kafka: new (
    config: object,
  ) => { admin(): Admin; producer(config?: object): Producer; consumer(config: object): Consumer };
  logLevel: { ERROR: number };
}

export async function kafkaBroker(job: BrokerJob): Promise<Measurements> {
  const { Kafka, logLevel } = require('kafkajs') as KafkaModule;
  const kafka = new Kafka({ clientId: 'mqtrail-bench', brokers: BROKERS, logLevel: logLevel.ERROR });
  const topic = destinationName(job);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: topic });
  try {
    const sink = new DeliverySink(job.warmup, job.messages);
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachMessage: async ({ message }: { message: { value: Buffer | null } }) => sink.record(message.value),
    });
    await withTimeout(joined, 60_000, 'the consumer did not join its group');

    let sequence = 0;
    const sendAll = async (count: number) => {
      for (let sent = 0; sent < count; sent += job.batch) {
        const messages = [];
        for (let i = 0; i < Math.min(job.batch, count - sent); i++) {
          const seq = sequence++;
          messages.push({ key: `key-${seq}`, value: timedBody(seq), headers: { 'app-id': 'bench' } });
        }
        await producer.send({ topic, messages });
      }
    };

    await sendAll(job.warmup);
    await sink.until(job.warmup, 120_000);

    return await measureBrokerRun(job, sink, sendAll);
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => {});
    await admin.deleteGroups([topic]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
