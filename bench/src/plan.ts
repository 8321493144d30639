/**
 * The jobs of a run, in the order they run: per repetition the metric-point micro-benchmark, then
 * every hot-path variant of each client, then every broker variant of each workload (variant order
 * rotated per repetition so none always goes first); the soak last.
 */
import type { Options } from './options';
import type { BrokerJob, HotJob, Job, MicroJob, SoakJob } from './protocol';

/** The same list rotated by `by`, so no variant always runs first (or last) in a repetition. */
function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

export function planJobs(options: Options, runId: string): Job[] {
  const jobs: Job[] = [];
  const { sizes, batch, prefetch } = options;
  for (let rep = 0; rep < options.reps; rep++) {
    if (options.micro) {
      const job: MicroJob = {
        kind: 'micro',
        name: 'metric-point',
        client: 'amqplib',
        variant: 'sdk',
        runId,
        rep,
        calls: sizes.microCalls,
        rounds: sizes.microRounds,
      };
      jobs.push(job);
    }
    for (const client of options.clients) {
      if (options.hot) {
        for (const variant of rotate(options.hotVariants, rep)) {
          const job: HotJob = {
            kind: 'hot',
            client,
            variant,
            runId,
            rep,
            messages: sizes.hotMessages,
            warmup: sizes.hotWarmup,
            batch,
          };
          jobs.push(job);
        }
      }
    }
    for (const client of options.clients) {
      if (!options.broker) continue;
      const modes: BrokerJob['mode'][] = client === 'amqplib' ? ['plain', 'confirm'] : ['default'];
      for (const mode of modes) {
        for (const variant of rotate(options.brokerVariants, rep)) {
          jobs.push({
            kind: 'broker',
            client,
            mode,
            variant,
            runId,
            rep,
            messages: sizes.brokerMessages,
            warmup: sizes.brokerWarmup,
            batch,
            prefetch,
          });
        }
      }
    }
  }
  if (options.soak) {
    for (const client of options.clients) {
      for (const variant of options.soakVariants) {
        const job: SoakJob = {
          kind: 'soak',
          client,
          variant,
          runId,
          rep: 0,
          messages: sizes.soakMessages,
          sampleEvery: sizes.soakSampleEvery,
          batch,
        };
        jobs.push(job);
      }
    }
  }
  return jobs;
}
