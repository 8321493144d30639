import { sumOf } from '@mqtrail/test-support';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { RecordMetadata } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeConsumer, type FakeProducer, fakeKafkajs, kafkaMessage } from './test-support/fake-kafkajs';
import { setupOtel, type TestOtel } from './test-support/otel';

type Sent = { messages: { headers: Record<string, unknown> }[] };

describe('producer transactions', () => {
  let otel: TestOtel;
  let producer: FakeProducer;
  let consumer: FakeConsumer;

  beforeEach(() => {
    otel = setupOtel();
    const kafkajs = otel.patch(fakeKafkajs());
    const kafka = new kafkajs.Kafka({ clientId: 'relay', brokers: ['127.0.0.1:9092'] });
    producer = kafka.producer();
    consumer = kafka.consumer({ groupId: 'relay-group' });
  });
  afterEach(() => otel.shutdown());

  it('traces send and sendBatch inside a transaction per message, injecting into copies', async () => {
    const transaction = await producer.transaction();
    const messages = [{ value: 'a' }, { value: 'b' }];
    await transaction.send({ topic: 'orders', messages });
    await transaction.sendBatch({ topicMessages: [{ topic: 'payments', messages: [{ value: 'p' }] }] });
    await transaction.commit();
    expect(messages).toEqual([{ value: 'a' }, { value: 'b' }]);
    const sent = producer.requests[0] as Sent;
    expect(sent.messages.every((message) => typeof message.headers.traceparent === 'string')).toBe(true);
    expect(otel.spansOfKind(SpanKind.PRODUCER).map((span) => span.name)).toEqual([
      'send orders',
      'send orders',
      'send payments',
    ]);
    const [commit] = otel.spansOfKind(SpanKind.CLIENT);
    expect(commit?.name).toBe('commit_transaction');
    expect(commit?.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.client.id': 'relay' });
  });

  it('settles the consumed messages whose offsets a committed transaction carried', async () => {
    await consumer.run({ eachMessage: async () => {} });
    for (const offset of [0, 1, 2]) {
      await consumer.runConfig?.eachMessage?.({ topic: 'orders', partition: 0, message: kafkaMessage(offset) });
    }
    const transaction = await producer.transaction();
    await transaction.sendOffsets({
      consumerGroupId: 'relay-group',
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '3' }] }],
    });
    let metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.settled.messages'))).toBe(0);
    await transaction.commit();
    metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.settled.messages'), { 'mqtrail.settle.outcome': 'commit' })).toBe(3);
    const offsetsSpan = otel.spansOfKind(SpanKind.CLIENT).find((span) => span.name === 'send_offsets orders');
    expect(offsetsSpan?.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'messaging.consumer.group.name': 'relay-group',
    });
    expect(
      sumOf(metrics.get('messaging.client.operation.duration'), { 'messaging.operation.name': 'send_offsets' }),
    ).toBe(1);
  });

  it('settles nothing when the transaction aborts', async () => {
    await consumer.run({ eachMessage: async () => {} });
    await consumer.runConfig?.eachMessage?.({ topic: 'orders', partition: 0, message: kafkaMessage(0) });
    const transaction = await producer.transaction();
    await transaction.sendOffsets({
      consumerGroupId: 'relay-group',
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '1' }] }],
    });
    await transaction.abort();
    const metrics = await otel.collect();
    expect(sumOf(metrics.get('mqtrail.settled.messages'))).toBe(0);
    expect(otel.spansOfKind(SpanKind.CLIENT).map((span) => span.name)).toContain('abort_transaction');
  });

  it('records a failing commit and rethrows the same error', async () => {
    const failure = new Error('fenced');
    failure.name = 'KafkaJSProtocolError';
    producer.commitError = failure;
    const transaction = await producer.transaction();
    await expect(transaction.commit()).rejects.toBe(failure);
    const [commit] = otel.spansOfKind(SpanKind.CLIENT);
    expect(commit?.status.code).toBe(SpanStatusCode.ERROR);
    expect(commit?.attributes['error.type']).toBe('KafkaJSProtocolError');
    const metrics = await otel.collect();
    const duration = metrics.get('messaging.client.operation.duration');
    expect(
      sumOf(duration, { 'messaging.operation.name': 'commit_transaction', 'error.type': 'KafkaJSProtocolError' }),
    ).toBe(1);
  });

  it('records a failing transactional send on its spans and rethrows the same error', async () => {
    const failure = new Error('not in transaction');
    producer.answer = async (): Promise<RecordMetadata[]> => {
      throw failure;
    };
    const transaction = await producer.transaction();
    await expect(transaction.send({ topic: 'orders', messages: [{ value: 'a' }] })).rejects.toBe(failure);
    expect(otel.spansOfKind(SpanKind.PRODUCER)[0]?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('passes a transaction() rejection through unchanged', async () => {
    const failure = new Error('Must provide transactional id');
    const kafkajs = otel.patch(
      (() => {
        const module = fakeKafkajs();
        module.Kafka.prototype.producer = function producer() {
          return { transaction: () => Promise.reject(failure), send: async () => [], sendBatch: async () => [] };
        } as never;
        return module;
      })(),
    );
    const broken = new kafkajs.Kafka({ brokers: [] }).producer();
    await expect(broken.transaction()).rejects.toBe(failure);
  });
});
