/**
 * amqplib against the real RabbitMQ on 127.0.0.1:5672: a consumer on its own connection
 * (prefetch `prefetch`, an ack per message) drains a fresh queue while a publisher on another
 * connection publishes `messages` to it through the default exchange — on a plain channel
 * (respecting `publish() === false` backpressure by waiting for `drain`), or on a confirm channel
 * waiting for the broker's confirms after every `batch` publishes. A warm-up round of the same
 * shape runs first. The queue is deleted afterwards.
 */
import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { timedBody } from '../messages';
import type { BrokerJob, Measurements } from '../protocol';
import { destinationName, measureBrokerRun } from './names';
import { DeliverySink } from './sink';

const URL = 'amqp://guest:guest@127.0.0.1:5672';

interface Message {
  content: Buffer;
}

interface Channel {
  assertQueue(queue: string, options?: object): Promise<unknown>;
  deleteQueue(queue: string): Promise<unknown>;
  prefetch(count: number): Promise<unknown>;
  consume(queue: string, onMessage: (message: Message | null) => void, options?: object): Promise<unknown>;
  ack(message: Message): void;
  publish(exchange: string, routingKey: string, content: Buffer, options?: object): boolean;
  waitForConfirms(): Promise<void>;
  close(): Promise<void>;
  once(event: string, listener: () => void): unknown;
}

interface Connection {
  createChannel(): Promise<Channel>;
  createConfirmChannel(): Promise<Channel>;
  close(): Promise<void>;
}

export async function amqplibBroker(job: BrokerJob): Promise<Measurements> {
  const amqplib = require('amqplib') as { connect(url: string): Promise<Connection> };
  const queue = destinationName(job);
  const consumerConnection = await amqplib.connect(URL);
  const publisherConnection = await amqplib.connect(URL);
  const consumerChannel = await consumerConnection.createChannel();
  try {
    await consumerChannel.assertQueue(queue, { durable: false, autoDelete: false });
    await consumerChannel.prefetch(job.prefetch);
    const sink = new DeliverySink(job.warmup, job.messages);
    await consumerChannel.consume(
      queue,
      (message) => {
        if (message === null) return;
        sink.record(message.content);
        consumerChannel.ack(message);
      },
      { noAck: false },
    );
    const confirm = job.mode === 'confirm';
    const publisher = confirm
      ? await publisherConnection.createConfirmChannel()
      : await publisherConnection.createChannel();

    let sequence = 0;
    const publishAll = async (count: number) => {
      for (let sent = 0; sent < count; sent += job.batch) {
        const size = Math.min(job.batch, count - sent);
        let full = false;
        for (let i = 0; i < size; i++) {
          const seq = sequence++;
          const options = { headers: { 'app-id': 'bench' }, contentType: 'application/json', messageId: `m-${seq}` };
          if (!publisher.publish('', queue, timedBody(seq), options)) full = true;
        }
        if (confirm) await publisher.waitForConfirms();
        else if (full) await once(publisher as unknown as NodeJS.EventEmitter, 'drain');
        // A real publisher produces between socket events; let the consumer side of this process run.
        else await nextTurn();
      }
    };

    await publishAll(job.warmup);
    await sink.until(job.warmup, 120_000);

    const measured = await measureBrokerRun(job, sink, publishAll);
    await publisher.close().catch(() => {});
    return measured;
  } finally {
    await consumerChannel.deleteQueue(queue).catch(() => {});
    await Promise.allSettled([consumerConnection.close(), publisherConnection.close()]);
  }
}
