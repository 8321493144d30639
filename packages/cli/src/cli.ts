import { Command, CommanderError, Option } from 'commander';
import { breaches, DEFAULT_FAIL_ON, parseFailOn } from './audit/policy';
import { renderAudit, renderFinding } from './audit/render';
import { runAudit } from './audit/run';
import type { ScanProgress } from './audit/scan';
import { fetchChain } from './chain/fetch';
import { renderChain } from './chain/render';
import { parseDuration } from './duration';
import { ExitCode, InvalidArgumentError, KafkaUnreachableError, MqtrailCliError } from './errors';
import { findMessageTraces } from './find';
import { FollowWorker } from './follow/worker';
import { formatTime } from './format';
import { DEFAULT_JAEGER_URL, JaegerClient, normalizeTraceId } from './jaeger/client';

const { version } = require('../package.json') as { version: string };

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Everything the command touches outside itself, so it runs in-process in tests and other programs. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** Epoch milliseconds. */
  now: () => number;
  /** Used for every request to Jaeger. Default the global fetch. */
  fetch?: typeof fetch;
  /**
   * Calls `stop` once when the command should end (`audit --follow`); returns the unsubscribe.
   * Default: SIGTERM and SIGINT.
   */
  onStop?: (stop: () => void) => () => void;
}

function onSignals(stop: () => void): () => void {
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  };
}

const EXIT_CODES_HELP = `
Exit codes:
  0   success (audit: no finding over the --fail-on thresholds)
  1   Jaeger unreachable or answering with an error, unknown trace, unexpected error
  2   audit: findings over the --fail-on thresholds
  64  bad arguments

Environment:
  MQTRAIL_JAEGER_URL     Jaeger query service URL, when --jaeger-url is not given (default ${DEFAULT_JAEGER_URL})
  MQTRAIL_KAFKA_BROKERS  audit --follow: bootstrap brokers, when --kafka-brokers is not given
  NO_COLOR            no colours, even on a terminal`;

interface GlobalOptions {
  jaegerUrl?: string;
  color?: boolean;
}

/**
 * Runs the `mqtrail` command with `argv` (the arguments after the command name) and resolves with
 * its exit code. Writes only to `io.stdout` / `io.stderr`; never exits the process.
 */
export async function main(argv: readonly string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    now: Date.now,
    ...ioOverrides,
  };
  let exitCode: number = ExitCode.OK;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help / version asked for).
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    if (error instanceof MqtrailCliError) {
      io.stderr.write(`mqtrail: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(
      `mqtrail: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.ERROR;
  }
}

function createProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('mqtrail')
    .description(
      'Follow messages through Kafka and RabbitMQ in the Jaeger traces of the mqtrail instrumentations: ' +
        'draw a consumption chain, find the traces of a message, audit a time window for lost, duplicate, ' +
        'redelivered, dead-lettered, failed and slow messages.',
    )
    .version(version, '-V, --version')
    .addOption(
      new Option(
        '--jaeger-url <url>',
        `Jaeger query service URL (default $MQTRAIL_JAEGER_URL, else ${DEFAULT_JAEGER_URL})`,
      ),
    )
    .option('--color', 'colour the output even when stdout is not a terminal')
    .option('--no-color', 'never colour the output')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(mqtrail --help, or mqtrail <command> --help, for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  const client = (command: Command): JaegerClient => {
    const { jaegerUrl } = command.optsWithGlobals<GlobalOptions>();
    const fromEnv = io.env.MQTRAIL_JAEGER_URL;
    const url = jaegerUrl ?? (fromEnv === undefined || fromEnv === '' ? DEFAULT_JAEGER_URL : fromEnv);
    const urlOption = jaegerUrl !== undefined ? '--jaeger-url' : fromEnv ? 'MQTRAIL_JAEGER_URL' : '--jaeger-url';
    return new JaegerClient({ baseUrl: url, urlOption, ...(io.fetch === undefined ? {} : { fetch: io.fetch }) });
  };
  const useColor = (command: Command): boolean => {
    const { color } = command.optsWithGlobals<GlobalOptions>();
    if (color !== undefined) return color;
    return io.stdout.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
  };
  const printJson = (value: unknown) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

  program
    .command('trace')
    .description(
      "draw a trace's consumption chain: each message, each hop that consumed it, how long it waited, how it ended",
    )
    .argument('<trace-id>', 'trace id, hexadecimal, as Jaeger or `mqtrail find` shows it')
    .option('--json', 'print the chain model (messages and hops) as JSON')
    .option('--no-follow-links', 'do not fetch the traces that linked spans belong to')
    .addHelpText(
      'after',
      '\nwaited    = consume span start − send span start (broker queue, network, prefetch buffer)\n' +
        'processed = consume span duration (delivery to the consumer until it settled the message)\n' +
        'The slowest hop (largest waited + processed) and failed hops are marked.',
    )
    .action(async (traceIdArgument: string, options: { json?: boolean; followLinks: boolean }, command: Command) => {
      const traceId = normalizeTraceId(traceIdArgument);
      const chain = await fetchChain(client(command), traceId, { followLinks: options.followLinks });
      if (options.json) printJson(chain);
      else io.stdout.write(renderChain(chain, { color: useColor(command) }));
    });

  program
    .command('find')
    .description('find the traces of a message by message id, correlation id, Kafka position or routing key')
    .option('--message-id <id>', 'messaging.message.id of the message')
    .option('--correlation-id <id>', 'messaging.message.conversation_id (AMQP correlation id)')
    .option('--topic <topic>', 'Kafka topic; add --partition and --offset for one message')
    .option('--partition <n>', 'Kafka partition (with --topic)')
    .option('--offset <n>', 'Kafka offset (with --topic and --partition)')
    .option('--routing-key <key>', 'RabbitMQ routing key')
    .addOption(listOption('--service <name>', 'search only these services', 'every service'))
    .option('--since <duration>', 'how far back to search, like 30m, 6h or 7d', '24h')
    .option('--limit <n>', 'most traces to print', '20')
    .option('--json', 'print the traces as JSON')
    .action(async (options: FindCommandOptions, command: Command) => {
      const sinceMs = parseDuration(options.since, '--since');
      const limit = parseCount(options.limit, '--limit', 1_000);
      const endUs = io.now() * 1_000;
      const found = await findMessageTraces(client(command), options, {
        services: options.service,
        startUs: endUs - sinceMs * 1_000,
        endUs,
        limit,
      });
      if (options.json) {
        printJson(found.map(({ chain: _chain, ...rest }) => rest));
        return;
      }
      if (found.length === 0) {
        io.stderr.write(`mqtrail: no trace in the last ${options.since} has a span matching the query\n`);
        return;
      }
      for (const trace of found) {
        const matched = trace.matched ? ` · matched ${trace.matched.operation} (${trace.matched.service})` : '';
        io.stdout.write(`${trace.traceId}  ${trace.start}  ${trace.summary}${matched}\n`);
      }
    });

  program
    .command('audit')
    .description(
      'scan a time window for lost, duplicate, redelivered, dead-lettered, failed, slow and returned messages; ' +
        'exits 2 when findings pass the --fail-on thresholds',
    )
    .option('--since <duration>', 'window to scan, ending now, like 15m, 2h or 1d', '15m')
    .addOption(listOption('--service <name>', 'services to scan and judge', 'every service'))
    .addOption(listOption('--destination <name>', 'judge only these queues, exchanges or topics', 'all'))
    .option('--grace <duration>', 'a message is lost when not consumed this long after its send', '30s')
    .option('--slow <duration>', 'report chains (first send to last consume end) slower than this')
    .option(
      '--fail-on <kinds>',
      'finding kinds that fail the audit (exit 2), each with an optional :N allowed, or "all" or "none"',
      DEFAULT_FAIL_ON,
    )
    .option('--page-size <n>', 'traces per Jaeger query; the window is sliced so no slice fills it', '500')
    .option('--json', 'print the report as JSON (--follow: each finding as one JSON line)')
    .option('--progress', 'report progress on stderr (default: when stderr is a terminal)')
    .option('--no-progress', 'never report progress')
    .option(
      '--follow',
      'run until SIGTERM/SIGINT as a worker of a streaming audit over the span topic in Kafka, writing each ' +
        'finding once to the findings topic as it becomes certain (see the README)',
    )
    .option('--kafka-brokers <list>', '--follow: comma list of bootstrap brokers (default $MQTRAIL_KAFKA_BROKERS)')
    .option('--spans-topic <topic>', "--follow: the collector's span topic (OTLP/JSON)", 'otlp_spans')
    .option('--findings-topic <topic>', '--follow: where findings are written', 'mqtrail_findings')
    .option('--group <id>', '--follow: consumer group, and prefix of the internal topics', 'mqtrail-audit')
    .option('--metrics-port <port>', '--follow: serve Prometheus metrics on this port')
    .option('--partitions <n>', "--follow: partitions of the internal topics when created (default: the span topic's)")
    .action(async (options: AuditCommandOptions, command: Command) => {
      if (options.follow) {
        await follow(options, command);
        return;
      }
      const sinceMs = parseDuration(options.since, '--since');
      const graceMs = parseDuration(options.grace, '--grace', { allowZero: true });
      const slowMs = options.slow === undefined ? undefined : parseDuration(options.slow, '--slow');
      const policy = parseFailOn(options.failOn);
      if (/\bslow\b/.test(options.failOn) && slowMs === undefined) {
        throw new InvalidArgumentError('--fail-on', 'names slow, which needs --slow <duration> as its threshold');
      }
      const pageSize = parseCount(options.pageSize, '--page-size', 100_000);
      const endUs = io.now() * 1_000;
      const showProgress = options.progress ?? io.stderr.isTTY === true;
      const progress = showProgress ? progressReporter(io) : undefined;
      const report = await runAudit(client(command), {
        startUs: endUs - sinceMs * 1_000,
        endUs,
        graceUs: graceMs * 1_000,
        ...(slowMs === undefined ? {} : { slowUs: slowMs * 1_000 }),
        services: options.service,
        destinations: options.destination,
        pageSize,
        ...(progress === undefined ? {} : { onProgress: progress.update }),
      }).finally(() => progress?.done());
      const failed = breaches(report, policy);
      if (options.json) printJson({ ...report, pass: failed.length === 0, breaches: failed });
      else io.stdout.write(renderAudit(report, { color: useColor(command), breaches: failed }));
      setExitCode(failed.length > 0 ? ExitCode.FINDINGS : ExitCode.OK);
    });

  async function follow(options: AuditCommandOptions, command: Command): Promise<void> {
    const graceMs = parseDuration(options.grace, '--grace');
    const slowMs = options.slow === undefined ? undefined : parseDuration(options.slow, '--slow');
    const brokerList = options.kafkaBrokers ?? io.env.MQTRAIL_KAFKA_BROKERS;
    if (brokerList === undefined || brokerList.trim() === '')
      throw new InvalidArgumentError('--kafka-brokers', 'is required with --follow (or set MQTRAIL_KAFKA_BROKERS)');
    const brokers = brokerList
      .split(',')
      .map((broker) => broker.trim())
      .filter(Boolean);
    const metricsPort =
      options.metricsPort === undefined ? undefined : parseCount(options.metricsPort, '--metrics-port', 65_535);
    const partitions =
      options.partitions === undefined ? undefined : parseCount(options.partitions, '--partitions', 10_000);
    const color = useColor(command);
    const log = (line: string) =>
      io.stderr.write(`${new Date(io.now()).toISOString()} mqtrail audit --follow: ${line}\n`);
    const worker = new FollowWorker({
      brokers,
      spansTopic: options.spansTopic,
      findingsTopic: options.findingsTopic,
      group: options.group,
      graceMs,
      ...(slowMs === undefined ? {} : { slowMs }),
      ...(metricsPort === undefined ? {} : { metricsPort }),
      ...(partitions === undefined ? {} : { partitions }),
      services: options.service,
      destinations: options.destination,
      log,
      onFinding: (record) => {
        io.stdout.write(options.json ? `${JSON.stringify(record)}\n` : `${renderFinding(record.finding, { color })}\n`);
      },
    });
    let stopRequested!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stopRequested = resolve;
    });
    const unsubscribe = (io.onStop ?? onSignals)(() => stopRequested());
    try {
      try {
        await worker.start();
      } catch (error) {
        throw new KafkaUnreachableError(brokers, error);
      }
      log(
        `following ${options.spansTopic} as group ${options.group} (grace ${options.grace}${slowMs === undefined ? '' : `, slow ${options.slow}`}); findings to ${options.findingsTopic}`,
      );
      await stopped;
      log('stopping: committing what is in hand and leaving the group');
    } finally {
      unsubscribe();
      await worker.stop();
    }
  }

  return program;
}

