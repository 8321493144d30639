/**
 * Randomized kafkajs headers through the instrumented consumer (`eachMessage`, and `eachBatch` with
 * `traceBatchMessage`) and producer. Whatever a record carries, the application must see exactly
 * what kafkajs delivered: its handler called once, with the payload, message and headers objects
 * kafkajs passed, nothing in them changed (mqtrail's own headers included), its result or error
 * handed back unchanged, and every span ended. A send must keep the caller's record and every user
 * header as they were.
 *
 * The seed is fixed so every run checks the same records; fast-check prints the seed and the
 * shrunk record of a failure. Set MQTRAIL_FUZZ_SEED=<integer> to explore other records.
 */
import { isDeepStrictEqual } from 'node:util';
import { CHAIN_HEADER, extractMessage } from '@mqtrail/core';
import {
  chainText,
  FUZZ,
  failed,
  followsExtract,
  snapshot,
  spelling,
  traceparentNearMisses,
  withOwnProtoKey,
} from '@mqtrail/test-support';
import fc from 'fast-check';
import type { Batch, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceBatchMessage } from './batch';
import { type FakeConsumer, type FakeProducer, kafkaBatch, kafkaMessage } from './test-support/fake-kafkajs';
import { instrumentedClients, setupOtel, type TestOtel } from './test-support/otel';

/**
 * 10,000 round trips through the instrumented fake client take one to three seconds per property
 * on the shared two-core machine (more under load): above vitest's default five-second bound.
 */
const TIMEOUT_MS = 60_000;

/** Near misses of the W3C format and valid values, and values whose trace or span id is all zeros. */
const traceparentText = traceparentNearMisses({ zeroIds: true });

const otherText = fc.oneof(
  fc.stringMatching(/^[a-z]{1,5}=[a-z0-9]{0,5}(,[a-z]{1,3}=[^,]{0,4}){0,3}$/),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

const PROPAGATION_KEYS = ['traceparent', 'tracestate', 'baggage', CHAIN_HEADER];
const key = fc.oneof(
  fc.constantFrom(...PROPAGATION_KEYS),
  fc.mixedCase(fc.constantFrom(...PROPAGATION_KEYS)),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', ''),
  fc.string({ maxLength: 10 }),
);

/** Bytes of `text`, of random binary, empty, or over every size bound. */
const bytesOf = (text: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 20, arbitrary: text.map((value) => Buffer.from(value)) },
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 40 }).map((array) => Buffer.from(array)) },
    { weight: 2, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(70_000, 'a')) },
  );

/**
 * A header value as kafkajs 2.x decodes one: `Buffer | null`, an array for a repeated key, and for
 * a key naming an inherited property the inherited value first (its decoder tests
 * `obj[key] === undefined`: `constructor` arrives as `[Object, <Buffer>]`). Strings and undefined
 * too, as a test or an interceptor may hand over.
 */
const headerValue = (text: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: bytesOf(text) },
    text,
    fc.constantFrom(null, undefined),
    fc.array(fc.oneof(bytesOf(text), fc.constant(null)), { minLength: 2, maxLength: 3 }),
    bytesOf(text).map((buffer) => [Object, buffer]),
  );

/**
 * Random headers, always with a `traceparent` and an `mqtrail` header among them (so every run
 * takes a random value of each through the consume path). kafkajs builds headers with computed
 * keys, so `__proto__` can arrive as an own key.
 */
const headers = fc
  .tuple(
    fc.dictionary(key, headerValue(fc.oneof(traceparentText, chainText, otherText)), {
      maxKeys: 5,
      noNullPrototype: true,
    }),
    fc.tuple(spelling('traceparent'), headerValue(traceparentText)),
    fc.tuple(spelling(CHAIN_HEADER), headerValue(chainText)),
    fc.option(bytesOf(otherText), { nil: undefined }),
  )
  .map(([map, ...entries]) => {
    const [traceparent, chain, proto] = entries;
    for (const [name, value] of [traceparent, chain]) map[name] = value;
    return proto === undefined ? map : withOwnProtoKey(map, proto);
  });

const message = fc
  .record({
    offset: fc.oneof(fc.nat(), fc.constant(2 ** 60)),
    headers,
    timestamp: fc.oneof(fc.nat().map(String), fc.constantFrom('-1', '0', 'NaN', '99999999999999999999')),
  })
  .map(({ offset, headers, timestamp }) => kafkaMessage(offset, headers, { timestamp }));

let otel: TestOtel;
let producer: FakeProducer;
let consumer: FakeConsumer;

beforeAll(() => {
  // A consumer hook, so recording spans build their hook arguments too.
  otel = setupOtel({ consumerHook: () => {} });
  ({ producer, consumer } = instrumentedClients(otel, 'fuzz', 'fuzz-group'));
});
afterAll(() => otel.shutdown());

/** What the application's handler saw, and what it hands back. */
function recordingHandler() {
  const calls: unknown[][] = [];
  const result = Symbol('handler result');
  const failure = new Error('handler failure');
  let fail = false;
  return {
    calls,
    result,
    failure,
    failNext(value: boolean) {
      fail = value;
    },
    async handle(...args: unknown[]) {
      calls.push(args);
      if (fail) throw failure;
      return result;
    },
  };
}

