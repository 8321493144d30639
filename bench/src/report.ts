/** BENCHMARKS.md, generated from one run's results (and, beside them, another Node line's run). */
import { readFileSync } from 'node:fs';
import type { Machine } from './machine';
import { MAIN_NODE_LINE, nodeLine, type Options } from './options';
import { type JobResult, METRIC_POINT_LABEL_SETS, metricPointKey, VARIANTS, type VariantName } from './protocol';
import {
  checkTargets,
  find,
  medianRange,
  rollUpTargets,
  type SoakSummary,
  type SummaryEntry,
  TARGET_TITLES,
  type TargetCheck,
} from './summary';

export interface RunReport {
  /** The command line's options (absent in results written before they were recorded). */
  args?: string[];
  startedAt: string;
  durationSeconds: number;
  options: Options;
  machine: Machine;
  versions: Record<string, string>;
  summary: SummaryEntry[];
  soak: SoakSummary[];
  targets: TargetCheck[];
  jobs: JobResult[];
}

const integer = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const decimal = (value: number, digits = 2) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
const megabytes = (bytes: number) => decimal(bytes / 2 ** 20, 2);

interface MetricRow {
  metric: string;
  label: string;
  format: (value: number) => string;
}

const HOT_ROWS: Record<string, MetricRow[]> = {
  'hot/kafkajs': [
    { metric: 'produce.nsPerMessage', label: 'kafkajs produce (`send` of 100)', format: integer },
    { metric: 'consume.nsPerMessage', label: 'kafkajs consume (`eachMessage`, batches of 100)', format: integer },
    {
      metric: 'telemetry.spansPerMessage',
      label: 'kafkajs spans exported per message and operation',
      format: (v) => decimal(v, 3),
    },
  ],
  'hot/amqplib': [
    { metric: 'publish.nsPerMessage', label: 'amqplib `publish`', format: integer },
    { metric: 'publish-confirm.nsPerMessage', label: 'amqplib `publish` on a confirm channel', format: integer },
    { metric: 'consume.nsPerMessage', label: 'amqplib consume + `ack`', format: integer },
    {
      metric: 'telemetry.spansPerMessage',
      label: 'amqplib spans exported per message and operation',
      format: (v) => decimal(v, 3),
    },
  ],
};

const BROKER_ROWS: MetricRow[] = [
  { metric: 'send.messagesPerSecond', label: 'send msg/s', format: integer },
  { metric: 'e2e.messagesPerSecond', label: 'end-to-end msg/s', format: integer },
  { metric: 'latency.p50Ms', label: 'delivery latency p50 (ms)', format: (v) => decimal(v, 1) },
  { metric: 'latency.p99Ms', label: 'delivery latency p99 (ms)', format: (v) => decimal(v, 1) },
  { metric: 'heap.growthBytesPer100k', label: 'heap growth per 100k msgs (MiB)', format: megabytes },
  { metric: 'telemetry.spansPerMessage', label: 'spans exported per message', format: (v) => decimal(v, 3) },
];

const BROKER_TITLES: Record<string, string> = {
  'broker/kafkajs': 'kafkajs — `send` batches of 100, one consumer (`eachMessage`), 1 partition',
  'broker/amqplib-plain': 'amqplib — plain channel `publish`, consumer prefetch 100 with `ack`',
  'broker/amqplib-confirm': 'amqplib — confirm channel, `waitForConfirms` every 100, consumer prefetch 100 with `ack`',
};

const STATUS_TEXT: Record<TargetCheck['status'], string> = {
  met: '✅ met',
  missed: '❌ missed',
  unreachable: '⛔ unreachable (the floor misses it too)',
  'not measured': '— not measured',
};

