/**
 * Instrumentation never throws into the application (design: "Rules that hold everywhere"; issue
 * 15, finding 2): whatever part of OpenTelemetry throws, every entry point mqtrail patches in
 * kafkajs behaves exactly as without mqtrail. Each scenario drives the client as an application
 * would and returns what the application saw; that must equal what the uninstrumented client gives.
 */
import { createFaultyOtel, OTEL_FAULTS, type OtelFault } from '@mqtrail/test-support';
import type { Batch, KafkaMessage } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { traceBatchMessage } from './batch';
import { type FakeKafkajs, fakeKafkajs, kafkaBatch, kafkaMessage } from './test-support/fake-kafkajs';
import { setupOtel, type TestOtel } from './test-support/otel';

/** Headers mqtrail adds on the way out: what the application did not send itself. */
const ADDED_HEADERS = new Set(['traceparent', 'tracestate', 'baggage', 'mqtrail']);
const SAMPLED_PARENT = Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');

/** A request as the broker got it, without the headers mqtrail adds (and the empty object it adds them to). */
function asSentByApp(request: unknown): unknown {
  return JSON.parse(
    JSON.stringify(request, (key, value: unknown) => {
      if (key !== 'headers' || value === null || typeof value !== 'object') return value;
      const own = Object.entries(value).filter(([name]) => !ADDED_HEADERS.has(name));
      return own.length === 0 ? undefined : Object.fromEntries(own);
    }),
  );
}

/** How a call ended, as the application sees it: the value, or whether it threw `expected` itself. */
async function settled(call: () => unknown, expected?: unknown): Promise<unknown> {
  try {
    return { returned: await call() };
  } catch (error) {
    return { threw: error === expected ? 'the expected error' : String(error) };
  }
}

function kafka(kafkajs: FakeKafkajs) {
  return new kafkajs.Kafka({ clientId: 'faults', brokers: ['127.0.0.1:9092'] });
}

/** Messages as kafkajs delivers them: traced by a sampled producer, untraced, and the first again. */
function deliveries() {
  const traced = kafkaMessage(0, { traceparent: SAMPLED_PARENT, app: Buffer.from('1') });
  return [traced, kafkaMessage(1, { app: Buffer.from('2') }), traced];
}

interface Scenario {
  name: string;
  /** Faults the scenario reaches: each one must actually be thrown while the scenario runs. */
  reaches: OtelFault[];
  run(kafkajs: FakeKafkajs): Promise<unknown>;
}

const SPAN_START: OtelFault[] = ['tracer.startSpan', 'context.active', 'context.with'];
const SEND: OtelFault[] = [...SPAN_START, 'propagator.inject', 'span.setAttribute', 'span.end', 'histogram.record'];
const SEND_FAILED: OtelFault[] = [...SEND, 'span.setStatus', 'span.recordException'];
const CONSUME: OtelFault[] = [...SPAN_START, 'propagator.extract', 'span.setAttribute', 'span.end', 'histogram.record'];
const TRANSACTION_CALL: OtelFault[] = [...SPAN_START, 'span.end', 'histogram.record'];

