/**
 * One job in its own process (started by run.ts with `--expose-gc`): installs the variant's
 * telemetry, then loads the client and runs the workload, and reports a JobResult over IPC.
 * The job comes in MQTRAIL_BENCH_JOB as JSON.
 */
import { amqplibBroker } from './broker/amqplib';
import { kafkaBroker } from './broker/kafkajs';
import { hotPath } from './hot/hot-path';
import type { HotPath } from './hot/kafkajs';
import { upstreamSampling } from './messages';
import {
  type BrokerJob,
  type HotJob,
  type Job,
  type JobResult,
  type Measurements,
  type SoakJob,
  samplingRatio,
} from './protocol';
import { steadyHeapTrend } from './stats';
import { family, setUpTelemetry } from './telemetry';
import { collectGarbage, settledHeapUsed, timeMessages } from './timing';

function jobHotPath(job: HotJob | SoakJob): Promise<HotPath> {
  // Consumed messages carry the sampling decision an upstream producer of the same fleet made:
  // all, none, or (at 1%) every 100th message.
  return hotPath(job.client, upstreamSampling(samplingRatio(job.variant)), job.batch);
}

async function runHot(job: HotJob): Promise<Measurements> {
  const { ops, verify } = await jobHotPath(job);
  const measurements: Measurements = {};
  for (const op of ops) {
    await timeMessages(op, job.warmup, job.batch);
    collectGarbage();
    const elapsed = await timeMessages(op, job.messages, job.batch);
    measurements[`${op.name}.nsPerMessage`] = elapsed / job.messages;
  }
  verify();
  return measurements;
}

function runBroker(job: BrokerJob): Promise<Measurements> {
  return job.client === 'kafkajs' ? kafkaBroker(job) : amqplibBroker(job);
}

/**
 * Every message goes through each operation of the hot path (produce and consume); heap after a
 * full GC is sampled before the first message and after every `sampleEvery`.
 */
async function runSoak(job: SoakJob): Promise<{ measurements: Measurements; samples: [number, number][] }> {
  const { ops, verify } = await jobHotPath(job);
  const samples: [number, number][] = [[0, settledHeapUsed()]];
  const started = process.hrtime.bigint();
  for (let done = 0; done < job.messages; done += job.sampleEvery) {
    const count = Math.min(job.sampleEvery, job.messages - done);
    for (const op of ops) await timeMessages(op, count, job.batch);
    samples.push([done + count, settledHeapUsed()]);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  verify();
  const { first, last, bytesPerMessage } = steadyHeapTrend(samples, job.sampleEvery);
  return {
    samples,
    measurements: {
      'heap.startBytes': samples[0]?.[1] ?? Number.NaN,
      'heap.endBytes': last,
      'heap.growthAfterFirstSampleBytes': last - first,
      'heap.slopeBytesPer100k': bytesPerMessage * 100_000,
      'soak.seconds': seconds,
    },
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.MQTRAIL_BENCH_JOB ?? 'null') as Job | null;
  if (job === null) throw new Error('MQTRAIL_BENCH_JOB is not set: run bench/dist/run.js, not the child');
  const started = Date.now();
  const result: JobResult = { job, ok: false, measurements: {}, durationMs: 0 };
  try {
    const telemetry = setUpTelemetry(job.variant, job.client);
    if (job.kind === 'hot') result.measurements = await runHot(job);
    else if (job.kind === 'broker') result.measurements = await runBroker(job);
    else if (job.kind === 'micro') {
      // Loaded only here: no other job's process should carry @mqtrail/core it does not use.
      const { measureMetricPoint } = require('./micro/metric-point') as typeof import('./micro/metric-point');
      result.measurements = measureMetricPoint({ ...job, warmup: job.calls / 4 });
    } else {
      const soak = await runSoak(job);
      result.measurements = soak.measurements;
      result.heapSamples = soak.samples;
    }
    result.telemetry = await telemetry.counts();
    result.ok = true;
    const traces = !['none', 'sdk'].includes(family(job.variant));
    if (traces && samplingRatio(job.variant) > 0 && result.telemetry.spans === 0) {
      result.ok = false;
      result.error = 'no spans were exported: the instrumentation did not patch the client';
    }
  } catch (error) {
    // First line only: a module-not-found error appends its whole require stack.
    result.error = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split('\n')[0];
  }
  result.durationMs = Date.now() - started;
  await new Promise<void>((resolve) => {
    if (process.send === undefined) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      resolve();
    } else process.send(result, () => resolve());
  });
  // Client timers (kafkajs retries, heartbeats) must not keep a finished child alive.
  process.exit(0);
}

void main();
