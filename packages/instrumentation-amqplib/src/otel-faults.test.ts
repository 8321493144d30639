/**
 * Instrumentation never throws into the application (design: "Rules that hold everywhere"; issue
 * 15, finding 2): whatever part of OpenTelemetry throws, every entry point mqtrail patches in
 * amqplib behaves exactly as without mqtrail, on every supported version and both APIs. Each
 * scenario drives real amqplib channels against the FakeBroker as an application would and returns
 * what the application saw; that must equal what the uninstrumented client gives.
 */
import { createFaultyOtel, OTEL_FAULTS, type OtelFault } from '@mqtrail/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { AmqplibInstrumentation } from './instrumentation';
import { type AmqpChannel, APIS, type Api, type Harness, harness, until, VARIANTS } from './test-support/amqplib';
import { createTelemetry } from './test-support/otel';
import type { AmqpMessage } from './types';

const QUEUE = 'jobs';
const SAMPLED_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
/** Headers mqtrail adds on the way out: what the application did not send itself. */
const ADDED_HEADERS = new Set(['traceparent', 'tracestate', 'baggage', 'mqtrail']);

function ownHeaders(headers: unknown): unknown {
  if (headers === null || typeof headers !== 'object') return headers;
  const own = Object.entries(headers).filter(([name]) => !ADDED_HEADERS.has(name));
  return own.length === 0 ? undefined : Object.fromEntries(own);
}

/** A delivered or published message as the application (or the broker) sees it, without mqtrail's headers. */
function seen(message: { content: Buffer; fields?: object; properties: { headers?: unknown } }): unknown {
  return JSON.parse(
    JSON.stringify({
      content: message.content.toString(),
      fields: message.fields,
      properties: { ...message.properties, headers: ownHeaders(message.properties.headers) },
    }),
  );
}

/** What a channel method returned: amqplib's callback API returns the channel itself from some. */
function returned(value: unknown, channel: AmqpChannel): unknown {
  if (value === channel) return 'the channel';
  return value !== null && typeof value === 'object' ? Object.prototype.toString.call(value) : value;
}

function errorText(error: unknown): string | null {
  return error === null || error === undefined ? null : String(error);
}

/** Messages waiting in the queue as other producers sent them: traced by a sampled producer, untraced, redelivered. */
function enqueueDeliveries(h: Harness): void {
  h.broker.inject(QUEUE, { content: Buffer.from('traced'), properties: { headers: { traceparent: SAMPLED_PARENT } } });
  h.broker.inject(QUEUE, { content: Buffer.from('plain'), properties: { headers: { app: 2 } } });
  h.broker.inject(QUEUE, {
    content: Buffer.from('again'),
    properties: { headers: { traceparent: SAMPLED_PARENT } },
    redelivered: true,
  });
}

/** Consumes the three `enqueueDeliveries` messages; the handler keeps them. */
async function consumeThree(env: Env, options: object = {}) {
  enqueueDeliveries(env.h);
  const channel = await env.api.open(env.h.loaded, env.h.connection);
  const messages: AmqpMessage[] = [];
  await env.api.consume(channel, QUEUE, (message) => message !== null && messages.push(message), options);
  await until(() => messages.length === 3, 'three deliveries');
  return { channel, messages };
}

function waitForConfirms(api: Api, channel: AmqpChannel): Promise<string | null> {
  return new Promise((resolve) => {
    const done = (error: unknown) => resolve(errorText(error));
    const waited = channel.waitForConfirms?.(done);
    if (api.name === 'promise') (waited as Promise<void>).then(() => done(null), done);
  });
}

interface Env {
  api: Api;
  h: Harness;
}

interface Scenario {
  name: string;
  /** Faults the scenario reaches: each one must actually be thrown while the scenario runs. */
  reaches: OtelFault[];
  run(env: Env): Promise<unknown>;
}

const CONSUME: OtelFault[] = [
  'tracer.startSpan',
  'context.active',
  'context.with',
  'propagator.extract',
  'span.setAttribute',
  'span.end',
  'histogram.record',
];
const REJECT: OtelFault[] = [...CONSUME, 'span.setStatus'];
const CLOSE: OtelFault[] = [...CONSUME, 'span.setStatus', 'span.recordException'];
const PUBLISH: OtelFault[] = [
  'tracer.startSpan',
  'context.active',
  'propagator.inject',
  'span.end',
  'histogram.record',
];
const CONFIRM_FAILED: OtelFault[] = [...PUBLISH, 'span.setAttribute', 'span.setStatus', 'span.recordException'];

