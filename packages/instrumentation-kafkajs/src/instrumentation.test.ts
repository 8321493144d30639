import { createRequire } from 'node:module';
import { SpanStatusCode } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import type * as KafkaJs from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaJsInstrumentation, SUPPORTED_VERSIONS } from './index';
import { fakeKafkajs } from './test-support/fake-kafkajs';
import { setupOtel, type TestOtel } from './test-support/otel';

// The real kafkajs 2.2.4, as CommonJS applications load it: the instrumentation patches this very
// exports object. No broker is involved: these are the paths kafkajs takes before the network.
const kafkajs = createRequire(__filename)('kafkajs') as typeof KafkaJs;
const { Kafka: OriginalKafka, logLevel } = kafkajs;
const config = { clientId: 'unit', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING };

/** A producer straight from kafkajs, bypassing the patched factory, to compare errors with. */
function unpatchedProducer(): KafkaJs.Producer {
  const factory = kafkajs.Kafka.prototype.producer;
  return Reflect.apply(isWrapped(factory) ? factory.__original : factory, new OriginalKafka(config), []);
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('KafkaJsInstrumentation on an ES module namespace', () => {
  it('patches the named Kafka export and the one on the default export', async () => {
    const otel = setupOtel();
    try {
      const commonjs = fakeKafkajs();
      // What import-in-the-middle hands the hook for a CommonJS package: named exports plus `default`.
      const namespace = otel.patch({ Kafka: commonjs.Kafka, default: commonjs });
      const config = { clientId: 'esm-app', brokers: ['broker:9092'] };
      for (const Kafka of [namespace.Kafka, namespace.default.Kafka]) {
        await new Kafka(config).producer().send({ topic: 'orders', messages: [{ value: 'a' }] });
      }
      expect(otel.spans().map((span) => span.attributes['messaging.client.id'])).toEqual(['esm-app', 'esm-app']);
    } finally {
      await otel.shutdown();
    }
  });
});

describe('KafkaJsInstrumentation on the real kafkajs module', () => {
  let otel: TestOtel;

  beforeEach(() => {
    otel = setupOtel();
    otel.patch(kafkajs);
  });
  afterEach(async () => {
    otel.unpatch(kafkajs);
    await otel.shutdown();
  });

  it('declares the supported kafkajs versions once', () => {
    expect(SUPPORTED_VERSIONS).toEqual(['>=2.0.0 <3']);
    expect(new KafkaJsInstrumentation({ enabled: false }).getModuleDefinitions()[0]?.supportedVersions).toBe(
      SUPPORTED_VERSIONS,
    );
  });

  it('patches the Kafka factories and keeps the class itself intact', () => {
    expect(isWrapped(kafkajs.Kafka.prototype.producer)).toBe(true);
    expect(isWrapped(kafkajs.Kafka.prototype.consumer)).toBe(true);
    const kafka = new kafkajs.Kafka(config);
    expect(kafka).toBeInstanceOf(OriginalKafka);
    expect(kafka).toBeInstanceOf(kafkajs.Kafka);
    class AppKafka extends kafkajs.Kafka {
      extra = 'subclass field';
    }
    const sub = new AppKafka(config);
    expect(sub).toBeInstanceOf(AppKafka);
    expect(sub.extra).toBe('subclass field');
    expect(typeof sub.producer().send).toBe('function');
    expect(kafkajs.Kafka.name).toBe(OriginalKafka.name);
    // Like the class, the export refuses to be called without `new`.
    expect(() => (kafkajs.Kafka as unknown as (c: unknown) => unknown)(config)).toThrow(TypeError);
  });

  it('unpatches everything it patched', () => {
    otel.unpatch(kafkajs);
    expect(kafkajs.Kafka).toBe(OriginalKafka);
    expect(isWrapped(kafkajs.Kafka.prototype.producer)).toBe(false);
    expect(isWrapped(kafkajs.Kafka.prototype.consumer)).toBe(false);
    otel.patch(kafkajs);
  });

  it('does not stack wrappers when patched twice', async () => {
    otel.patch(kafkajs);
    const producer = new kafkajs.Kafka(config).producer();
    await rejectionOf(producer.send({ topic: 'orders', messages: [{ value: 'a' }] }));
    expect(otel.spans()).toHaveLength(1);
  });

  it.each([
    ['without messages', { topic: 'orders' }],
    ['with messages not an array', { topic: 'orders', messages: 'nope' }],
    ['with a message without value', { topic: 'orders', messages: [{ key: 'k', headers: { a: 'b' } }] }],
    ['without topic', { messages: [{ value: 'a' }] }],
  ])('lets kafkajs reject a send %s with its own error, unchanged', async (_case, record) => {
    const expected = await rejectionOf(unpatchedProducer().send(record as KafkaJs.ProducerRecord));
    const producer = new kafkajs.Kafka(config).producer();
    const actual = await rejectionOf(producer.send(record as KafkaJs.ProducerRecord));
    expect(actual).toBeInstanceOf(Error);
    expect((actual as Error).constructor).toBe((expected as Error).constructor);
    expect((actual as Error).message).toBe((expected as Error).message);
    expect(otel.counter.started).toBe(0);
  });

  it('lets kafkajs reject a sendBatch with an invalid entry with its own error', async () => {
    const producer = new kafkajs.Kafka(config).producer();
    const error = await rejectionOf(producer.sendBatch({ topicMessages: [{ topic: 'orders' }] } as never));
    expect((error as Error).message).toBe('Invalid messages array [undefined] for topic "orders"');
    expect(otel.counter.started).toBe(0);
  });

  it('records a send kafkajs fails (disconnected producer) on the span and rethrows kafkajs error', async () => {
    const producer = new kafkajs.Kafka(config).producer();
    const error = await rejectionOf(producer.send({ topic: 'orders', messages: [{ value: 'a' }] }));
    expect(error).toBeInstanceOf(kafkajs.KafkaJSError);
    expect((error as Error).message).toBe('The producer is disconnected');
    const [span] = otel.spans();
    expect(span?.name).toBe('send orders');
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes).toMatchObject({
      'error.type': 'KafkaJSError',
      'messaging.client.id': 'unit',
      'server.address': '127.0.0.1',
      'server.port': 1,
    });
  });

  it("passes kafkajs's transaction() rejection through unchanged", async () => {
    const producer = new kafkajs.Kafka(config).producer();
    const error = await rejectionOf(producer.transaction());
    expect(error).toBeInstanceOf(kafkajs.KafkaJSNonRetriableError);
    expect((error as Error).message).toBe('Must provide transactional id for transactional producer');
  });

  it('wraps run on real consumers and leaves a missing groupId to kafkajs', () => {
    const kafka = new kafkajs.Kafka(config);
    expect(isWrapped(kafka.consumer({ groupId: 'g' }).run)).toBe(true);
    expect(() => kafka.consumer({} as KafkaJs.ConsumerConfig)).toThrow('Consumer groupId must be a non-empty string.');
  });
});
