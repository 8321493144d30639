import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DedicatedRabbitmq } from './support/dedicated-rabbitmq';
import {
  expectCountersKeptCounting,
  expectEverySpanEnded,
  expectHeapBack,
  expectNoUnhandledFromMqtrail,
  expectRecovered,
  expectSameErrors,
} from './support/restart-assertions';
import { killLeftovers, once, type RestartRun, runThroughRestart } from './support/restart-scenario';

// Issue 15, "broker killed and restarted mid-stream", for amqplib: a RabbitMQ node of the test's
// own is SIGKILLed while an application publishes (ConfirmChannel) and consumes (5 deliveries held
// unacked), kept down for a second and started again on the same data. The same scenario runs
// without and with mqtrail; the application must not be able to tell the difference, and mqtrail
// must end every span, keep counting and give its memory back.
const WARMUP = 50;
const HELD = 5;
const BURST = 10;
const BACKLOG = 2_000;
// Heap after the backlog drained vs after warm-up, in MiB. Measured: +1.3 to +1.5 with mqtrail,
// +0.7 without (amqplib's and V8's own churn). What mqtrail keeps for good is bounded: the duplicate
// detector's window of message ids and one metric series per label set. Ended spans kept alive
// cost about 1.3 KiB each: holding on to this run's ~4,100 spans measured +6.8 MiB.
const HEAP_TOLERANCE_MIB = 3;
// A reconnect that reaches the node while it boots may be reset or closed in the handshake
// instead of refused; which, and whether at all, depends on how far the boot had got.
const BOOTING = /^(producer|consumer) connect: (?!Error: ECONNREFUSED$)/;

const rabbitmq = new DedicatedRabbitmq();

async function run(instrumented: boolean): Promise<RestartRun> {
  const id = randomUUID().slice(0, 8);
  // Declared (and synced to disk) before the application declares it too, as it does on every connect.
  await rabbitmq.declareDurableQueue(`fault-${id}`);
  return runThroughRestart('broker-amqplib-app.cjs', rabbitmq, {
    serviceName: `fault-amqplib-${instrumented ? 'mqtrail' : 'plain'}-${id}`,
    env: {
      AMQP_URL: rabbitmq.url,
      QUEUE: `fault-${id}`,
      WARMUP: String(WARMUP),
      HELD: String(HELD),
      BURST: String(BURST),
      BACKLOG: String(BACKLOG),
      INSTRUMENT: instrumented ? 'amqplib' : '',
    },
    downMs: 1_000,
    timeoutMs: 90_000,
  });
}

describe('RabbitMQ killed and restarted mid-stream', () => {
  beforeAll(() => rabbitmq.start());
  afterAll(async () => {
    killLeftovers();
    await rabbitmq.remove();
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
    // What a crash looks like to this application: both connections reset, the burst's confirms
    // rejected, reconnects refused until the node is back.
    expect(Object.keys(run.errors)).toEqual(
      expect.arrayContaining([
        'publish confirm: Error: channel closed',
        'consumer connection error: Error: ECONNRESET',
        'consumer connect: Error: ECONNREFUSED',
      ]),
    );
  }, 100_000);

  it('with mqtrail the application sees the same errors and the same recovery', async () => {
    const [withMqtrail, without] = [await traced(), await plain()];
    expectRecovered(withMqtrail);
    expectSameErrors(withMqtrail, without, BOOTING);
    expectNoUnhandledFromMqtrail(withMqtrail, without);
    expect(withMqtrail.errors['publish confirm: Error: channel closed']).toBe(BURST);
  }, 200_000);

  it('every span ends: the held deliveries as closed, the unconfirmed publishes failed', async () => {
    const run = await traced();
    expectEverySpanEnded(run);
    const followed = run.spans?.followed ?? [];
    const held = followed.filter((span) => span.name.startsWith('process '));
    const burst = followed.filter((span) => span.name.startsWith('send '));
    expect(held).toHaveLength(HELD);
    expect(burst).toHaveLength(BURST);
    for (const span of held) {
      expect(span).toMatchObject({ status: 'error', outcome: 'closed', errorType: 'ChannelClosedError' });
    }
    for (const span of burst) expect(span).toMatchObject({ status: 'error', errorType: 'ChannelClosedError' });
  }, 200_000);

  it('metrics keep counting after recovery', async () => {
    expectCountersKeptCounting(await traced(), BURST + BACKLOG);
  }, 200_000);

  it('memory is back to the baseline once the backlog drained', async () => {
    const [withMqtrail, without] = [await traced(), await plain()];
    expectHeapBack('amqplib', withMqtrail, without, HEAP_TOLERANCE_MIB);
  }, 200_000);
});
