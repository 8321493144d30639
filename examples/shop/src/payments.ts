/**
 * payments: takes orders from RabbitMQ, charges them and announces each payment on Kafka.
 * Faults: a failing charge is rejected into the dead-letter queue; a flaky one is requeued once
 * (RabbitMQ redelivers it); some charges are slow.
 */
import amqp, { type ConsumeMessage } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { readConfig } from './config';
import { onStop, sleep } from './lifecycle';
import { report } from './report';
import { assertKafkaTopology, assertRabbitTopology, PAYMENTS_QUEUE, PAYMENTS_TOPIC } from './topology';

async function main(): Promise<void> {
  const config = readConfig();
  const kafka = new Kafka({ clientId: 'payments', brokers: config.kafkaBrokers, logLevel: logLevel.ERROR });
  await assertKafkaTopology(kafka);
  const producer = kafka.producer();
  await producer.connect();

  const connection = await amqp.connect(config.amqpUrl);
  const channel = await connection.createChannel();
  await assertRabbitTopology(channel);
  await channel.prefetch(20);

  const handle = async (message: ConsumeMessage) => {
    const order = JSON.parse(message.content.toString()) as { orderId: string; amount: number };
    if (!message.fields.redelivered && Math.random() < config.faults.redeliver) {
      report({ event: 'payment-requeued', orderId: order.orderId });
      channel.nack(message, false, true);
      return;
    }
    if (Math.random() < config.faults.slow) await sleep(200 + Math.random() * 600);
    if (Math.random() < config.faults.fail) {
      report({ event: 'payment-failed', orderId: order.orderId });
      channel.reject(message, false);
      return;
    }
    await producer.send({
      topic: PAYMENTS_TOPIC,
      messages: [{ key: order.orderId, value: JSON.stringify({ ...order, paidAt: new Date().toISOString() }) }],
    });
    channel.ack(message);
    report({ event: 'payment-completed', orderId: order.orderId });
  };

  const { consumerTag } = await channel.consume(PAYMENTS_QUEUE, (message) => {
    if (message === null) return;
    handle(message).catch((error: unknown) => {
      console.error('payments: handler error', error);
      channel.nack(message, false, false);
    });
  });
  report({ event: 'ready', service: 'payments' });

  onStop(async () => {
    await channel.cancel(consumerTag);
    await sleep(200);
    await channel.close();
    await connection.close();
    await producer.disconnect();
  });
}

main().catch((error: unknown) => {
  console.error('payments failed:', error);
  process.exitCode = 1;
});
