import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DedicatedKafka } from './support/dedicated-kafka';
import {
  expectCountersKeptCounting,
  expectEverySpanEnded,
  expectHeapBack,
  expectNoUnhandledFromMqtrail,
  expectRecovered,
  expectSameErrors,
} from './support/restart-assertions';
import { killLeftovers, once, type RestartRun, runThroughRestart } from './support/restart-scenario';

// Issue 15, "broker killed and restarted mid-stream", for kafkajs: a Kafka broker of the test's own
// is SIGKILLed while an application sends and a consumer group member processes (one handler still
// working), kept down for a second and started again on the same log directory. The same scenario
// runs without and with mqtrail; the application must not be able to tell the difference, and
// mqtrail must end every span, keep counting and give its memory back.
const WARMUP = 50;
const BURST = 10;
const BACKLOG = 2_000;
// Heap after the backlog drained vs after warm-up, in MiB. Measured: +1.7 to +1.8 with mqtrail,
// +1.0 to +2.0 without (kafkajs's reconnected clients, metadata and buffers). Ended spans kept
// alive cost about 1.3 KiB each (measured with amqplib): this run's ~4,100 would be over 5 MiB.
const HEAP_TOLERANCE_MIB = 4;
// The restarted consumer may reach the broker while it is still loading the group coordinator or
// electing partition leaders, and crash once more on that answer; whether it does depends on how
// far the broker's start had got, in a run without mqtrail as much as in one with it.
const STARTING =
  /^consumer crash .*: KafkaJSProtocolError: (The coordinator is|This is not the correct coordinator|There is no leader|Leader not available)/;

const kafka = new DedicatedKafka();

function run(instrumented: boolean): Promise<RestartRun> {
  const id = randomUUID().slice(0, 8);
  return runThroughRestart('broker-kafkajs-app.cjs', kafka, {
    serviceName: `fault-kafkajs-${instrumented ? 'mqtrail' : 'plain'}-${id}`,
    env: {
      MQTRAIL_E2E_KAFKA_BROKER: kafka.broker,
      TOPIC: `fault-${id}`,
      GROUP: `fault-${id}`,
      WARMUP: String(WARMUP),
      BURST: String(BURST),
      BACKLOG: String(BACKLOG),
      INSTRUMENT: instrumented ? 'kafkajs' : '',
    },
    downMs: 1_000,
    timeoutMs: 100_000,
  });
}

describe('Kafka killed and restarted mid-stream', () => {
  beforeAll(() => kafka.start());
  afterAll(async () => {
    killLeftovers();
    await kafka.remove();
  });
  // One run each, shared by the tests below; the instrumented one after the plain one, never at once.
  const plain = once(() => run(false));
  const traced = once(async () => {
    await plain().catch(() => {});
    return run(true);
  });

  it('the uninstrumented application sees the crash and recovers by itself', async () => {
    const run = await plain();
    expectRecovered(run);
    // What a crash looks like to this application: the burst's sends fail, the consumer crashes
    // and kafkajs restarts it until the broker is back.
    expect(Object.keys(run.errors)).toEqual(
      expect.arrayContaining([
        'send: KafkaJSNonRetriableError: Connection error: connect ECONNREFUSED N.N.N.N:N',
        'consumer crash (restart: true): KafkaJSNonRetriableError: Connection error: connect ECONNREFUSED N.N.N.N:N',
      ]),
    );
  }, 110_000);

  it('with mqtrail the application sees the same errors and the same recovery', async () => {
    const [withMqtrail, without] = [await traced(), await plain()];
    expectRecovered(withMqtrail);
    expectSameErrors(withMqtrail, without, STARTING);
    expectNoUnhandledFromMqtrail(withMqtrail, without);
  }, 220_000);

  it('every span ends as the application saw its operation end', async () => {
    const run = await traced();
    expectEverySpanEnded(run);
    const followed = run.spans?.followed ?? [];
    const working = followed.filter((span) => span.name.startsWith('process '));
    const burst = followed.filter((span) => span.name.startsWith('send '));
    // The handler finished after the kill, and well: its span ends as it did.
    expect(working).toEqual([expect.objectContaining({ status: 'unset' })]);
    // Each burst send failed once in the application (and was sent again under a new span).
    expect(burst).toHaveLength(BURST);
    for (const span of burst) expect(span).toMatchObject({ status: 'error', errorType: 'KafkaJSNonRetriableError' });
  }, 220_000);

  it('metrics keep counting after recovery', async () => {
    expectCountersKeptCounting(await traced(), BURST + BACKLOG);
  }, 220_000);

  it('memory is back to the baseline once the backlog drained', async () => {
    const [withMqtrail, without] = [await traced(), await plain()];
    expectHeapBack('kafkajs', withMqtrail, without, HEAP_TOLERANCE_MIB);
  }, 220_000);
});
