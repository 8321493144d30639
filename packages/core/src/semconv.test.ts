import { describe, expect, it } from 'vitest';
import { destinationLabel, isTemporaryDestination, spanName, TEMPORARY_DESTINATION } from './destination';
import { errorType } from './error-type';
import { Attr, MetricName, RenamedAttr } from './semconv';

describe('span names', () => {
  it('is "{operation} {destination}"', () => {
    expect(spanName('send', 'orders')).toBe('send orders');
    expect(spanName('process', 'payments')).toBe('process payments');
  });

  it('leaves temporary and empty destinations out', () => {
    expect(spanName('process', 'amq.gen-JzTY20BRgKO-HjmUJj0wLg')).toBe('process');
    expect(spanName('send', 'amq.rabbitmq.reply-to.g1h2AA==.xyz')).toBe('send');
    expect(spanName('send', '')).toBe('send');
    expect(spanName('send', undefined)).toBe('send');
  });

  it('folds temporary destinations into one metric label', () => {
    expect(isTemporaryDestination('amq.gen-abc')).toBe(true);
    expect(isTemporaryDestination('orders')).toBe(false);
    expect(destinationLabel('amq.gen-abc')).toBe(TEMPORARY_DESTINATION);
    expect(destinationLabel('orders')).toBe('orders');
  });
});

describe('semconv names', () => {
  it('uses the messaging convention names', () => {
    expect(Attr.SYSTEM).toBe('messaging.system');
    expect(Attr.DESTINATION_NAME).toBe('messaging.destination.name');
    expect(Attr.KAFKA_MESSAGE_KEY).toBe('messaging.kafka.message.key');
    expect(MetricName.SENT_MESSAGES).toBe('messaging.client.sent.messages');
    expect(MetricName.PROCESS_DURATION).toBe('messaging.process.duration');
  });

  it('knows both names of every attribute 1.45 renamed', () => {
    expect(RenamedAttr).toEqual({
      SYSTEM: { old: 'messaging.system', new: 'messaging.system.name' },
      KAFKA_MESSAGE_KEY: { old: 'messaging.kafka.message.key', new: 'kafka.message.key' },
      KAFKA_MESSAGE_TOMBSTONE: { old: 'messaging.kafka.message.tombstone', new: 'kafka.message.tombstone' },
      KAFKA_OFFSET: { old: 'messaging.kafka.offset', new: 'kafka.offset' },
      RABBITMQ_ROUTING_KEY: {
        old: 'messaging.rabbitmq.destination.routing_key',
        new: 'rabbitmq.destination.routing_key',
      },
      RABBITMQ_DELIVERY_TAG: { old: 'messaging.rabbitmq.message.delivery_tag', new: 'rabbitmq.message.delivery_tag' },
    });
  });
});

describe('errorType', () => {
  class KafkaJSNumberOfRetriesExceeded extends Error {
    override name = 'KafkaJSNumberOfRetriesExceeded';
  }
  class PlainSubclass extends Error {}

  it('names the error class, never the message', () => {
    expect(errorType(new KafkaJSNumberOfRetriesExceeded('order 42 failed'))).toBe('KafkaJSNumberOfRetriesExceeded');
    expect(errorType(new PlainSubclass('x'))).toBe('PlainSubclass');
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    expect(errorType(new Error('x'))).toBe('Error');
  });

  it('falls back to _OTHER for values that are not errors', () => {
    for (const value of [undefined, null, 'boom', 42, {}]) expect(errorType(value)).toBe('_OTHER');
  });

  it('survives hostile thrown values', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('getter');
        },
      },
    );
    expect(errorType(hostile)).toBe('_OTHER');
  });
});
