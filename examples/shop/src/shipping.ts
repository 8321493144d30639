/** shipping: reads payments from Kafka and requests a shipment on RabbitMQ for each. */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { readConfig } from './config';
import { onStop } from './lifecycle';
import { report } from './report';
import {
  assertKafkaTopology,
  assertRabbitTopology,
  PAYMENTS_TOPIC,
  SHIPMENT_REQUESTED,
  SHIPMENTS_EXCHANGE,
} from './topology';

async function main(): Promise<void> {
  const config = readConfig();
  const connection = await amqp.connect(config.amqpUrl);
  const channel = await connection.createChannel();
  await assertRabbitTopology(channel);

  const kafka = new Kafka({ clientId: 'shipping', brokers: config.kafkaBrokers, logLevel: logLevel.ERROR });
  await assertKafkaTopology(kafka);
  const consumer = kafka.consumer({ groupId: 'shipping' });
  await consumer.connect();
  await consumer.subscribe({ topic: PAYMENTS_TOPIC, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const payment = JSON.parse(String(message.value)) as { orderId: string };
      const shipment = { orderId: payment.orderId, requestedAt: new Date().toISOString() };
      channel.publish(SHIPMENTS_EXCHANGE, SHIPMENT_REQUESTED, Buffer.from(JSON.stringify(shipment)), {
        // A fresh id per shipment: a duplicate payment upstream is counted where it happened, once.
        messageId: randomUUID(),
        contentType: 'application/json',
      });
      report({ event: 'shipment-requested', orderId: payment.orderId });
    },
  });
  report({ event: 'ready', service: 'shipping' });

  onStop(async () => {
    await consumer.disconnect();
    await channel.close();
    await connection.close();
  });
}

main().catch((error: unknown) => {
  console.error('shipping failed:', error);
  process.exitCode = 1;
});
