/**
 * Randomized AMQP header tables through the instrumented amqplib (2.x, promise API): deliveries
 * fed to a real Channel frame by frame, as the socket would, and publishes encoded by its codec.
 * Whatever a delivery's `properties.headers` holds (any table amqplib's decoder makes, values only
 * an interceptor could put there, or no table at all), the application's consumer must be called
 * once with the message amqplib built, its properties and headers objects the very ones amqplib
 * decoded and nothing in them changed, mqtrail's own headers included; every span must end. A
 * publish must keep the caller's options and headers as they were and put every user header on
 * the wire unchanged.
 *
 * The seed is fixed so every run checks the same tables; fast-check prints the seed and the
 * shrunk table of a failure. Set MQTRAIL_FUZZ_SEED=<integer> to explore other tables.
 */
import { isDeepStrictEqual } from 'node:util';
import { CHAIN_HEADER, extractMessage } from '@mqtrail/core';
import { chainText, FUZZ, failed, followsExtract, snapshot, spelling, traceparentText } from '@mqtrail/test-support';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpChannel, APIS, harness, until, VARIANTS } from './test-support/amqplib';
import type { WireProperties } from './test-support/fake-broker';
import type { AmqpMessage } from './types';

/**
 * 10,000 deliveries through a real amqplib Channel take two to four seconds per property on the
 * shared two-core machine (more under load): above vitest's default five-second bound.
 */
const TIMEOUT_MS = 60_000;

// The newest amqplib; the version matrix is instrumentation.test.ts.
const h = harness(VARIANTS[VARIANTS.length - 1] as (typeof VARIANTS)[number]);
const api = APIS[0] as (typeof APIS)[0];
const QUEUE = 'fuzz-jobs';

const text = fc.oneof(traceparentText, chainText, fc.string({ maxLength: 30 }));

/** Keys mqtrail reads: propagation, and the broker's own dead-letter and delivery-count headers. */
const READ_KEYS = ['traceparent', 'tracestate', 'baggage', CHAIN_HEADER, 'x-death', 'x-delivery-count'];
const key = fc.oneof(
  fc.constantFrom(...READ_KEYS, 'x-first-death-queue', 'x-last-death-queue', 'x-last-death-reason'),
  fc.mixedCase(fc.constantFrom(...READ_KEYS)),
  fc.constantFrom('constructor', 'toString', 'valueOf', ''),
  fc.string({ maxLength: 10 }),
);

/**
 * What amqplib's encoder accepts: strings, Buffers, numbers (it picks the integer width or a
 * double), booleans, null, arrays, nested tables and typed values. Decoded, these become every
 * shape its decoder makes.
 */
const { encodable } = fc.letrec((tie) => ({
  encodable: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    text.map((value) => Buffer.from(value)),
    fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
    fc.integer(),
    fc.maxSafeInteger(),
    // A fraction below 2^50 goes as a double; a whole number as the narrowest integer that holds it.
    fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true, min: -(2 ** 49), max: 2 ** 49 }),
    fc.boolean(),
    fc.constant(null),
    fc.record({ '!': fc.constant('timestamp'), value: fc.nat() }),
    fc.array(tie('encodable'), { maxLength: 3 }),
    // A nested table with a `!` key is amqplib's notation for a typed value, not a table.
    fc.dictionary(
      key.filter((name) => name !== '!'),
      tie('encodable'),
      { maxKeys: 3, noNullPrototype: true },
    ),
  ),
}));
const encodableTable = fc.dictionary(key, encodable, { maxKeys: 6, noNullPrototype: true });

/** Values amqplib never decodes, which an interceptor or a test double could still hand over. */
const foreignValue = fc.oneof(
  encodable,
  fc.constantFrom(undefined, Number.NaN, -0),
  fc.date({ noInvalidDate: false }),
  fc.bigInt(),
  fc.constant(Buffer.alloc(70_000, 'a')),
  fc.record({ '!': fc.constant('decimal'), value: fc.record({ places: fc.nat(255), digits: fc.nat() }) }),
);

/** A table with a `traceparent` and an `mqtrail` header added, as a string or a byte array each. */
const withPropagation = (table: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .tuple(
      table,
      fc.tuple(
        spelling('traceparent'),
        fc.oneof(
          traceparentText,
          traceparentText.map((value) => Buffer.from(value)),
        ),
      ),
      fc.tuple(
        spelling(CHAIN_HEADER),
        fc.oneof(
          chainText,
          chainText.map((value) => Buffer.from(value)),
        ),
      ),
    )
    .map(([entries, [traceparentKey, traceparent], [chainKey, chain]]) => ({
      ...entries,
      [traceparentKey]: traceparent,
      [chainKey]: chain,
    }));

/**
 * `properties.headers` of a delivery: decoded by amqplib's codec or foreign, each with a random
 * `traceparent` and `mqtrail` value, or no table at all.
 */
const deliveredHeaders = fc.oneof(
  {
    weight: 7,
    arbitrary: withPropagation(encodableTable).map((table) => h.broker.roundTrip({ headers: table }, 1).headers),
  },
  { weight: 2, arbitrary: withPropagation(fc.dictionary(key, foreignValue, { maxKeys: 5 })) },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.constantFrom(undefined, null, 'traceparent', 42), fc.array(foreignValue, { maxLength: 3 })),
  },
);

