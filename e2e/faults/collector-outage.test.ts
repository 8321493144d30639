import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Run, run, traceIdOf, warningCount } from '../register/run';
import { endpoints } from '../support/endpoints';
import { fetchTrace, type JaegerTrace } from '../support/jaeger';
import { closedPort, type Forwarder, startForwarder } from './fixtures/collector-forwarder';

// Issue 15, "Collector unreachable for minutes": an app under @mqtrail/register publishes and
// consumes 1,000 msgs/s through the real RabbitMQ for 2 minutes while its OTLP endpoint is a closed
// port, then the collector comes back at that address (a forwarder to Jaeger's OTLP/HTTP). The same
// app against a reachable Jaeger is the baseline. amqplib rather than kafkajs: `sendToQueue` is
// synchronous, so the app can publish exactly what the clock says is due, and the whole round trip
// stays in one process without a consumer group's rebalance eating into the measured window.
const RATE = 1_000;
/** The number; do not shorten. */
const OUTAGE_MS = 120_000;
/** Reachable again: long enough for the backlog to go out and a fresh trace to reach Jaeger. */
const AFTER_MS = 20_000;
const BASELINE_MS = 30_000;
/** Into the "after" phase, the app marks one message whose trace the test looks for. */
const MARKER_MS = 3_000;
/** Achieved rate the app must keep in every phase, outage or not (a generous floor, not a benchmark). */
const MIN_RATE = 0.95 * RATE;
/**
 * Spans an outage can keep alive: the batch span processor's queue (OTEL_BSP_MAX_QUEUE_SIZE = 2048)
 * and the batches being exported, 512 spans each, held through their retries for up to the 2 s
 * export timeout. Failed exports overlap (sdk-trace 3.1's BatchSpanProcessor starts the next one
 * while a failed one is still retrying), up to the OTLP exporter's concurrencyLimit of 30: at most
 * 2048 + 30 × 512 = 17,408 spans, whatever the outage's length. Everything beyond is dropped.
 */
const LIVE_HEAP_ALLOWANCE_MIB = 24;
/**
 * heapUsed sampled once a second, garbage included: V8 lets this app's old generation grow to
 * ~130 MiB between full collections whether or not the collector is reachable.
 */
const PEAK_HEAP_BOUND_MIB = 192;

/** run() resolves scripts in e2e/register/fixtures, where register's own apps live; ours is here. */
const APP = path.relative(
  path.join(__dirname, '../register/fixtures'),
  path.join(__dirname, 'fixtures/collector-app.cjs'),
);

interface PhaseStats {
  seconds: number;
  published: number;
  consumed: number;
  ratePerSecond: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  latencyP99Ms: number;
  heapPeakMiB: number;
  heapMiB: number[];
  liveHeapMiB: number;
}

interface Summary {
  baselineHeapMiB: number;
  phases: Record<string, PhaseStats>;
}

function startApp(name: string, otlpEndpoint: string, phases: string): Run {
  return run('--import', APP, {
    OTEL_SERVICE_NAME: `collector-outage-${name}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    AMQP_URL: endpoints.amqpUrl,
    RATE: String(RATE),
    PHASES: phases,
    MARKER_MS: String(MARKER_MS),
    // For the app's heap measured after a full collection at the end of each phase.
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`,
  });
}

async function summaryOf(app: Run): Promise<Summary> {
  const done = await app.line((line) => line.done === true);
  const exit = await app.exit;
  expect(exit.code, app.stderr()).toBe(0);
  return done.value as unknown as Summary;
}