const SCENARIOS: Scenario[] = [
  {
    name: 'consume, then ack',
    reaches: CONSUME,
    async run(env) {
      const { channel, messages } = await consumeThree(env);
      const acked = messages.map((message) => returned(channel.ack?.(message), channel));
      return { messages: messages.map(seen), acked, settled: env.h.broker.settlements };
    },
  },
  {
    name: 'consume, then nack and reject',
    reaches: REJECT,
    async run(env) {
      const { channel, messages } = await consumeThree(env);
      const [first, second, third] = messages;
      const answers = [
        channel.nack?.(first, false, true),
        channel.nack?.(second, false, false),
        channel.reject?.(third, false),
      ].map((answer) => returned(answer, channel));
      return { messages: messages.map(seen), answers, settled: env.h.broker.settlements };
    },
  },
  {
    name: 'consume, then ackAll',
    reaches: CONSUME,
    async run(env) {
      const { channel, messages } = await consumeThree(env);
      return {
        messages: messages.map(seen),
        answer: returned(channel.ackAll?.(), channel),
        settled: env.h.broker.settlements,
      };
    },
  },
  {
    name: 'consume, then nackAll',
    reaches: REJECT,
    async run(env) {
      const { channel, messages } = await consumeThree(env);
      return {
        messages: messages.map(seen),
        answer: returned(channel.nackAll?.(false), channel),
        settled: env.h.broker.settlements,
      };
    },
  },
  {
    name: 'consume with noAck',
    reaches: CONSUME,
    async run(env) {
      const { messages } = await consumeThree(env, { noAck: true });
      return { messages: messages.map(seen), settled: env.h.broker.settlements };
    },
  },
  {
    name: 'get, then ack; get from an empty queue',
    reaches: CONSUME.filter((fault) => fault !== 'context.with'),
    async run(env) {
      enqueueDeliveries(env.h);
      const channel = await env.api.open(env.h.loaded, env.h.connection);
      const got: (AmqpMessage | false)[] = [];
      for (let i = 0; i < 4; i++) got.push(await env.api.get(channel, QUEUE));
      const acked = got.map((message) => (message === false ? 'empty' : returned(channel.ack?.(message), channel)));
      return {
        got: got.map((message) => (message === false ? false : seen(message))),
        acked,
        settled: env.h.broker.settlements,
      };
    },
  },
  {
    name: 'close a channel with unsettled deliveries',
    reaches: CLOSE,
    async run(env) {
      const { channel, messages } = await consumeThree(env);
      await env.api.close(channel);
      return { messages: messages.map(seen), settled: env.h.broker.settlements };
    },
  },
  {
    name: 'the broker closes a channel with unsettled deliveries',
    reaches: CLOSE,
    async run(env) {
      const { channel, messages } = await consumeThree(env);
      const errors: string[] = [];
      channel.on('error', (error: unknown) => errors.push(String(error)));
      env.h.connection.closeChannelFromBroker(channel);
      await until(() => errors.length > 0, 'the channel error');
      return { messages: messages.map(seen), errors };
    },
  },
  {
    name: 'publish and sendToQueue',
    reaches: PUBLISH,
    async run(env) {
      env.h.broker.declare(QUEUE);
      const channel = await env.api.open(env.h.loaded, env.h.connection);
      const written = [
        channel.publish?.('', QUEUE, Buffer.from('a'), { headers: { app: 1 }, messageId: 'm-a' }),
        channel.sendToQueue?.(QUEUE, Buffer.from('b')),
      ];
      env.h.connection.writable = false;
      written.push(channel.sendToQueue?.(QUEUE, Buffer.from('c'), { persistent: true }));
      return { written, published: env.h.broker.published.map(seen) };
    },
  },
  {
    name: 'confirm channel: publish with a callback, sendToQueue without, waitForConfirms',
    reaches: PUBLISH,
    async run(env) {
      env.h.broker.declare(QUEUE);
      const channel = await env.api.open(env.h.loaded, env.h.connection, true);
      const confirmed = new Promise((resolve) => {
        channel.publish?.('', QUEUE, Buffer.from('a'), { headers: { app: 1 } }, (error: unknown) =>
          resolve(errorText(error)),
        );
      });
      const written = channel.sendToQueue?.(QUEUE, Buffer.from('b'));
      return {
        written,
        confirmed: await confirmed,
        waited: await waitForConfirms(env.api, channel),
        published: env.h.broker.published.map(seen),
      };
    },
  },
  {
    name: 'confirm channel: the broker nacks',
    reaches: CONFIRM_FAILED.filter((fault) => fault !== 'span.setAttribute'),
    async run(env) {
      env.h.broker.declare(QUEUE);
      env.h.broker.confirmMode = 'nack';
      const channel = await env.api.open(env.h.loaded, env.h.connection, true);
      const confirmed = new Promise((resolve) => {
        channel.sendToQueue?.(QUEUE, Buffer.from('a'), {}, (error: unknown) => resolve(errorText(error)));
      });
      channel.sendToQueue?.(QUEUE, Buffer.from('b'));
      return { confirmed: await confirmed, waited: await waitForConfirms(env.api, channel) };
    },
  },
  {
    name: 'confirm channel: an unroutable mandatory message is returned',
    reaches: CONFIRM_FAILED,
    async run(env) {
      const channel = await env.api.open(env.h.loaded, env.h.connection, true);
      const returned = new Promise((resolve) =>
        channel.once('return', (message: AmqpMessage) => resolve(seen(message))),
      );
      const confirmed = new Promise((resolve) => {
        channel.publish?.('', 'nowhere', Buffer.from('lost'), { mandatory: true }, (error: unknown) =>
          resolve(errorText(error)),
        );
      });
      return { returned: await returned, confirmed: await confirmed, waited: await waitForConfirms(env.api, channel) };
    },
  },
  {
    name: 'confirm channel: closed before the broker confirms',
    reaches: CONFIRM_FAILED.filter((fault) => fault !== 'span.setAttribute'),
    async run(env) {
      env.h.broker.declare(QUEUE);
      env.h.broker.confirmMode = 'none';
      const channel = await env.api.open(env.h.loaded, env.h.connection, true);
      channel.on('error', () => {});
      const confirmed = new Promise((resolve) => {
        channel.sendToQueue?.(QUEUE, Buffer.from('a'), {}, (error: unknown) => resolve(errorText(error)));
      });
      channel.sendToQueue?.(QUEUE, Buffer.from('b'));
      const waiting = waitForConfirms(env.api, channel);
      await env.api.close(channel);
      return { confirmed: await confirmed, waited: await waiting };
    },
  },
];

