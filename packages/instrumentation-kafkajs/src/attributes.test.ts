import { describe, expect, it } from 'vitest';
import {
  bodySize,
  clientInfo,
  messageKey,
  offsetNumber,
  parseBroker,
  partitionNumber,
  partitionsByTopic,
  processAttributes,
  processLabels,
  sendAttributes,
  timestampMs,
} from './attributes';

describe('attributes', () => {
  it.each([
    ['kafka:9092', { address: 'kafka', port: 9092 }],
    ['10.0.0.1:19092', { address: '10.0.0.1', port: 19092 }],
    ['[::1]:9092', { address: '::1', port: 9092 }],
    ['[fe80::1]', { address: 'fe80::1' }],
    ['fe80::1', { address: 'fe80::1' }],
    ['kafka', { address: 'kafka' }],
    ['kafka:notaport', { address: 'kafka' }],
    ['kafka:99999', { address: 'kafka' }],
  ])('parses broker %s', (broker, expected) => {
    expect(parseBroker(broker)).toEqual(expected);
  });

  it('reads client id and first broker, and nothing from brokers given as a function', () => {
    expect(clientInfo({ clientId: 'shop', brokers: ['a:1', 'b:2'] })).toEqual({
      clientId: 'shop',
      serverAddress: 'a',
      serverPort: 1,
    });
    expect(clientInfo({ brokers: async () => ['a:1'] })).toEqual({});
    expect(clientInfo(undefined)).toEqual({});
    expect(clientInfo({ clientId: 42, brokers: [null] })).toEqual({});
  });

  it('keeps string and UTF-8 keys, drops binary and oversized ones', () => {
    expect(messageKey('order-1')).toBe('order-1');
    expect(messageKey(Buffer.from('ключ'))).toBe('ключ');
    expect(messageKey(Buffer.from([0xff, 0x00, 0xfe]))).toBeUndefined();
    expect(messageKey('k'.repeat(2000))).toBeUndefined();
    expect(messageKey(null)).toBeUndefined();
    expect(messageKey(42)).toBeUndefined();
  });

  it('measures bodies in bytes and treats tombstones as having none', () => {
    expect(bodySize('héllo')).toBe(6);
    expect(bodySize(Buffer.alloc(3))).toBe(3);
    expect(bodySize(null)).toBeUndefined();
  });

  it('reads offsets and timestamps only when exact', () => {
    expect(offsetNumber('42')).toBe(42);
    expect(offsetNumber('9223372036854775807')).toBeUndefined();
    expect(offsetNumber('nope')).toBeUndefined();
    expect(timestampMs('1700000000000')).toBe(1_700_000_000_000);
    expect(timestampMs('-1')).toBeUndefined();
  });

  it('reads partitions given as numbers or decimal strings', () => {
    expect(partitionNumber(3)).toBe(3);
    expect(partitionNumber('3')).toBe(3);
    expect(partitionNumber('x')).toBeUndefined();
    expect(partitionNumber(-1)).toBeUndefined();
    expect(partitionNumber(1.5)).toBeUndefined();
  });

  it('builds send and process attributes', () => {
    const options = { captureMessageKey: true, captureBodySize: true };
    expect(sendAttributes({ clientId: 'c' }, { key: 'k', value: null, partition: 2 }, options)).toEqual({
      'messaging.client.id': 'c',
      'messaging.kafka.message.key': 'k',
      'messaging.kafka.message.tombstone': true,
      'messaging.destination.partition.id': '2',
    });
    expect(
      processAttributes({ client: {}, groupId: 'g' }, 1, { key: null, value: Buffer.alloc(5), offset: '9' }, options),
    ).toEqual({
      'messaging.consumer.group.name': 'g',
      'messaging.destination.partition.id': '1',
      'messaging.kafka.offset': 9,
      'messaging.message.body.size': 5,
    });
  });

  it('maps produce responses to a partition per topic only when unambiguous', () => {
    const partitions = partitionsByTopic([
      { topicName: 'a', partition: 0 },
      { topicName: 'b', partition: 1 },
      { topicName: 'b', partition: 2 },
      { topicName: 'c' },
      null,
    ]);
    expect([...partitions]).toEqual([
      ['a', 0],
      ['b', null],
    ]);
    expect(partitionsByTopic(undefined).size).toBe(0);
  });

  it('keeps one labels object per consumer scope, topic and partition', () => {
    const scope = { client: {}, groupId: 'g' };
    const labels = processLabels(scope, 'orders', 2);
    expect(labels).toEqual({
      system: 'kafka',
      operation: 'process',
      destination: 'orders',
      partition: 2,
      consumerGroup: 'g',
    });
    expect(processLabels(scope, 'orders', 2)).toBe(labels);
    expect(processLabels(scope, 'orders', 3)).not.toBe(labels);
    expect(processLabels({ client: {}, groupId: 'g' }, 'orders', 2)).not.toBe(labels);
    expect(processLabels(scope, 'orders', -1).partition).toBe(-1);
  });
});