describe('collector unreachable for 2 minutes under 1,000 msgs/s, then reachable again', () => {
  const apps: Run[] = [];
  let forwarder: Forwarder | undefined;
  let port = 0;
  let reachable: Summary;
  let outage: Summary;
  let outageApp: Run;
  let marker: { trace: JaegerTrace; foundWhileRunning: boolean };

  beforeAll(async () => {
    const baselineApp = startApp('baseline', endpoints.otlpHttp, `reachable:${BASELINE_MS}`);
    apps.push(baselineApp);
    reachable = await summaryOf(baselineApp);

    port = await closedPort();
    outageApp = startApp('outage', `http://127.0.0.1:${port}`, `outage:${OUTAGE_MS},after:${AFTER_MS}`);
    apps.push(outageApp);
    await outageApp.line((line) => line.phaseEnded === 'outage');
    forwarder = await startForwarder(port, new URL(endpoints.otlpHttp).host);

    // Looked for while the app still runs, so it is the steady export that delivers it, not the
    // final flush at exit.
    const { value } = await outageApp.line((line) => line.marker === true);
    const trace = await fetchTrace(traceIdOf(value.traceparent), 2, AFTER_MS - MARKER_MS);
    marker = { trace, foundWhileRunning: !outageApp.lines.some((line) => line.done === true) };
    outage = await summaryOf(outageApp);

    console.log(report(reachable, outage, outageApp));
  }, 300_000);

  afterAll(async () => {
    for (const app of apps) if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    await forwarder?.close();
  });

  it('keeps the pace and consumes everything, as the reachable run does', () => {
    for (const [name, stats] of [
      ['reachable', reachable.phases.reachable],
      ...Object.entries(outage.phases),
    ] as const) {
      expect(stats, name).toBeDefined();
      expect(stats?.ratePerSecond, `${name}: achieved msgs/s`).toBeGreaterThanOrEqual(MIN_RATE);
      expect(stats?.consumed, `${name}: every message published is consumed`).toBe(stats?.published);
    }
  });

  it('holds a bounded heap while spans cannot be exported', () => {
    const live = reachable.phases.reachable?.liveHeapMiB ?? 0;
    expect(outage.phases.outage?.liveHeapMiB, 'live heap at the end of the outage').toBeLessThanOrEqual(
      live + LIVE_HEAP_ALLOWANCE_MIB,
    );
    expect(outage.phases.outage?.heapPeakMiB, 'peak heapUsed during the outage').toBeLessThanOrEqual(
      PEAK_HEAP_BOUND_MIB,
    );
  });

  it('says so once when the outage begins and once when it ends, and nothing else', () => {
    expect(warningCount(outageApp, 'MQTRAIL_EXPORT_FAILED'), outageApp.stderr()).toBe(1);
    expect(warningCount(outageApp, 'MQTRAIL_EXPORT_RECOVERED'), outageApp.stderr()).toBe(1);
    expect(outageApp.stderr()).toContain(
      `cannot export traces to http://127.0.0.1:${port}/v1/traces over http/protobuf (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
    const dropped = /during the outage (\d+) batch(?:es)? \((\d+) spans\) failed to export/.exec(outageApp.stderr());
    expect(Number(dropped?.[1]), 'failed batches counted').toBeGreaterThan(0);
    // No diagnostics per batch, no stack traces: the two warnings (and Node's hint after the first) are all.
    const others = outageApp
      .stderr()
      .split('\n')
      .filter((line) => line !== '' && !line.includes('MqtrailWarning') && !line.includes('--trace-warnings'));
    expect(others).toEqual([]);
    expect(warningCount(apps[0] as Run, 'MQTRAIL_EXPORT_FAILED'), 'the reachable run has no outage').toBe(0);
  });

  it('delivers spans again once the collector is back', () => {
    expect(forwarder?.connections, 'the app connected to the collector once it was back').toBeGreaterThan(0);
    expect(marker.trace.spans.length).toBeGreaterThanOrEqual(2);
    expect(marker.foundWhileRunning, 'found before the app finished, not only by its exit flush').toBe(true);
  });
});

/** The figures of both runs, one phase a line, and the outage run's warnings. */
function report(reachable: Summary, outage: Summary, outageApp: Run): string {
  const phases = { ...reachable.phases, ...outage.phases };
  const rows = Object.entries(phases).map(
    ([name, s]) =>
      `  ${name.padEnd(9)} | ${s.ratePerSecond} | ${s.published}/${s.consumed} | ${s.loopDelayP99Ms}/${s.loopDelayMaxMs} | ` +
      `${s.latencyP99Ms} | ${s.heapPeakMiB} | ${s.liveHeapMiB}`,
  );
  const warnings = outageApp
    .stderr()
    .split('\n')
    .filter((line) => line.includes('MqtrailWarning'));
  return [
    `collector outage at ${RATE} msgs/s: phase | msgs/s | published/consumed | event-loop delay p99/max ms | delivery p99 ms | heap peak MiB | live heap at end MiB`,
    ...rows,
    `  heap before the load: reachable run ${reachable.baselineHeapMiB} MiB, outage run ${outage.baselineHeapMiB} MiB`,
    `  outage heapUsed once a second (MiB): ${outage.phases.outage?.heapMiB.join(' ')}`,
    ...warnings.map((line) => `  ${line}`),
  ].join('\n');
}