function send(kafkajs: FakeKafkajs, fail: boolean): Promise<unknown> {
  const producer = kafka(kafkajs).producer();
  const failure = new Error('broker down');
  if (fail) producer.answer = () => Promise.reject(failure);
  return settled(async () => {
    const result = await producer.send({ topic: 'orders', messages: [{ value: 'a', headers: { app: '1' } }] });
    return { result, sent: producer.requests.map(asSentByApp) };
  }, failure);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'new Kafka(), producer(), consumer()',
    reaches: [],
    async run(kafkajs) {
      const client = kafka(kafkajs);
      return {
        isKafka: client instanceof kafkajs.Kafka,
        config: client.config,
        producer: Object.keys(client.producer()).sort(),
        consumer: Object.keys(client.consumer({ groupId: 'g' })).sort(),
      };
    },
  },
  { name: 'producer.send', reaches: SEND, run: (kafkajs) => send(kafkajs, false) },
  { name: 'producer.send, rejected', reaches: SEND_FAILED, run: (kafkajs) => send(kafkajs, true) },
  {
    name: 'producer.sendBatch',
    reaches: SEND,
    async run(kafkajs) {
      const producer = kafka(kafkajs).producer();
      const result = await settled(() =>
        producer.sendBatch({
          topicMessages: [
            { topic: 'orders', messages: [{ value: 'a' }, { value: 'b', partition: 1 }] },
            { topic: 'payments', messages: [{ value: 'p' }] },
          ],
        }),
      );
      return { result, sent: producer.requests.map(asSentByApp) };
    },
  },
  {
    name: 'transaction: send, sendBatch, sendOffsets, commit',
    reaches: SEND,
    async run(kafkajs) {
      const producer = kafka(kafkajs).producer();
      const transaction = await producer.transaction();
      const steps = [
        await settled(() => transaction.send({ topic: 'orders', messages: [{ value: 'a' }] })),
        await settled(() =>
          transaction.sendBatch({ topicMessages: [{ topic: 'orders', messages: [{ value: 'b' }] }] }),
        ),
        await settled(() =>
          transaction.sendOffsets({
            consumerGroupId: 'g',
            topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '3' }] }],
          }),
        ),
        await settled(() => transaction.commit()),
      ];
      return { steps, calls: producer.transactionCalls, sent: producer.requests.map(asSentByApp) };
    },
  },
  {
    name: 'transaction.sendOffsets',
    reaches: TRANSACTION_CALL,
    async run(kafkajs) {
      const producer = kafka(kafkajs).producer();
      const transaction = await producer.transaction();
      const offsets = {
        consumerGroupId: 'g',
        topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '1' }] }],
      };
      return { result: await settled(() => transaction.sendOffsets(offsets)), calls: producer.transactionCalls };
    },
  },
  {
    name: 'transaction.commit',
    reaches: TRANSACTION_CALL,
    async run(kafkajs) {
      const producer = kafka(kafkajs).producer();
      const transaction = await producer.transaction();
      const result = await settled(() => transaction.commit());
      return { result, calls: producer.transactionCalls, active: transaction.isActive() };
    },
  },
  {
    name: 'transaction.commit, rejected',
    reaches: [...TRANSACTION_CALL, 'span.setAttribute', 'span.setStatus', 'span.recordException'],
    async run(kafkajs) {
      const producer = kafka(kafkajs).producer();
      const failure = new Error('fenced');
      producer.commitError = failure;
      const transaction = await producer.transaction();
      const result = await settled(() => transaction.commit(), failure);
      return { result, calls: producer.transactionCalls, active: transaction.isActive() };
    },
  },
  {
    name: 'transaction.abort',
    reaches: TRANSACTION_CALL,
    async run(kafkajs) {
      const producer = kafka(kafkajs).producer();
      const transaction = await producer.transaction();
      const result = await settled(() => transaction.abort());
      return { result, calls: producer.transactionCalls, active: transaction.isActive() };
    },
  },
  {
    name: 'consumer.run and eachMessage',
    reaches: CONSUME,
    async run(kafkajs) {
      const consumer = kafka(kafkajs).consumer({ groupId: 'g' });
      const seen: unknown[] = [];
      const ran = await settled(() =>
        consumer.run({
          eachMessage: async (payload: unknown) => {
            seen.push(payload);
          },
        }),
      );
      const payloads = deliveries().map((message) => ({ topic: 'orders', partition: 0, message }));
      const results = [];
      for (const payload of payloads) results.push(await settled(() => consumer.runConfig?.eachMessage?.(payload)));
      return { ran, results, sameObjects: seen.map((payload, index) => payload === payloads[index]) };
    },
  },
  {
    name: 'eachMessage, rejected',
    reaches: [...CONSUME, 'span.setStatus', 'span.recordException'],
    async run(kafkajs) {
      const consumer = kafka(kafkajs).consumer({ groupId: 'g' });
      const failure = new Error('handler failed');
      let calls = 0;
      await consumer.run({
        eachMessage: async () => {
          calls += 1;
          throw failure;
        },
      });
      const results = [];
      for (const message of deliveries()) {
        results.push(
          await settled(() => consumer.runConfig?.eachMessage?.({ topic: 'orders', partition: 0, message }), failure),
        );
      }
      return { results, calls };
    },
  },
  {
    name: 'eachBatch with traceBatchMessage',
    reaches: CONSUME,
    async run(kafkajs) {
      const consumer = kafka(kafkajs).consumer({ groupId: 'g' });
      const seen: unknown[] = [];
      await consumer.run({
        eachBatch: async ({ batch }: { batch: Batch }) => {
          for (const message of batch.messages) {
            seen.push(await traceBatchMessage(batch, message, () => message.offset));
          }
          return 'done';
        },
      } as never);
      const batch = kafkaBatch('orders', 0, deliveries());
      const result = await settled(() => consumer.runConfig?.eachBatch?.({ batch }));
      return { result, seen };
    },
  },
  {
    name: 'eachBatch, rejected',
    reaches: [...CONSUME, 'span.setStatus', 'span.recordException'],
    async run(kafkajs) {
      const consumer = kafka(kafkajs).consumer({ groupId: 'g' });
      const failure = new RangeError('batch failed');
      await consumer.run({
        eachBatch: async ({ batch }: { batch: Batch }) => {
          await traceBatchMessage(batch, batch.messages[0] as KafkaMessage, () => {
            throw failure;
          });
        },
      } as never);
      return settled(() => consumer.runConfig?.eachBatch?.({ batch: kafkaBatch('orders', 0, deliveries()) }), failure);
    },
  },
  {
    name: 'offset commits and consumer lag (kafkajs instrumentation events)',
    reaches: ['gauge.record'],
    async run(kafkajs) {
      const consumer = kafka(kafkajs).consumer({ groupId: 'g' });
      await consumer.run({ eachMessage: async () => {} });
      for (const message of deliveries()) {
        await consumer.runConfig?.eachMessage?.({ topic: 'orders', partition: 0, message });
      }
      const emitted = [
        await settled(() =>
          consumer.emit(consumer.events.END_BATCH_PROCESS, { topic: 'orders', partition: 0, offsetLag: '4' }),
        ),
        await settled(() =>
          consumer.emit(consumer.events.COMMIT_OFFSETS, {
            groupId: 'g',
            topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '2' }] }],
          }),
        ),
      ];
      return emitted;
    },
  },
];

