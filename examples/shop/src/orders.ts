/**
 * orders: places orders. Each order is published to RabbitMQ inside a `place order` span, so the
 * whole chain that follows is one trace rooted here.
 */
import { randomUUID } from 'node:crypto';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import amqp from 'amqplib';
import { readConfig, type ShopConfig } from './config';
import { onStop, sleep } from './lifecycle';
import { report } from './report';
import { assertRabbitTopology, ORDER_PLACED, ORDER_PRIORITY, ORDER_UNROUTABLE, ORDERS_EXCHANGE } from './topology';

const tracer = trace.getTracer('shop-orders');

async function main(): Promise<void> {
  const config = readConfig();
  const connection = await amqp.connect(config.amqpUrl);
  // A confirm channel: the broker acknowledges each publish, and returns unroutable ones.
  const channel = await connection.createConfirmChannel();
  await assertRabbitTopology(channel);
  channel.on('return', (message) => report({ event: 'returned', orderId: String(message.properties.messageId) }));

  let running = true;
  onStop(async () => {
    running = false;
  });
  report({ event: 'ready', service: 'orders' });

  const interval = 1000 / config.orderRate;
  while (running) {
    await tracer.startActiveSpan('place order', async (span) => {
      const orderId = randomUUID();
      span.setAttribute('shop.order_id', orderId);
      try {
        const order = { orderId, amount: Math.round(Math.random() * 10_000) / 100, placedAt: new Date().toISOString() };
        const body = Buffer.from(JSON.stringify(order));
        const options = { messageId: orderId, contentType: 'application/json', mandatory: true, persistent: false };
        const fault = pickFault(config.faults);
        const routingKey =
          fault === 'unroutable' ? ORDER_UNROUTABLE : fault === 'strand' ? ORDER_PRIORITY : ORDER_PLACED;
        channel.publish(ORDERS_EXCHANGE, routingKey, body, options);
        if (fault === 'unroutable') {
          report({ event: 'unroutable-published', orderId });
        } else if (fault === 'strand') {
          report({ event: 'stranded-published', orderId });
        } else if (fault === 'duplicate') {
          // The same order, same message id, published again: what a retrying client does.
          channel.publish(ORDERS_EXCHANGE, ORDER_PLACED, body, options);
          report({ event: 'duplicate-published', orderId });
        }
        await channel.waitForConfirms();
        report({ event: 'order-placed', orderId, traceId: span.spanContext().traceId });
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
        throw error;
      } finally {
        span.end();
      }
    });
    await sleep(interval);
  }
  await channel.close();
  await connection.close();
}

/** At most one publish-side fault per order, so each is counted once. */
function pickFault(faults: ShopConfig['faults']): 'unroutable' | 'strand' | 'duplicate' | undefined {
  const roll = Math.random();
  if (roll < faults.unroutable) return 'unroutable';
  if (roll < faults.unroutable + faults.strand) return 'strand';
  if (roll < faults.unroutable + faults.strand + faults.duplicate) return 'duplicate';
  return undefined;
}

main().catch((error: unknown) => {
  console.error('orders failed:', error);
  process.exitCode = 1;
});
