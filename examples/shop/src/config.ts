/** Settings every shop service reads from its environment; the demo runner sets them. */
export interface ShopConfig {
  amqpUrl: string;
  kafkaBrokers: string[];
  /** Orders placed per second. */
  orderRate: number;
  /** Fractions of orders that take each fault path (0–1). */
  faults: {
    /** payments' handler fails: the order is rejected into the dead-letter queue. */
    fail: number;
    /** payments' handler is slow. */
    slow: number;
    /** payments requeues the order once, so RabbitMQ redelivers it. */
    redeliver: number;
    /** orders publishes the same order twice. */
    duplicate: number;
    /** orders publishes to a routing key nobody binds; RabbitMQ returns it. */
    unroutable: number;
    /** orders publishes to a queue that no service consumes: the message is stranded (lost). */
    strand: number;
  };
}

function fraction(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new Error(`${name} must be a fraction between 0 and 1, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function readConfig(): ShopConfig {
  return {
    amqpUrl: process.env.SHOP_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    kafkaBrokers: (process.env.SHOP_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    orderRate: Number(process.env.SHOP_ORDER_RATE ?? 5),
    faults: {
      fail: fraction('SHOP_FAIL_RATE', 0.05),
      slow: fraction('SHOP_SLOW_RATE', 0.1),
      redeliver: fraction('SHOP_REDELIVER_RATE', 0.05),
      duplicate: fraction('SHOP_DUPLICATE_RATE', 0.03),
      unroutable: fraction('SHOP_UNROUTABLE_RATE', 0.02),
      strand: fraction('SHOP_STRAND_RATE', 0.02),
    },
  };
}
