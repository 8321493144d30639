import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSemconvMode, type SemconvMode, semconvNames, setRenamed } from './semconv-stability';

describe('parseSemconvMode', () => {
  it.each<[string | undefined, SemconvMode]>([
    [undefined, 'old'],
    ['', 'old'],
    ['http', 'old'],
    ['messaging', 'new'],
    ['messaging/dup', 'dup'],
    // The conventions: messaging/dup wins over messaging, in either order.
    ['messaging,messaging/dup', 'dup'],
    ['messaging/dup,messaging', 'dup'],
    // Other categories are someone else's.
    ['http,messaging', 'new'],
    ['database/dup, messaging , http/dup', 'new'],
    // Typed by hand: spaces, case, empty entries.
    [' Messaging ', 'new'],
    ['MESSAGING/DUP', 'dup'],
    [',,messaging,,', 'new'],
    // Near misses are unknown tokens, not a mode.
    ['messaging/new', 'old'],
    ['messaging-dup', 'old'],
    ['messagingdup', 'old'],
    ['messaging/dup/x', 'old'],
  ])('%j → %s', (value, mode) => {
    expect(parseSemconvMode(value)).toBe(mode);
  });
});

describe('semconvNames', () => {
  it('writes the names before 1.45 by default', () => {
    const names = semconvNames('old');
    expect(names.SYSTEM).toEqual(['messaging.system']);
    expect(names.KAFKA_MESSAGE_KEY).toEqual(['messaging.kafka.message.key']);
    expect(names.KAFKA_MESSAGE_TOMBSTONE).toEqual(['messaging.kafka.message.tombstone']);
    expect(names.KAFKA_OFFSET).toEqual(['messaging.kafka.offset']);
    expect(names.RABBITMQ_ROUTING_KEY).toEqual(['messaging.rabbitmq.destination.routing_key']);
    expect(names.RABBITMQ_DELIVERY_TAG).toEqual(['messaging.rabbitmq.message.delivery_tag']);
  });

  it('writes only the 1.45 names for `messaging`', () => {
    const names = semconvNames('new');
    expect(names.SYSTEM).toEqual(['messaging.system.name']);
    expect(names.KAFKA_MESSAGE_KEY).toEqual(['kafka.message.key']);
    expect(names.KAFKA_MESSAGE_TOMBSTONE).toEqual(['kafka.message.tombstone']);
    expect(names.KAFKA_OFFSET).toEqual(['kafka.offset']);
    expect(names.RABBITMQ_ROUTING_KEY).toEqual(['rabbitmq.destination.routing_key']);
    expect(names.RABBITMQ_DELIVERY_TAG).toEqual(['rabbitmq.message.delivery_tag']);
  });

  it('writes both for `messaging/dup`, the old name first', () => {
    const names = semconvNames('dup');
    expect(names.SYSTEM).toEqual(['messaging.system', 'messaging.system.name']);
    expect(names.KAFKA_OFFSET).toEqual(['messaging.kafka.offset', 'kafka.offset']);
    expect(names.RABBITMQ_ROUTING_KEY).toEqual([
      'messaging.rabbitmq.destination.routing_key',
      'rabbitmq.destination.routing_key',
    ]);
  });

  it('cannot be changed after the fact', () => {
    const names = semconvNames('old');
    expect(Object.isFrozen(names)).toBe(true);
    expect(Object.isFrozen(names.SYSTEM)).toBe(true);
  });

  it('sets a value under each name', () => {
    const attributes = {};
    setRenamed(attributes, semconvNames('dup').SYSTEM, 'kafka');
    expect(attributes).toEqual({ 'messaging.system': 'kafka', 'messaging.system.name': 'kafka' });
  });
});

describe('the process mode', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it.each<[string | undefined, SemconvMode]>([
    [undefined, 'old'],
    ['http, messaging', 'new'],
    ['messaging/dup', 'dup'],
  ])('comes from OTEL_SEMCONV_STABILITY_OPT_IN=%j when mqtrail loads', async (value, mode) => {
    vi.stubEnv('OTEL_SEMCONV_STABILITY_OPT_IN', value);
    vi.resetModules();
    const loaded = await vi.importActual<typeof import('./semconv-stability')>('./semconv-stability');
    expect(loaded.SEMCONV_MODE).toBe(mode);
    expect(loaded.SEMCONV_NAMES).toEqual(semconvNames(mode));
    // Read once: a later change of the variable does not reach a loaded module.
    vi.stubEnv('OTEL_SEMCONV_STABILITY_OPT_IN', mode === 'dup' ? 'messaging' : 'messaging/dup');
    expect(loaded.SEMCONV_MODE).toBe(mode);
  });
});
