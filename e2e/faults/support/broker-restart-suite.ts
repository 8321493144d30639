import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectCountersKeptCounting,
  expectEverySpanEnded,
  expectFollowedEnded,
  expectHeapBack,
  expectNoUnhandledFromMqtrail,
  expectRecovered,
  expectSameErrors,
  type FollowedEnding,
} from './restart-assertions';
import { killLeftovers, once, type RestartableBroker, type RestartRun, runThroughRestart } from './restart-scenario';

/** A broker of the suite's own (dedicated-rabbitmq.ts, dedicated-kafka.ts): started before the runs, removed after. */
export interface DedicatedBroker extends RestartableBroker {
  start(): Promise<void>;
  remove(): Promise<void>;
}

/** One client's broker-restart scenario: its broker and application, and what the tests expect of it. */
export interface BrokerRestart {
  /** The describe block's name. */
  title: string;
  /** The client under test: the application's INSTRUMENT in the instrumented run, and in each run's service name. */
  client: 'amqplib' | 'kafkajs';
  broker: DedicatedBroker;
  /** The application, a file in fixtures/. */
  app: string;
  /**
   * Messages sent before the crash, in the same tick as the kill and after recovery (and for
   * amqplib, how many of the warm-up's deliveries are held unacked): the application's environment.
   */
  sizes: { WARMUP: number; BURST: number; BACKLOG: number; HELD?: number };
  /** The rest of the application's environment, for a run whose queue, topic or group is `name` (new each run). */
  env(name: string): Record<string, string>;
  /** Runs before the application starts. */
  prepare?(name: string): Promise<void>;
  /** How long one run may take, kill, outage and drain included. */
  runTimeoutMs: number;
  /** Error kinds the uninstrumented application must have seen: what the crash looks like to it. */
  crashErrors: string[];
  /** Error kinds left out of the comparison between the two runs (see expectSameErrors). */
  timingDependentErrors: RegExp;
  /** Error kinds the instrumented application must have seen exactly so many times. */
  errorCounts?: Record<string, number>;
  /** The span test's name, and how the spans open at the kill must end, per operation. */
  spans: { test: string; process: FollowedEnding; send: FollowedEnding };
  /** Heap growth allowed from warm-up to drained, in MiB (see expectHeapBack). */
  heapToleranceMiB: number;
}

/**
 * The tests of one client's broker-restart scenario (broker-restart-*.test.ts): one run without
 * mqtrail and then one with it, each through runThroughRestart; the uninstrumented application
 * recovers by itself, the instrumented one sees the same errors and recovers the same, every span
 * ends, the counters keep counting and the heap comes back.
 */
export function describeBrokerRestart(scenario: BrokerRestart): void {
  const { client, broker, sizes } = scenario;

  async function run(instrumented: boolean): Promise<RestartRun> {
    const id = randomUUID().slice(0, 8);
    const name = `fault-${id}`;
    await scenario.prepare?.(name);
    return runThroughRestart(scenario.app, broker, {
      serviceName: `fault-${client}-${instrumented ? 'mqtrail' : 'plain'}-${id}`,
      env: {
        ...scenario.env(name),
        ...Object.fromEntries(Object.entries(sizes).map(([size, count]) => [size, String(count)])),
        INSTRUMENT: instrumented ? client : '',
      },
      downMs: 1_000,
      timeoutMs: scenario.runTimeoutMs,
    });
  }

  // A test waits for one run (the plain one's) or for two (the instrumented one runs after it).
  const oneRunMs = scenario.runTimeoutMs + 10_000;
  const twoRunsMs = 2 * oneRunMs;

  describe(scenario.title, () => {
    beforeAll(() => broker.start());
    afterAll(async () => {
      killLeftovers();
      await broker.remove();
    });
    // One run each, shared by the tests below; the instrumented one after the plain one, never at once.
    const plain = once(() => run(false));
    const traced = once(async () => {
      await plain().catch(() => {});
      return run(true);
    });

    it('the uninstrumented application sees the crash and recovers by itself', { timeout: oneRunMs }, async () => {
      const run = await plain();
      expectRecovered(run);
      expect(Object.keys(run.errors)).toEqual(expect.arrayContaining(scenario.crashErrors));
    });

    it('with mqtrail the application sees the same errors and the same recovery', { timeout: twoRunsMs }, async () => {
      const [withMqtrail, without] = [await traced(), await plain()];
      expectRecovered(withMqtrail);
      expectSameErrors(withMqtrail, without, scenario.timingDependentErrors);
      expectNoUnhandledFromMqtrail(withMqtrail, without);
      for (const [kind, count] of Object.entries(scenario.errorCounts ?? {})) {
        expect(withMqtrail.errors[kind], kind).toBe(count);
      }
    });

    it(scenario.spans.test, { timeout: twoRunsMs }, async () => {
      const run = await traced();
      expectEverySpanEnded(run);
      expectFollowedEnded(run, 'process', scenario.spans.process);
      expectFollowedEnded(run, 'send', scenario.spans.send);
    });

    it('metrics keep counting after recovery', { timeout: twoRunsMs }, async () => {
      expectCountersKeptCounting(await traced(), sizes.BURST + sizes.BACKLOG);
    });

    it('memory is back to the baseline once the backlog drained', { timeout: twoRunsMs }, async () => {
      const [withMqtrail, without] = [await traced(), await plain()];
      expectHeapBack(client, withMqtrail, without, scenario.heapToleranceMiB);
    });
  });
}
