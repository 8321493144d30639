import { RenamedAttr, type SemconvMode, semconvNames } from '@mqtrail/core';
import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  batchAttributes,
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
  systemAttributes,
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

describe('attribute names under OTEL_SEMCONV_STABILITY_OPT_IN', () => {
  const options = { captureMessageKey: true, captureBodySize: false };
  const scope = { client: {}, groupId: 'g' };
  const message = { key: 'k', value: null, offset: '9' };
  const renamedNames = new Set<string>(Object.values(RenamedAttr).flatMap((names) => [names.old, names.new]));
  /** The attributes of a span that 1.45 renamed, under whichever names they were written. */
  const renamedOf = (attributes: Attributes) =>
    Object.fromEntries(Object.entries(attributes).filter(([key]) => renamedNames.has(key)));

  it.each<[SemconvMode, (old: string, since: string) => string[]]>([
    ['old', (old) => [old]],
    ['new', (_old, since) => [since]],
    ['dup', (old, since) => [old, since]],
  ])('%s', (mode, namesOf) => {
    const semconv = semconvNames(mode);
    const under = (old: string, since: string, value: unknown) =>
      Object.fromEntries(namesOf(old, since).map((name) => [name, value]));
    const system = under('messaging.system', 'messaging.system.name', 'kafka');
    const key = under('messaging.kafka.message.key', 'kafka.message.key', 'k');
    const tombstone = under('messaging.kafka.message.tombstone', 'kafka.message.tombstone', true);
    const offset = under('messaging.kafka.offset', 'kafka.offset', 9);

    expect(renamedOf(sendAttributes({}, message, options, semconv))).toEqual({ ...key, ...tombstone });
    expect(renamedOf(processAttributes(scope, 0, message, options, semconv))).toEqual({
      ...key,
      ...tombstone,
      ...offset,
    });
    expect(renamedOf(batchAttributes(scope, 'orders', 0, 2, semconv))).toEqual(system);
    expect(systemAttributes(semconv)).toEqual(system);
    // What 1.45 did not rename stays as it was in every mode.
    expect(batchAttributes(scope, 'orders', 0, 2, semconv)).toMatchObject({
      'messaging.destination.name': 'orders',
      'messaging.consumer.group.name': 'g',
      'messaging.batch.message_count': 2,
    });
  });
});
