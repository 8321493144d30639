import { ms, TraceBuilder } from './traces';

/**
 * The demo's shape: an HTTP request publishes an order to RabbitMQ; billing consumes it and sends
 * a payment to Kafka, which shipping consumes 5 s later; an audit consumer drops its copy.
 */
export function shopTrace() {
  const trace = new TraceBuilder();
  const http = trace.span({ service: 'api', name: 'POST /orders', at: 0, duration: ms(4) });
  const order = trace.send({
    service: 'api',
    destination: 'orders',
    at: ms(1),
    parent: http,
    routingKey: 'order.created',
    messageId: 'm-1',
    correlationId: 'c-1',
  });
  const billing = trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [order],
    at: ms(13),
    duration: ms(40),
    outcome: 'ack',
    hops: 1,
  });
  const payment = trace.send({
    service: 'billing',
    destination: 'payments',
    system: 'kafka',
    at: ms(30),
    parent: billing,
    partition: '0',
    key: 'o-1',
  });
  const shipping = trace.consume({
    service: 'shipping',
    destination: 'payments',
    system: 'kafka',
    messages: [payment],
    at: ms(5_130),
    duration: ms(3),
    consumerGroup: 'ship',
    partition: '0',
    offset: 7,
    hops: 2,
  });
  const audit = trace.consume({
    service: 'audit',
    destination: 'orders-audit',
    messages: [order],
    at: ms(11),
    duration: ms(2),
    outcome: 'drop',
    redelivered: true,
    error: 'ValidationError',
  });
  return { trace: trace.build(), ids: { http, order, billing, payment, shipping, audit } };
}