interface FindCommandOptions {
  messageId?: string;
  correlationId?: string;
  topic?: string;
  partition?: string;
  offset?: string;
  routingKey?: string;
  service: string[];
  since: string;
  limit: string;
  json?: boolean;
}

interface AuditCommandOptions {
  since: string;
  service: string[];
  destination: string[];
  grace: string;
  slow?: string;
  failOn: string;
  pageSize: string;
  json?: boolean;
  progress?: boolean;
  follow?: boolean;
  kafkaBrokers?: string;
  spansTopic: string;
  findingsTopic: string;
  group: string;
  metricsPort?: string;
  partitions?: string;
}

/** An option that may be repeated or comma-separated: `--service a,b --service c` → `[a, b, c]`. */
function listOption(flags: string, description: string, defaultText: string): Option {
  return new Option(flags, `${description} (repeat or comma-separate)`).argParser(collect).default([], defaultText);
}

function collect(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ];
}

function parseCount(value: string, option: string, max: number): number {
  const count = Number(value);
  if (!/^\d+$/.test(value.trim()) || count < 1 || count > max) {
    throw new InvalidArgumentError(option, `must be a whole number from 1 to ${max} (got ${JSON.stringify(value)})`);
  }
  return count;
}

/** Progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
function progressReporter(io: CliIo): { update: (progress: ScanProgress) => void; done: () => void } {
  const tty = io.stderr.isTTY === true;
  const interval = tty ? 200 : 5_000;
  let last = 0;
  let written = false;
  return {
    update(progress) {
      const now = io.now();
      const finished = progress.done >= 1;
      if (now - last < interval && !(finished && !tty)) return;
      last = now;
      written = true;
      const line =
        `mqtrail audit: ${progress.service} (${progress.serviceIndex}/${progress.serviceCount}) ` +
        `${Math.floor(progress.done * 100)}% of window · ${progress.traces} traces · ${progress.queries} queries`;
      io.stderr.write(tty ? `\r\u001b[2K${line}` : `${line} · ${formatTime(now * 1_000)}\n`);
    },
    done() {
      if (tty && written) io.stderr.write('\r\u001b[2K');
    },
  };
}