async function settle(promise: unknown): Promise<{ value?: unknown; error?: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

describe('random kafkajs headers through eachMessage', () => {
  it(
    'the handler gets exactly what kafkajs delivered, once; its result or error comes back unchanged',
    async () => {
      const handler = recordingHandler();
      await consumer.run({ eachMessage: handler.handle });
      const eachMessage = consumer.runConfig?.eachMessage;
      if (eachMessage === undefined) throw new Error('run() did not get eachMessage');
      const started = otel.counter.started;

      await fc.assert(
        fc.asyncProperty(message, fc.nat(5), fc.boolean(), async (delivered, partition, fails) => {
          handler.calls.length = 0;
          handler.failNext(fails);
          const before = snapshot(delivered);
          const { headers } = delivered;
          const payload = { topic: 'orders', partition, message: delivered, heartbeat: async () => {} };
          const exported = otel.spans().length;
          const outcome = await settle(eachMessage(payload));
          const checks = {
            'handler called once with the payload': handler.calls.length === 1 && handler.calls[0]?.[0] === payload,
            'message and headers objects kept': payload.message === delivered && delivered.headers === headers,
            'message unchanged': isDeepStrictEqual(snapshot(delivered), before),
            'result or error unchanged': fails ? outcome.error === handler.failure : outcome.value === handler.result,
            'every span ended': otel.counter.open.size === 0,
            'the span follows what extract reads': followsExtract(
              extractMessage(headers),
              otel.spans().slice(exported),
            ),
          };
          expect(failed(checks)).toEqual([]);
        }),
        FUZZ,
      );
      // Not vacuous: the messages were traced (those under an unsampled parent start no recording span).
      expect(otel.counter.started - started).toBeGreaterThan(FUZZ.numRuns / 2);
    },
    TIMEOUT_MS,
  );
});

describe('random kafkajs headers through eachBatch', () => {
  it(
    'the batch handler and each traceBatchMessage callback get exactly what kafkajs delivered, once',
    async () => {
      const handler = recordingHandler();
      const perMessage: KafkaMessage[] = [];
      await consumer.run({
        eachBatch: async (payload: { batch: Batch }) => {
          await handler.handle(payload);
          for (const each of payload.batch.messages) {
            traceBatchMessage(payload.batch, each, () => perMessage.push(each));
          }
        },
      });
      const eachBatch = consumer.runConfig?.eachBatch;
      if (eachBatch === undefined) throw new Error('run() did not get eachBatch');

      await fc.assert(
        fc.asyncProperty(fc.array(message, { maxLength: 3 }), fc.nat(5), async (messages, partition) => {
          handler.calls.length = 0;
          perMessage.length = 0;
          const batch = kafkaBatch('orders', partition, messages);
          const before = snapshot(messages);
          const payload = { batch, heartbeat: async () => {}, resolveOffset: () => {}, isRunning: () => true };
          const outcome = await settle(eachBatch(payload));
          const checks = {
            'nothing thrown': outcome.error === undefined,
            'handler called once with the payload': handler.calls.length === 1 && handler.calls[0]?.[0] === payload,
            'each message handled once, in order':
              perMessage.length === messages.length && perMessage.every((each, index) => each === messages[index]),
            'messages unchanged': batch.messages === messages && isDeepStrictEqual(snapshot(messages), before),
            'every span ended': otel.counter.open.size === 0,
          };
          expect(failed(checks)).toEqual([]);
        }),
        FUZZ,
      );
    },
    TIMEOUT_MS,
  );
});

/** Headers mqtrail may add: propagation only. */
const OURS = new Set(['traceparent', 'tracestate', 'baggage', CHAIN_HEADER]);

describe('random user headers through send', () => {
  it(
    'the caller’s record stays as it was; kafkajs gets every user header unchanged, and only propagation added',
    async () => {
      await fc.assert(
        fc.asyncProperty(headers, async (userHeaders) => {
          const record = { topic: 'orders', messages: [{ key: 'k', value: 'v', headers: userHeaders }] };
          const before = snapshot(record);
          await producer.send(record);
          const request = producer.requests.at(-1) as { messages: { headers: Record<string, unknown> }[] };
          const sent = request.messages[0]?.headers ?? {};
          // What kafkajs writes of a headers object: its own enumerable keys (Object.keys in its record encoder).
          const written = Object.keys(sent);
          const user = Object.keys(userHeaders).filter((name) => !OURS.has(name));
          const checks = {
            'the caller’s record unchanged': isDeepStrictEqual(snapshot(record), before),
            'a copy of the headers sent': sent !== userHeaders,
            'every user header sent unchanged': user.every(
              (name) => written.includes(name) && Object.is(sent[name], userHeaders[name]),
            ),
            'nothing but propagation added': written.every(
              (name) => Object.hasOwn(userHeaders, name) || OURS.has(name),
            ),
            'trace context sent': written.includes('traceparent'),
          };
          expect(failed(checks)).toEqual([]);
        }),
        FUZZ,
      );
      expect(otel.counter.open.size).toBe(0);
    },
    TIMEOUT_MS,
  );
});