describe('kafkajs with an OpenTelemetry that throws', () => {
  let otel: TestOtel | undefined;
  let restoreGlobals = () => {};

  afterEach(async () => {
    restoreGlobals();
    restoreGlobals = () => {};
    await otel?.shutdown();
    otel = undefined;
  });

  /** Runs `scenario` on kafkajs patched by an instrumentation whose OpenTelemetry throws `faults`. */
  async function runFaulty(scenario: Scenario, ...faults: OtelFault[]) {
    otel = setupOtel();
    const faulty = createFaultyOtel(otel.providers);
    otel.instrumentation.setTracerProvider(faulty.tracerProvider);
    otel.instrumentation.setMeterProvider(faulty.meterProvider);
    restoreGlobals = faulty.installGlobals();
    const kafkajs = otel.patch(fakeKafkajs());
    faulty.select(...faults);
    const seen = await scenario.run(kafkajs);
    const hits = faults.map((fault) => faulty.hits(fault));
    faulty.select();
    return { seen, hits, openSpans: otel.counter.open.size };
  }

  describe.each(SCENARIOS)('$name', (scenario) => {
    it.each(scenario.reaches)('behaves as uninstrumented when %s throws', async (fault) => {
      const expected = await scenario.run(fakeKafkajs());
      const { seen, hits } = await runFaulty(scenario, fault);
      expect(seen).toEqual(expected);
      expect(hits[0], `${fault} was never called`).toBeGreaterThan(0);
    });

    it('behaves as uninstrumented when everything throws at once', async () => {
      const expected = await scenario.run(fakeKafkajs());
      expect((await runFaulty(scenario, ...OTEL_FAULTS)).seen).toEqual(expected);
    });

    for (const fault of scenario.reaches.filter((reached) => reached !== 'span.end')) {
      it(`ends every span it started when ${fault} throws`, async () => {
        expect((await runFaulty(scenario, fault)).openSpans).toBe(0);
      });
    }

    it('behaves as uninstrumented without faults (the comparison is fair)', async () => {
      const expected = await scenario.run(fakeKafkajs());
      const { seen, openSpans } = await runFaulty(scenario);
      expect(seen).toEqual(expected);
      expect(openSpans).toBe(0);
    });
  });
});

describe('the instrumentation given a MeterProvider whose instruments cannot be created', () => {
  // A broken MeterProvider must not break the application's SDK set-up: no-op instruments instead.
  it('does not throw from setMeterProvider', async () => {
    const otel = setupOtel();
    try {
      const faulty = createFaultyOtel(otel.providers);
      faulty.select('meter.createInstrument');
      expect(() => otel.instrumentation.setMeterProvider(faulty.meterProvider)).not.toThrow();
    } finally {
      await otel.shutdown();
    }
  });
});
