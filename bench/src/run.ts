/**
 * `pnpm bench`: plans the jobs, runs each in its own child process (variants interleaved, their
 * order rotated per repetition), and writes bench/results/<date>.json, latest.json and
 * BENCHMARKS.md. See bench/README.md for what each workload does.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { currentLoad, describeMachine, packageVersions } from './machine';
import { MAIN_NODE_LINE, nodeLine, type Options, parseOptions, USAGE } from './options';
import { planJobs } from './plan';
import { renderProfile, summarizeProfile } from './profile';
import type { HotJob, Job, JobResult, VariantName } from './protocol';
import { type RunReport, readBeside, renderMarkdown } from './report';
import { checkTargets, summarizeResults, summarizeSoak, workloadOf } from './summary';

const BENCH_DIR = resolve(__dirname, '..');
const REPO_ROOT = resolve(BENCH_DIR, '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const PROFILES_DIR = join(RESULTS_DIR, 'profiles');
const CHILD = join(__dirname, 'child.js');
/** A job that takes longer is stuck (a broker gone away): it is killed and reported. */
const JOB_TIMEOUT_MS = 10 * 60_000;

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
  if (!result.ok || result.telemetry === undefined || result.job.kind === 'soak' || result.job.kind === 'micro') return;
  const { job } = result;
  const operations =
    job.kind === 'hot' ? Object.keys(result.measurements).filter((k) => k.endsWith('.nsPerMessage')).length : 1;
  const messages = (job.messages + job.warmup) * operations;
  result.measurements['telemetry.spansPerMessage'] = result.telemetry.spans / messages;
}

function headline(result: JobResult): string {
  if (!result.ok) return `FAILED: ${result.error}`;
  const m = result.measurements;
  if (result.job.kind === 'micro') {
    return Object.entries(m)
      .filter(([key]) => key.startsWith('latency.'))
      .map(([key, value]) => `${key.replace('latency.', '').replace('.nsPerPoint', '')} ${value.toFixed(0)} ns`)
      .join(', ');
  }
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
    for (const variant of ['mqtrail', 'mqtrail-1%', 'mqtrail-0%', 'contrib', 'contrib-1%'] as VariantName[]) {
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

  // Read before the run, so a wrong path fails now rather than after it.
  let beside: RunReport | undefined;
  try {
    beside = options.beside === undefined ? undefined : readBeside(options.beside);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const line = nodeLine();
  const mainLine = line === MAIN_NODE_LINE;
  if (!mainLine) {
    process.stdout.write(
      `Node ${process.version} is not the main line (${MAIN_NODE_LINE}): a full run writes ` +
        `bench/results/latest-node${line}.json for \`--beside\`, not BENCHMARKS.md\n`,
    );
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
    args: process.argv.slice(2),
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
  const markdown = renderMarkdown(report, beside);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const complete =
    !options.quick &&
    options.hot &&
    options.broker &&
    options.soak &&
    options.micro &&
    options.clients.length === 2 &&
    !options.variantsChosen;
  const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\..*/, '');
  const kind = options.quick ? '-quick' : complete ? '' : '-partial';
  const file = join(RESULTS_DIR, `${stamp}${kind}${mainLine ? '' : `-node${line}`}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  const updated: string[] = [];
  if (complete && mainLine) {
    // Only a full run on the main line replaces the published numbers; other runs stay beside them.
    writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
    writeFileSync(join(REPO_ROOT, 'BENCHMARKS.md'), markdown);
    updated.push('bench/results/latest.json', 'BENCHMARKS.md');
  } else if (complete) {
    writeFileSync(join(RESULTS_DIR, `latest-node${line}.json`), json);
    updated.push(`bench/results/latest-node${line}.json (pass it to --beside on Node ${MAIN_NODE_LINE})`);
  }

  process.stdout.write(`\n${markdown}\n`);
  process.stdout.write(`results: ${file}\n`);
  if (updated.length > 0) process.stdout.write(`updated: ${updated.join(', ')}\n`);
  else
    process.stdout.write(
      'latest*.json and BENCHMARKS.md are only replaced by a full run (no --quick, --only, --variants, --no-*)\n',
    );
  for (const profile of profiles) process.stdout.write(`profile: ${profile}\n`);
  if (results.some((result) => !result.ok)) process.stdout.write('some jobs failed: see the list under the tables\n');
}

void main();
