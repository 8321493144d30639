import { parseArgs } from 'node:util';
import { CLIENTS, type Client, VARIANTS, type VariantName } from './protocol';

export interface Sizes {
  hotMessages: number;
  hotWarmup: number;
  brokerMessages: number;
  brokerWarmup: number;
  soakMessages: number;
  soakSampleEvery: number;
  profileMessages: number;
}

export interface Options {
  quick: boolean;
  reps: number;
  clients: Client[];
  hot: boolean;
  broker: boolean;
  soak: boolean;
  profile: boolean;
  /** Variants of the hot-path workloads. */
  hotVariants: VariantName[];
  /** Variants of the broker workloads (the slow ones). */
  brokerVariants: VariantName[];
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
bench/results/<date>.json and BENCHMARKS.md.

  --quick              smoke run: fewer messages, one repetition (writes <date>-quick.json only)
  --only kafkajs|amqplib
  --reps N             repetitions of every workload (default 3; --quick: 1)
  --soak               also push 1,000,000 hot-path messages through mqtrail (and none), heap after GC every 100k
  --profile            also CPU-profile the hot path of mqtrail, mqtrail-0% and contrib
                       (bench/results/profiles/: .cpuprofile for DevTools, .md summaries)
  --no-hot             skip the hot-path workloads
  --no-broker          skip the real-broker workloads (they need scripts/services/ctl up kafka rabbitmq)
  --variants a,b       variants for every workload (default: all seven on the hot path,
                       none,floor,contrib,mqtrail,mqtrail-0% on brokers)
  --note TEXT          shown above the tables (e.g. "shared machine")
  -h, --help`;

const BROKER_DEFAULT: VariantName[] = ['none', 'floor', 'contrib', 'mqtrail', 'mqtrail-0%'];

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
      }
    : {
        hotMessages: 50_000,
        hotWarmup: 10_000,
        brokerMessages: 100_000,
        brokerWarmup: 5_000,
        soakMessages: 1_000_000,
        soakSampleEvery: 100_000,
        profileMessages: 100_000,
      };
  return {
    quick,
    reps,
    clients,
    hot: !values['no-hot'],
    broker: !values['no-broker'],
    soak: values.soak,
    profile: values.profile,
    hotVariants,
    brokerVariants,
    note: values.note,
    sizes,
    batch: 100,
    prefetch: 100,
  };
}