/** A results JSON written by `pnpm bench` (another Node line's run, for `--beside`). */
export function readBeside(path: string): RunReport {
  let parsed: Partial<RunReport>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunReport>;
  } catch (error) {
    throw new Error(`--beside ${path}: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed.summary) || !Array.isArray(parsed.soak) || parsed.machine === undefined) {
    throw new Error(`--beside ${path}: not a results JSON written by pnpm bench`);
  }
  return parsed as RunReport;
}

function nodeLabel(machine: Machine): string {
  return `Node ${machine.node}${nodeLine(machine.node) === MAIN_NODE_LINE ? ' (main line)' : ''}`;
}

function checkRow(check: TargetCheck): string[] {
  return [check.check, check.workload, check.value, check.floor, STATUS_TEXT[check.status], check.figures];
}

const CHECK_HEADER = ['Check', 'Workload', 'Value', 'Floor', 'Status', 'Figures: medians (min–max)'];

/** The targets of one run: a line per target with how many of its checks are met, then the checks. */
function targetsSection(checks: readonly TargetCheck[], headingLevel: string): string[] {
  const out: string[] = [];
  for (const rollUp of rollUpTargets(checks)) {
    const mark = rollUp.status === 'met' ? '✅' : rollUp.status === 'not measured' ? '—' : '❌';
    out.push(
      `${headingLevel} ${mark} ${rollUp.target}. ${TARGET_TITLES[rollUp.target]} — ${rollUp.met} of ${rollUp.total} checks met`,
      '',
      table(CHECK_HEADER, checks.filter((check) => check.target === rollUp.target).map(checkRow)),
      '',
    );
  }
  return out;
}

function runLine(report: RunReport): string {
  const { machine, options } = report;
  return (
    `${nodeLabel(machine)}, run of ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ` +
    `${options.reps} repetition${options.reps > 1 ? 's' : ''}${options.quick ? ' (quick)' : ''}, ` +
    `1-min load average ${machine.loadAverage.start} at start, ${machine.loadAverage.end ?? 'n/a'} at end`
  );
}

function cell(entry: SummaryEntry | undefined, format: (value: number) => string, showRatio: boolean): string {
  if (entry === undefined) return '—';
  const range = entry.n > 1 ? ` (${format(entry.min)}–${format(entry.max)})` : '';
  const times = showRatio && Number.isFinite(entry.ratioToNone) ? ` · ${decimal(entry.ratioToNone)}×` : '';
  return `${format(entry.median)}${range}${times}`;
}

function variantsIn(entries: readonly SummaryEntry[], workloadPrefix: string): VariantName[] {
  const order: VariantName[] = [...VARIANTS];
  const present = new Set(entries.filter((e) => e.workload.startsWith(workloadPrefix)).map((e) => e.variant));
  return order.filter((variant) => present.has(variant));
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function failures(jobs: readonly JobResult[]): string {
  const failed = jobs.filter((job) => !job.ok);
  if (failed.length === 0) return '';
  const reasons = new Map<string, number>();
  for (const job of failed) {
    const key = `${job.job.kind}/${job.job.client}${job.job.kind === 'broker' && job.job.mode !== 'default' ? `-${job.job.mode}` : ''} ${job.job.variant}: ${(job.error ?? 'unknown').replace(/\s+/g, ' ')}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  return [
    '',
    '**Jobs that produced no numbers** (their cells show —):',
    '',
    ...[...reasons].map(([reason, count]) => `- ${reason}${count > 1 ? ` (×${count})` : ''}`),
    '',
  ].join('\n');
}

export function renderMarkdown(report: RunReport, beside?: RunReport): string {
  const { options, machine, summary } = report;
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`${['pnpm bench', ...(report.args ?? (options.quick ? ['--quick'] : []))].join(' ')}\` (bench/) ` +
      `on ${report.startedAt.slice(0, 10)}; ` +
      `the run took ${Math.round(report.durationSeconds / 60)} min. Do not edit by hand: run the command again. ` +
      `Raw numbers: \`bench/results/\`.`,
    '',
  );
  if (options.note !== undefined) out.push(`> **Note:** ${options.note}`, '');
  out.push(
    `**${nodeLabel(machine)}.** Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; ` +
      `1-min load average ${machine.loadAverage.start} at start, ${machine.loadAverage.end ?? 'n/a'} at end. ` +
      'Brokers (Kafka 3.9, RabbitMQ 3.10) run on the same machine, reached over 127.0.0.1.',
    '',
  );
  out.push(
    `Versions: ${Object.entries(report.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    '',
  );
  out.push(
    'Variants: **none** — no OpenTelemetry at all; **sdk** — the SDK set-up below with no instrumentation; ' +
      '**floor** — the same SDK with the least a span-per-message instrumentation does (`bench/src/floor.ts`: span, ' +
      'propagation, `context.with`, nothing else); **shape** — the floor whose spans carry what mqtrail’s do ' +
      '(`bench/src/floor-shape.ts`: the same attributes, link and settle event, nothing else of mqtrail’s work); ' +
      '**contrib** — the OpenTelemetry contrib instrumentation; ' +
      '**mqtrail** — ours. No suffix: every trace sampled (`ParentBased(AlwaysOn)`); **-1%** — production’s ' +
      '`ParentBased(TraceIdRatioBased(0.01))`, every mqtrail metric on; **-0%** — `ParentBased(TraceIdRatioBased(0))`. ' +
      'On the hot path the synthetic upstream `traceparent`s follow the variant’s ratio: flag 01 on every message at ' +
      '100%, on every 100th at 1%, on none at 0%. Instrumented variants share ' +
      'one SDK set-up: `TracerProvider` with a `BatchSpanProcessor` in front of an exporter that only counts, ' +
      '`AsyncLocalStorageContextManager`, W3C trace-context + baggage propagators, and a `MeterProvider` with a ' +
      'periodic reader (10 s). Every job runs in its own process; variants are interleaved and their order rotated ' +
      `per repetition. Cells: median over ${options.reps} repetition${options.reps > 1 ? 's' : ''} (min–max) · ratio to none.`,
    '',
  );

  out.push('## Targets (issue #13)', '');
  out.push(
    `${runLine(report)}. Value: the figure the target compares (a ratio of medians). Floor: the same ` +
      'figure for the `floor-1%` variant for the 1% checks; for full sampling, the `shape` variant (the floor with ' +
      'mqtrail’s span content, which the issue rules out changing); for the metrics cost, a hand-written ' +
      'pre-aggregated histogram (bench/src/micro/metric-point.ts). Where the floor misses a target too, nothing ' +
      'doing that work on this SDK can meet it. Target 4 (the unsampled fast path) is a property of ' +
      'the code, not a figure: its effect shows in the -1% and -0% columns.',
    '',
  );
  out.push(...targetsSection(report.targets, '###'));
  if (beside !== undefined) {
    out.push(`### Beside it: Node ${beside.machine.node}`, '');
    out.push(
      `${runLine(beside)}: the same checks with the same rules, recomputed from that run’s results JSON ` +
        '(`--beside`), on the same machine; its full tables are in that file.',
      '',
    );
    const besideChecks = checkTargets(beside.summary, beside.soak);
    for (const rollUp of rollUpTargets(besideChecks)) {
      const mark = rollUp.status === 'met' ? '✅' : rollUp.status === 'not measured' ? '—' : '❌';
      out.push(
        `- ${mark} ${rollUp.target}. ${TARGET_TITLES[rollUp.target]} — ${rollUp.met} of ${rollUp.total} checks met`,
      );
    }
    out.push(
      '',
      table(
        ['#', ...CHECK_HEADER],
        besideChecks.map((check) => [String(check.target), ...checkRow(check)]),
      ),
      '',
    );
  }

  const hotVariants = variantsIn(summary, 'hot/');
  if (hotVariants.length > 0) {
    out.push('## Hot path, no broker: ns per message', '');
    out.push(
      `${options.sizes.hotMessages.toLocaleString('en-US')} messages per operation after ` +
        `${options.sizes.hotWarmup.toLocaleString('en-US')} of warm-up, real client objects with the network ` +
        'replaced (see bench/README.md). Lower is better.',
      '',
    );
    const rows: string[][] = [];
    const overheadRows: string[][] = [];
    for (const [workload, metrics] of Object.entries(HOT_ROWS)) {
      for (const row of metrics) {
        if (find(summary, workload, row.metric, 'none') === undefined) continue;
        rows.push([
          row.label,
          ...hotVariants.map((v) =>
            cell(
              find(summary, workload, row.metric, v),
              row.format,
              v !== 'none' && row.metric.endsWith('.nsPerMessage'),
            ),
          ),
        ]);
        if (!row.metric.endsWith('.nsPerMessage')) continue;
        const share = (ours: VariantName, theirs: VariantName) => {
          const mine = find(summary, workload, row.metric, ours);
          const contrib = find(summary, workload, row.metric, theirs);
          return mine !== undefined && contrib !== undefined ? decimal(mine.overNone / contrib.overNone) : 'n/a';
        };
        overheadRows.push([
          row.label,
          ...hotVariants
            .filter((v) => v !== 'none')
            .map((v) => integer(find(summary, workload, row.metric, v)?.overNone ?? Number.NaN)),
          share('mqtrail-1%', 'contrib-1%'),
          share('mqtrail', 'contrib'),
        ]);
      }
    }
    out.push(table(['Operation', ...hotVariants], rows), '');
    out.push(
      'Overhead over none (median ns per message) — targets: mqtrail-1%’s at most half of contrib-1%’s, ' +
        'mqtrail’s at most contrib’s:',
      '',
    );
    out.push(
      table(
        ['Operation', ...hotVariants.filter((v) => v !== 'none'), 'mqtrail-1% ÷ contrib-1%', 'mqtrail ÷ contrib'],
        overheadRows,
      ),
      '',
    );
  }

  const brokerWorkloads = Object.keys(BROKER_TITLES).filter((w) => summary.some((e) => e.workload === w));
  if (brokerWorkloads.length > 0) {
    out.push('## Real brokers', '');
    out.push(
      `${options.sizes.brokerMessages.toLocaleString('en-US')} messages per job after ` +
        `${options.sizes.brokerWarmup.toLocaleString('en-US')} of warm-up; the consumer runs in the same process as the ` +
        'producer and drains concurrently. send msg/s: messages ÷ time to send them all; end-to-end msg/s: messages ÷ ' +
        'time from the first send to the last message processed. Latency: send time written in the body → start of ' +
        'processing, same clock; at saturation it includes the backlog. Heap: `heapUsed` after forced GC, before and after.',
      '',
    );
    for (const workload of brokerWorkloads) {
      const variants = variantsIn(summary, workload);
      out.push(`### ${BROKER_TITLES[workload]}`, '');
      out.push(
        table(
          ['Metric', ...variants],
          BROKER_ROWS.filter((row) => summary.some((e) => e.workload === workload && e.metric === row.metric)).map(
            (row) => [
              row.label,
              ...variants.map((v) =>
                cell(
                  find(summary, workload, row.metric, v),
                  row.format,
                  v !== 'none' && !/^(telemetry|heap)\./.test(row.metric),
                ),
              ),
            ],
          ),
        ),
        '',
      );
    }
  }

  out.push(...metricPointSection(summary));

  if (report.soak.length > 0) {
    out.push('## Soak: heap after GC', '');
    out.push(
      table(
        [
          'Client',
          'Variant',
          'Messages',
          'Heap at first sample (MiB)',
          'Heap at end (MiB)',
          'Growth after first sample (MiB)',
          'Trend (B/message)',
          'Flat',
        ],
        report.soak.map((s) => [
          s.client,
          s.variant,
          s.messages.toLocaleString('en-US'),
          megabytes(s.heapAfterFirstInterval),
          megabytes(s.heapEnd),
          megabytes(s.growthAfterFirstInterval),
          decimal(s.slopeBytesPerMessage),
          s.flat ? 'yes' : 'no',
        ]),
      ),
      '',
      'Samples (messages → heapUsed MiB):',
      '',
      ...report.soak.map(
        (s) => `- ${s.client} ${s.variant}: ${s.samples.map(([m, h]) => `${m / 1000}k→${megabytes(h)}`).join(', ')}`,
      ),
      '',
    );
  }

  out.push(failures(report.jobs));
  if (beside?.jobs.some((job) => !job.ok)) {
    out.push(`The Node ${beside.machine.node} run beside it had failed jobs too: see its results JSON.`);
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The metric-point micro-benchmark: ns per point, each approach, each label set. */
function metricPointSection(summary: readonly SummaryEntry[]): string[] {
  const entries = summary.filter((e) => e.workload === 'micro/metric-point');
  if (entries.length === 0) return [];
  const of = (key: string) => entries.find((e) => e.metric === key);
  const ns = (value: number) => decimal(value, 0);
  const rows: string[][] = [];
  for (const recording of ['latency', 'process'] as const) {
    for (const labelSet of METRIC_POINT_LABEL_SETS) {
      const sdk = of(metricPointKey(recording, labelSet, 'sdk'));
      const mqtrail = of(metricPointKey(recording, labelSet, 'mqtrail'));
      const floor = of(metricPointKey(recording, labelSet, 'floor'));
      if (sdk === undefined && mqtrail === undefined) continue;
      const share = sdk !== undefined && mqtrail !== undefined ? mqtrail.median / sdk.median : Number.NaN;
      rows.push([
        recording === 'latency'
          ? `delivery latency point (\`recordDeliveryLatency\`), ${labelSet} consumer labels`
          : `process duration (\`startProcess\` + end, clock reads included), ${labelSet} consumer labels`,
        medianRange(sdk, ns),
        medianRange(mqtrail, ns),
        floor === undefined ? '—' : medianRange(floor, ns),
        Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : 'n/a',
      ]);
    }
  }
  return [
    '## Metrics cost: one histogram point (micro-benchmark `metric-point`)',
    '',
    'ns per point, in a child process with the `sdk` set-up, approaches in alternating rounds (median of rounds per ' +
      'repetition; cells: median over repetitions, min–max). The SDK column records the same point (same name, ' +
      'unit, buckets and attributes) with `Histogram.record`; mqtrail’s goes through `MessagingMetrics`’ public ' +
      'method; the floor is a hand-written pre-aggregated histogram (series by labels object, bucket scan, count, ' +
      'sum, min, max). Target 3 is the delivery-latency rows.',
    '',
    table(['Point', 'SDK Histogram.record', 'mqtrail (MessagingMetrics)', 'floor', 'mqtrail ÷ SDK'], rows),
    '',
  ];
}