const delivery = fc.record({
  headers: deliveredHeaders,
  redelivered: fc.boolean(),
  messageId: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
  timestamp: fc.option(fc.oneof(fc.nat(), fc.double()), { nil: undefined }),
});

let channel: AmqpChannel;

beforeAll(async () => {
  // A consume hook, so recording spans build their hook arguments too.
  h.setUp({ consumeHook: () => {}, consumeEndHook: () => {} });
  h.broker.declare(QUEUE);
  channel = await api.open(h.loaded, h.connection);
});
afterAll(async () => {
  await api.close(channel);
  h.tearDown();
});

describe('random AMQP headers through consume', () => {
  it(
    'the consumer gets the message amqplib built, once, with its properties and headers untouched',
    async () => {
      const received: AmqpMessage[] = [];
      const tag = await api.consume(channel, QUEUE, (message) => received.push(message as AmqpMessage), {
        noAck: true,
      });
      const number = (channel as unknown as { ch: number }).ch;
      const deliver = h.loaded.defs.BasicDeliver as number;
      let deliveryTag = 0;

      await fc.assert(
        fc.asyncProperty(delivery, async ({ headers, redelivered, messageId, timestamp }) => {
          received.length = 0;
          const properties: WireProperties = { headers: headers as WireProperties['headers'], messageId, timestamp };
          const before = snapshot(properties);
          const fields = { consumerTag: tag, deliveryTag: ++deliveryTag, redelivered, exchange: '', routingKey: QUEUE };
          // The frames a socket would carry: deliver, properties (as decoded), content.
          h.broker.sendContent(channel, number, deliver, fields, {
            exchange: '',
            routingKey: QUEUE,
            properties,
            content: Buffer.from('body'),
          });
          const exported = h.telemetry.spans().length;
          await until(() => received.length > 0, 'the delivery');
          const [message] = received;
          const checks = {
            'consumer called once': received.length === 1,
            'the properties and headers objects amqplib decoded':
              message?.properties === properties && properties.headers === headers,
            'properties and headers unchanged': isDeepStrictEqual(snapshot(properties), before),
            'content unchanged': message?.content.toString() === 'body',
            'every span ended': h.telemetry.openSpans() === 0,
            'the span follows what extract reads': followsExtract(
              extractMessage(headers),
              h.telemetry.spans().slice(exported),
            ),
          };
          expect(failed(checks)).toEqual([]);
        }),
        // One run in ten delivers no table: these take the others past 10,000 propagation values.
        { ...FUZZ, numRuns: 12_000 },
      );
      // Not vacuous: the deliveries were traced.
      expect(h.telemetry.spans().length).toBeGreaterThan(FUZZ.numRuns / 2);
    },
    TIMEOUT_MS,
  );
});

/** Headers mqtrail may add: propagation only. */
const OURS = new Set(['traceparent', 'tracestate', 'baggage', CHAIN_HEADER]);

describe('random AMQP headers through publish', () => {
  it(
    'the caller’s options stay as they were; every user header goes on the wire unchanged, and only propagation is added',
    () => {
      fc.assert(
        fc.property(encodableTable, (userHeaders) => {
          const options = { headers: userHeaders, messageId: 'm' };
          const before = snapshot(options);
          // An exchange without bindings: the publish goes through amqplib's encoder and is dropped.
          channel.publish?.('fuzz-nowhere', 'rk', Buffer.from('body'), options);
          const wire = h.broker.published.at(-1)?.properties.headers ?? {};
          const expected = h.broker.roundTrip({ headers: userHeaders }, 1).headers ?? {};
          const user = Object.keys(expected).filter((name) => !OURS.has(name));
          const checks = {
            'the caller’s options unchanged': isDeepStrictEqual(snapshot(options), before),
            'every user header on the wire unchanged': user.every((name) =>
              isDeepStrictEqual(wire[name], expected[name]),
            ),
            'nothing but propagation added': Object.keys(wire).every(
              (name) => Object.hasOwn(expected, name) || OURS.has(name),
            ),
            'trace context sent': typeof wire.traceparent === 'string',
          };
          expect(failed(checks)).toEqual([]);
        }),
        FUZZ,
      );
      expect(h.telemetry.openSpans()).toBe(0);
    },
    TIMEOUT_MS,
  );
});
