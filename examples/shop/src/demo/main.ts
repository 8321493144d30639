/**
 * `pnpm demo`: runs the shop against the local services and shows what mqtrail saw.
 *
 *   --duration <s>   how long orders are placed (default 30)
 *   --forever        place orders until Ctrl-C
 *   --rate <n>       orders per second (default 5)
 *   --quiet-faults   no fault injection
 *   --pipeline       export spans through the collector and Kafka (topic otlp_spans) instead of
 *                    straight to Jaeger: the production layout of docs/scale.md
 *   --summary-json <file>  also write the counts and the shown trace id as JSON (for tests)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AUDIT_GRACE_MS, compareWithBatch, type FollowAudit, startFollowAudit } from './audit';
import { describeRoute, spanRoute } from './pipeline';
import { type RunningService, SHOP_SERVICES, startService, stopService } from './services';
import { printSummary } from './summary';
import { Tally } from './tally';

const REPO = path.join(__dirname, '..', '..', '..', '..');

function ensureServices(): void {
  const ctl = path.join(REPO, 'scripts', 'services', 'ctl');
  try {
    execFileSync(ctl, ['status'], { stdio: 'ignore' });
  } catch {
    console.log('Starting local services (RabbitMQ, Kafka, Jaeger, Prometheus, the span collector)…');
    execFileSync(ctl, ['up'], { stdio: 'inherit' });
  }
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '30' },
      forever: { type: 'boolean', default: false },
      rate: { type: 'string', default: '5' },
      'quiet-faults': { type: 'boolean', default: false },
      pipeline: { type: 'boolean', default: false },
      'summary-json': { type: 'string' },
    },
  });
  const duration = Number(values.duration);
  const rate = Number(values.rate);
  if (!Number.isFinite(duration) || duration <= 0) throw new Error('--duration must be a positive number of seconds');
  if (!Number.isFinite(rate) || rate <= 0 || rate > 200)
    throw new Error('--rate must be between 0 and 200 orders per second');
  return {
    durationMs: values.forever ? Number.POSITIVE_INFINITY : duration * 1000,
    rate,
    faults: !values['quiet-faults'],
    pipeline: values.pipeline,
    summaryJson: values['summary-json'],
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const options = parseOptions();
  ensureServices();

  const route = spanRoute(options.pipeline);
  console.log(describeRoute(route));
  // With --pipeline, one `mqtrail audit --follow` worker reads route.kafka.topic while the shop runs.
  const windowStart = Date.now();
  const follow: FollowAudit | undefined = route.kafka === undefined ? undefined : startFollowAudit(route, windowStart);

  const tally = new Tally();
  const env: Record<string, string> = {
    SHOP_ORDER_RATE: String(options.rate),
    OTEL_EXPORTER_OTLP_ENDPOINT: route.otlpEndpoint,
  };
  if (!options.faults) {
    for (const name of ['FAIL', 'SLOW', 'REDELIVER', 'DUPLICATE', 'UNROUTABLE', 'STRAND'])
      env[`SHOP_${name}_RATE`] = '0';
  }

  let shopStopped = Date.now();
  const running: RunningService[] = [];
  const stopAll = async () => {
    for (const service of [...running].reverse()) await stopService(service);
  };
  try {
    // Consumers first, so no order waits for a consumer that is still starting.
    for (const name of SHOP_SERVICES) {
      const service = startService(name, env, (event) => tally.add(event));
      running.push(service);
      await service.ready;
    }
    console.log(
      options.durationMs === Number.POSITIVE_INFINITY
        ? 'Shop running; Ctrl-C to stop.'
        : `Shop running for ${options.durationMs / 1000}s…`,
    );

    const started = Date.now();
    let interrupted = false;
    process.once('SIGINT', () => {
      interrupted = true;
    });
    while (!interrupted && Date.now() - started < options.durationMs) {
      await sleep(2000);
      console.log(tally.progressLine(Math.round((Date.now() - started) / 1000)));
    }

    // Stop placing orders, let the chain drain, then stop the consumers (they flush on exit).
    const orders = running.find((service) => service.name === 'orders');
    if (orders) await stopService(orders);
    const drainDeadline = Date.now() + 20_000;
    while (tally.inFlight > 0 && Date.now() < drainDeadline) await sleep(250);
    await stopAll();
    shopStopped = Date.now();
  } catch (error) {
    await stopAll();
    await follow?.stop();
    throw error;
  }
  let audit: Awaited<ReturnType<typeof compareWithBatch>> | undefined;
  try {
    const shownTraceId = await printSummary(tally, route);
    if (follow !== undefined) {
      // A lost message is certain to the stream between one and two grace periods after its send.
      const settleUntil = shopStopped + 2 * AUDIT_GRACE_MS + 3_000;
      if (Date.now() < settleUntil) await sleep(settleUntil - Date.now());
      audit = await compareWithBatch(follow, windowStart, Date.now());
      for (let attempt = 0; !audit.equal && attempt < 3; attempt++) {
        await sleep(3_000);
        console.log('  (late spans? comparing again)');
        audit = await compareWithBatch(follow, windowStart, Date.now());
      }
    }
    if (options.summaryJson !== undefined) {
      writeFileSync(
        options.summaryJson,
        JSON.stringify(
          { traceId: shownTraceId, counts: tally.counts, ...(audit === undefined ? {} : { audit }) },
          null,
          2,
        ),
      );
    }
  } finally {
    const code = await follow?.stop();
    if (follow !== undefined) console.log(`Audit worker stopped (SIGTERM), exit code ${code}.`);
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
