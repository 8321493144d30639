import { parseArgs } from 'node:util';
import { CLIENTS, type Client, VARIANTS, type VariantName } from './protocol';

/** The Node.js line whose full run is BENCHMARKS.md; other lines are shown beside it (--beside). */
export const MAIN_NODE_LINE = 24;

/** The major version of the Node.js running this process. */
export function nodeLine(version: string = process.version): number {
  return Number.parseInt(version.replace(/^v/, ''), 10);
}

/** Broker jobs are the slow ones: the variants the targets need, not the `-0%` and `sdk` ones. */
const BROKER_DEFAULT: VariantName[] = [
  'none',
  'floor',
  'floor-1%',
  'shape',
  'contrib',
  'contrib-1%',
  'mqtrail',
  'mqtrail-1%',
];
const SOAK_VARIANTS: VariantName[] = ['none', 'mqtrail', 'mqtrail-1%'];

export interface Sizes {
  hotMessages: number;
  hotWarmup: number;
  brokerMessages: number;
  brokerWarmup: number;
  soakMessages: number;
  soakSampleEvery: number;
  profileMessages: number;
  /** metric-point micro-benchmark: timed calls per round and approach, and rounds. */
  microCalls: number;
  microRounds: number;
}

export interface Options {
  quick: boolean;
  reps: number;
  clients: Client[];
  hot: boolean;
  broker: boolean;
  soak: boolean;
  /** The metric-point micro-benchmark, once per repetition. */
  micro: boolean;
  profile: boolean;
  /** Variants of the hot-path workloads. */
  hotVariants: VariantName[];
  /** Variants of the broker workloads (the slow ones). */
  brokerVariants: VariantName[];
  /** `--variants` chose a subset: such a run is partial. */
  variantsChosen: boolean;
  /** Variants of the soak, `none` the reference. */
  soakVariants: VariantName[];
  /** Results JSON of a run on another Node line, shown beside this run's targets. */
  beside: string | undefined;
  /** Free text shown above the tables, e.g. "shared machine, tests running". */
  note: string | undefined;
  sizes: Sizes;
  /** Messages per kafkajs send, per amqplib confirm wait, per hot-path step. */
  batch: number;
  prefetch: number;
}

export const USAGE = `Usage: pnpm bench [options]

Runs the same workloads, interleaved and repeated, with no instrumentation (none), the
OpenTelemetry contrib instrumentations and mqtrail, each job in its own child process, and writes
bench/results/<date>.json. A full run on Node ${MAIN_NODE_LINE} (the main line) also writes latest.json and
BENCHMARKS.md; a full run on another line writes latest-node<line>.json, for --beside.

  --quick              smoke run: fewer messages, one repetition, no soak (writes <date>-quick.json only)
  --only kafkajs|amqplib
  --reps N             repetitions of every workload (default 3; --quick: 1)
  --no-soak            skip the soak (1,000,000 hot-path messages through none, mqtrail and
                       mqtrail-1%, heap after GC every 100k); --soak runs it in a --quick run too
  --no-micro           skip the metric-point micro-benchmark (one job per repetition)
  --profile            also CPU-profile the hot path of mqtrail, mqtrail-1%, mqtrail-0%, contrib and
                       contrib-1% (bench/results/profiles/: .cpuprofile for DevTools, .md summaries)
  --no-hot             skip the hot-path workloads
  --no-broker          skip the real-broker workloads (they need scripts/services/ctl up kafka rabbitmq)
  --variants a,b       variants for the hot-path and broker workloads (default: all eleven on the hot
                       path; ${BROKER_DEFAULT.join(',')} on brokers)
  --beside FILE        the results JSON of a full run on another Node line (bench/results/latest-node22.json):
                       its targets table goes into BENCHMARKS.md beside this run's
  --note TEXT          shown above the tables (e.g. "shared machine")
  -h, --help`;

function positiveInteger(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return parsed;
}

export function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      reps: { type: 'string' },
      soak: { type: 'boolean', default: false },
      'no-soak': { type: 'boolean', default: false },
      'no-micro': { type: 'boolean', default: false },
      beside: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'no-hot': { type: 'boolean', default: false },
      'no-broker': { type: 'boolean', default: false },
      variants: { type: 'string' },
      note: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';

  let clients: Client[] = [...CLIENTS];
  if (values.only !== undefined) {
    if (!CLIENTS.includes(values.only as Client))
      throw new Error(`--only must be kafkajs or amqplib, got "${values.only}"`);
    clients = [values.only as Client];
  }
  let hotVariants = [...VARIANTS];
  let brokerVariants = [...BROKER_DEFAULT];
  if (values.variants !== undefined) {
    const chosen = values.variants.split(',').map((name) => name.trim());
    for (const name of chosen) {
      if (!VARIANTS.includes(name as VariantName)) {
        throw new Error(`--variants: unknown variant "${name}" (known: ${VARIANTS.join(', ')})`);
      }
    }
    // `none` is the baseline every ratio divides by.
    const withBaseline = ['none', ...chosen.filter((name) => name !== 'none')] as VariantName[];
    hotVariants = withBaseline;
    brokerVariants = withBaseline;
  }

  const quick = values.quick;
  const reps = values.reps === undefined ? (quick ? 1 : 3) : positiveInteger('reps', values.reps);
  const sizes: Sizes = quick
    ? {
        hotMessages: 10_000,
        hotWarmup: 2_000,
        brokerMessages: 10_000,
        brokerWarmup: 1_000,
        soakMessages: 100_000,
        soakSampleEvery: 10_000,
        profileMessages: 20_000,
        microCalls: 50_000,
        microRounds: 3,
      }
    : {
        hotMessages: 50_000,
        hotWarmup: 10_000,
        brokerMessages: 100_000,
        brokerWarmup: 5_000,
        soakMessages: 1_000_000,
        soakSampleEvery: 100_000,
        profileMessages: 100_000,
        microCalls: 100_000,
        microRounds: 5,
      };
  return {
    quick,
    reps,
    clients,
    hot: !values['no-hot'],
    broker: !values['no-broker'],
    soak: !values['no-soak'] && (values.soak || !quick),
    micro: !values['no-micro'],
    profile: values.profile,
    hotVariants,
    brokerVariants,
    variantsChosen: values.variants !== undefined,
    soakVariants: [...SOAK_VARIANTS],
    beside: values.beside,
    note: values.note,
    sizes,
    batch: 100,
    prefetch: 100,
  };
}
