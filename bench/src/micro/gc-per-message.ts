/**
 * What a CPU profile does not attribute: garbage collection. The `--profile` summaries show GC as
 * one row under no entry point, yet a variant's spans and bookkeeping decide how much of it there
 * is. This runs one operation of a client's hot path (src/hot/, the same fakes and messages) in
 * this process with a variant's set-up and reports per message, as medians over rounds:
 *
 * - wall time (ns), as the hot-path table measures it;
 * - time in GC (ns), from `PerformanceObserver` 'gc' entries, young generation apart;
 * - bytes allocated, from V8's sampling heap profiler with collected objects included (one
 *   extra round, after the timed ones).
 *
 *   node --expose-gc bench/dist/micro/gc-per-message.js mqtrail amqplib consume
 *
 * Variants as in `pnpm bench` (none, sdk, floor, contrib, mqtrail, each also -1% and -0%).
 */
import { Session } from 'node:inspector/promises';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { hotPath } from '../hot/hot-path';
import { upstreamSampling } from '../messages';
import { CLIENTS, type Client, samplingRatio, VARIANTS, type VariantName } from '../protocol';
import { max, median, min } from '../stats';
import { setUpTelemetry } from '../telemetry';
import { collectGarbage, timeMessages } from '../timing';

const BATCH = 100;
const WARMUP = 30_000;
const MESSAGES = 40_000;
const ROUNDS = 10;

interface HeapProfileNode {
  selfSize: number;
  children: HeapProfileNode[];
}

function usage(): never {
  process.stderr.write(
    `usage: node --expose-gc gc-per-message.js <${VARIANTS.join('|')}> <${CLIENTS.join('|')}> <operation>\n`,
  );
  process.exit(2);
}

function totalSize(node: HeapProfileNode): number {
  return node.children.reduce((sum, child) => sum + totalSize(child), node.selfSize);
}

async function main(): Promise<void> {
  const [variant, client, operation] = process.argv.slice(2);
  if (!VARIANTS.includes(variant as VariantName) || !CLIENTS.includes(client as Client)) usage();
  const telemetry = setUpTelemetry(variant as VariantName, client as Client);
  const hot = await hotPath(client as Client, upstreamSampling(samplingRatio(variant as VariantName)), BATCH);
  const op = hot.ops.find((candidate) => candidate.name === operation);
  if (op === undefined) {
    process.stderr.write(`${client} has no operation ${operation}: ${hot.ops.map((o) => o.name).join(', ')}\n`);
    process.exit(2);
  }

  // Every collection with its start (performance.now() time), duration and whether it was young
  // generation; each round counts those that started inside it. (Entries reach the observer some
  // time after the collection, so counting by arrival would blame a round for the forced full
  // collection before it.)
  const collections: { start: number; ns: number; young: boolean }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node puts the kind of collection in `detail` (typed as unknown on PerformanceEntry).
      const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
      const young = detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR;
      collections.push({ start: entry.startTime, ns: entry.duration * 1e6, young });
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  await timeMessages(op, WARMUP, BATCH);
  const wall: number[] = [];
  const rounds: { from: number; to: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    collectGarbage();
    const from = performance.now();
    wall.push((await timeMessages(op, MESSAGES, BATCH)) / MESSAGES);
    rounds.push({ from, to: performance.now() });
  }
  // Let the last entries arrive.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const inRound = ({ from, to }: { from: number; to: number }, youngOnly: boolean) =>
    collections
      .filter((c) => c.start >= from && c.start < to && (!youngOnly || c.young))
      .reduce((sum, c) => sum + c.ns, 0) / MESSAGES;
  const gc = rounds.map((round) => inRound(round, false));
  const young = rounds.map((round) => inRound(round, true));
  observer.disconnect();

  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await timeMessages(op, MESSAGES, BATCH);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: HeapProfileNode } };
  session.disconnect();
  hot.verify();
  await telemetry.shutdown();

  const figure = (value: number) => Math.round(value).toLocaleString('en-US');
  process.stdout.write(
    `${variant} ${client} ${operation}, medians of ${ROUNDS} rounds of ${MESSAGES.toLocaleString('en-US')} messages:\n` +
      `  wall ${figure(median(wall))} ns/message (${figure(min(wall))}–${figure(max(wall))})\n` +
      `  GC   ${figure(median(gc))} ns/message, of which young generation ${figure(median(young))}\n` +
      `  allocated ~${figure(totalSize(profile.head) / MESSAGES)} B/message (sampled, input preparation included)\n`,
  );
}

void main();
