/**
 * `pnpm bench`: plans the jobs, runs each in its own child process (variants interleaved, their
 * order rotated per repetition), and writes bench/results/<date>.json, latest.json and
 * BENCHMARKS.md. See bench/README.md for what each workload does.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { currentLoad, describeMachine, packageVersions } from './machine';
import { type Options, parseOptions, USAGE } from './options';
import { renderProfile, summarizeProfile } from './profile';
import type { BrokerJob, HotJob, Job, JobResult, SoakJob, VariantName } from './protocol';
import { type RunReport, renderMarkdown } from './report';
import { checkTargets, summarizeResults, summarizeSoak, workloadOf } from './summary';

const BENCH_DIR = resolve(__dirname, '..');
const REPO_ROOT = resolve(BENCH_DIR, '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const PROFILES_DIR = join(RESULTS_DIR, 'profiles');
const CHILD = join(__dirname, 'child.js');
/** A job that takes longer is stuck (a broker gone away): it is killed and reported. */
const JOB_TIMEOUT_MS = 10 * 60_000;

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
      for (const variant of ['none', 'mqtrail'] as VariantName[]) {
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

function describe(job: Job): string {
  return `${workloadOf(job).padEnd(24)} ${job.variant.padEnd(10)} r${job.rep}`;
}

/** Runs one job in a fresh `node --expose-gc` child and waits for its result. */
function runChild(job: Job, execArgv: string[] = []): Promise<JobResult> {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = fork(CHILD, [], {
      execArgv: ['--expose-gc', ...execArgv],
      env: { ...process.env, MQTRAIL_BENCH_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let result: JobResult | undefined;
    child.on('message', (message) => {
      result = message as JobResult;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), JOB_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result !== undefined) {
        resolvePromise(result);
        return;
      }
      const why = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolvePromise({
        job,
        ok: false,
        error: `child ended without a result (${why})${output ? `: ${output.trim().slice(-500)}` : ''}`,
        measurements: {},
        durationMs: Date.now() - started,
      });
    });
  });
}

/** Spans per message, so a variant that silently stopped tracing shows in the table. */
function addSpansPerMessage(result: JobResult): void {
  if (!result.ok || result.telemetry === undefined || result.job.kind === 'soak') return;
  const { job } = result;
  const operations =
    job.kind === 'hot' ? Object.keys(result.measurements).filter((k) => k.endsWith('.nsPerMessage')).length : 1;
  const messages = (job.messages + job.warmup) * operations;
  result.measurements['telemetry.spansPerMessage'] = result.telemetry.spans / messages;
}

function headline(result: JobResult): string {
  if (!result.ok) return `FAILED: ${result.error}`;
  const m = result.measurements;
  const parts = Object.entries(m)
    .filter(
      ([key]) => key.endsWith('.nsPerMessage') || key === 'e2e.messagesPerSecond' || key === 'heap.slopeBytesPer100k',
    )
    .map(([key, value]) => `${key.split('.')[0]} ${Math.round(value).toLocaleString('en-US')}`);
  return parts.join(', ');
}

async function profileHotPaths(options: Options, runId: string): Promise<string[]> {
  mkdirSync(PROFILES_DIR, { recursive: true });
  const written: string[] = [];
  for (const client of options.clients) {
    for (const variant of ['mqtrail', 'mqtrail-0%', 'contrib'] as VariantName[]) {
      const name = `${client}-${variant.replace('%', 'pct')}`;
      const job: HotJob = {
        kind: 'hot',
        client,
        variant,
        runId,
        rep: 0,
        messages: options.sizes.profileMessages,
        warmup: options.sizes.hotWarmup,
        batch: options.batch,
      };
      process.stdout.write(`profile  ${describe(job)} … `);
      const result = await runChild(job, [
        '--cpu-prof',
        `--cpu-prof-dir=${PROFILES_DIR}`,
        `--cpu-prof-name=${name}.cpuprofile`,
        '--cpu-prof-interval=100',
      ]);
      process.stdout.write(`${headline(result)}\n`);
      if (!result.ok) continue;
      const summary = summarizeProfile(join(PROFILES_DIR, `${name}.cpuprofile`));
      const markdown = renderProfile(`${client} hot path, ${variant}`, summary);
      const file = join(PROFILES_DIR, `${name}.md`);
      writeFileSync(file, `${markdown}\n`);
      written.push(file);
    }
  }
  return written;
}

async function main(): Promise<void> {
  let options: Options | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const startedAt = new Date();
  const runId = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();
  const machine = describeMachine();
  const jobs = planJobs(options, runId);
  process.stdout.write(
    `mqtrail bench ${options.quick ? '(quick) ' : ''}run ${runId}: ${jobs.length} jobs, ` +
      `${options.reps} repetition(s), ${options.clients.join(' + ')}\n`,
  );

  const results: JobResult[] = [];
  for (const [index, job] of jobs.entries()) {
    process.stdout.write(`[${String(index + 1).padStart(3)}/${jobs.length}] ${describe(job)} … `);
    const result = await runChild(job);
    addSpansPerMessage(result);
    results.push(result);
    process.stdout.write(`${(result.durationMs / 1000).toFixed(1)}s ${headline(result)}\n`);
  }

  const profiles = options.profile ? await profileHotPaths(options, runId) : [];

  machine.loadAverage.end = currentLoad();
  const summary = summarizeResults(results);
  const soak = summarizeSoak(results);
  const report: RunReport = {
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    options,
    machine,
    versions: packageVersions(),
    summary,
    soak,
    targets: checkTargets(summary, soak),
    jobs: results,
  };
  const markdown = renderMarkdown(report);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const complete = !options.quick && options.hot && options.broker && options.clients.length === 2;
  const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\..*/, '');
  const file = join(RESULTS_DIR, `${stamp}${options.quick ? '-quick' : complete ? '' : '-partial'}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  if (complete) {
    // Only a full run replaces the published numbers; smoke and partial runs stay beside them.
    writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
    writeFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), markdown);
  }

  process.stdout.write(`\n${markdown}\n`);
  process.stdout.write(`results: ${file}\n`);
  if (complete) process.stdout.write('updated: bench/results/latest.json, BENCHMARKS.md\n');
  else
    process.stdout.write(
      'BENCHMARKS.md and latest.json are only replaced by a full run (no --quick, --only, --no-*)\n',
    );
  for (const profile of profiles) process.stdout.write(`profile: ${profile}\n`);
  if (results.some((result) => !result.ok)) process.stdout.write('some jobs failed: see the list under the tables\n');
}

void main();
