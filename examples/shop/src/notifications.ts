/** notifications: tells customers their order ships, and operators about dead-lettered orders. */
import { trace } from '@opentelemetry/api';
import amqp from 'amqplib';
import { readConfig } from './config';
import { onStop } from './lifecycle';
import { report } from './report';
import { assertRabbitTopology, DEAD_LETTER_QUEUE, NOTIFICATIONS_QUEUE } from './topology';

async function main(): Promise<void> {
  const config = readConfig();
  const connection = await amqp.connect(config.amqpUrl);
  const channel = await connection.createChannel();
  await assertRabbitTopology(channel);

  const shipments = await channel.consume(NOTIFICATIONS_QUEUE, (message) => {
    if (message === null) return;
    const shipment = JSON.parse(message.content.toString()) as { orderId: string };
    // The handler runs inside mqtrail's process span: its trace is the order's whole chain.
    const traceId = trace.getActiveSpan()?.spanContext().traceId ?? '';
    channel.ack(message);
    report({ event: 'customer-notified', orderId: shipment.orderId, traceId });
  });
  const deadLetters = await channel.consume(DEAD_LETTER_QUEUE, (message) => {
    if (message === null) return;
    const order = JSON.parse(message.content.toString()) as { orderId: string };
    channel.ack(message);
    report({ event: 'dead-letter-seen', orderId: order.orderId });
  });
  report({ event: 'ready', service: 'notifications' });

  onStop(async () => {
    await channel.cancel(shipments.consumerTag);
    await channel.cancel(deadLetters.consumerTag);
    await channel.close();
    await connection.close();
  });
}

main().catch((error: unknown) => {
  console.error('notifications failed:', error);
  process.exitCode = 1;
});
