import type { Channel } from 'amqplib';
import type { Kafka } from 'kafkajs';

/**
 * Where the shop's messages go:
 *   orders ──OrderPlaced──▶ [shop.orders] ─▶ payments.orders ──▶ payments
 *   payments ──PaymentCompleted──▶ Kafka shop.payments ──▶ shipping
 *   shipping ──ShipmentRequested──▶ [shop.shipments] ─▶ notifications.shipments ──▶ notifications
 *   payments' rejects ─▶ [shop.dead-letter] ─▶ payments.orders.dead ──▶ notifications
 *   priority orders ─▶ [shop.orders] ─▶ payments.priority-orders (no consumer: stranded)
 */
export const ORDERS_EXCHANGE = 'shop.orders';
export const ORDER_PLACED = 'order.placed';
/** Nobody binds this key: publishing to it with `mandatory` makes RabbitMQ return the message. */
export const ORDER_UNROUTABLE = 'order.misrouted';
/** Bound to a queue that nothing consumes: a forgotten consumer, so these orders are lost. */
export const ORDER_PRIORITY = 'order.priority';
export const PRIORITY_QUEUE = 'payments.priority-orders';
export const PAYMENTS_QUEUE = 'payments.orders';
export const DEAD_LETTER_EXCHANGE = 'shop.dead-letter';
export const DEAD_LETTER_QUEUE = 'payments.orders.dead';
export const PAYMENTS_TOPIC = 'shop.payments';
export const SHIPMENTS_EXCHANGE = 'shop.shipments';
export const SHIPMENT_REQUESTED = 'shipment.requested';
export const NOTIFICATIONS_QUEUE = 'notifications.shipments';

/** Declares every exchange and queue; idempotent, so each service calls it on start. */
export async function assertRabbitTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(ORDERS_EXCHANGE, 'topic', { durable: false });
  await channel.assertExchange(SHIPMENTS_EXCHANGE, 'topic', { durable: false });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'fanout', { durable: false });
  await channel.assertQueue(PAYMENTS_QUEUE, { durable: false, deadLetterExchange: DEAD_LETTER_EXCHANGE });
  await channel.bindQueue(PAYMENTS_QUEUE, ORDERS_EXCHANGE, ORDER_PLACED);
  await channel.assertQueue(PRIORITY_QUEUE, { durable: false });
  await channel.bindQueue(PRIORITY_QUEUE, ORDERS_EXCHANGE, ORDER_PRIORITY);
  await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: false });
  await channel.bindQueue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, '');
  await channel.assertQueue(NOTIFICATIONS_QUEUE, { durable: false });
  await channel.bindQueue(NOTIFICATIONS_QUEUE, SHIPMENTS_EXCHANGE, SHIPMENT_REQUESTED);
}

export async function assertKafkaTopology(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // payments and shipping both call this; only the first creates the topic.
    if ((await admin.listTopics()).includes(PAYMENTS_TOPIC)) return;
    await admin.createTopics({ topics: [{ topic: PAYMENTS_TOPIC, numPartitions: 3 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