describe.each(VARIANTS)('$label', (variant) => {
  const h = harness(variant);

  describe.each(APIS)('$name API with an OpenTelemetry that throws', (api) => {
    let restoreGlobals = () => {};

    afterEach(() => {
      restoreGlobals();
      restoreGlobals = () => {};
      h.tearDown();
      h.instrumentation.setTracerProvider(h.telemetry.tracerProvider);
    });

    /** What the scenario shows without mqtrail. */
    function uninstrumented(scenario: Scenario): Promise<unknown> {
      h.setUp();
      h.tearDown();
      return scenario.run({ api, h });
    }

    /** Runs `scenario` with the instrumentation's OpenTelemetry throwing `faults`. */
    async function instrumented(scenario: Scenario, ...faults: OtelFault[]) {
      h.setUp();
      const faulty = createFaultyOtel(h.telemetry);
      h.instrumentation.setTracerProvider(faulty.tracerProvider);
      h.instrumentation.setMeterProvider(faulty.meterProvider);
      restoreGlobals = faulty.installGlobals();
      faulty.select(...faults);
      const observed = await scenario.run({ api, h });
      const hits = faults.map((fault) => faulty.hits(fault));
      faulty.select();
      return { observed, hits, openSpans: h.telemetry.openSpans() };
    }

    describe.each(SCENARIOS)('$name', (scenario) => {
      it.each(scenario.reaches)('behaves as uninstrumented when %s throws', async (fault) => {
        const expected = await uninstrumented(scenario);
        const { observed, hits } = await instrumented(scenario, fault);
        expect(observed).toEqual(expected);
        expect(hits[0], `${fault} was never called`).toBeGreaterThan(0);
      });

      it('behaves as uninstrumented when everything throws at once', async () => {
        const expected = await uninstrumented(scenario);
        expect((await instrumented(scenario, ...OTEL_FAULTS)).observed).toEqual(expected);
      });

      for (const fault of scenario.reaches.filter((reached) => reached !== 'span.end')) {
        it(`ends every span it started when ${fault} throws`, async () => {
          expect((await instrumented(scenario, fault)).openSpans).toBe(0);
        });
      }

      it('behaves as uninstrumented without faults (the comparison is fair)', async () => {
        const expected = await uninstrumented(scenario);
        const { observed, openSpans } = await instrumented(scenario);
        expect(observed).toEqual(expected);
        expect(openSpans).toBe(0);
      });
    });
  });
});

describe('the instrumentation given a MeterProvider whose instruments cannot be created', () => {
  // A broken MeterProvider must not break the application's SDK set-up: no-op instruments instead.
  it('does not throw from setMeterProvider', () => {
    const faulty = createFaultyOtel(createTelemetry());
    faulty.select('meter.createInstrument');
    expect(() => new AmqplibInstrumentation({ enabled: false }).setMeterProvider(faulty.meterProvider)).not.toThrow();
  });
});
