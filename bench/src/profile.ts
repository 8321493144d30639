/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and says where the time went: self time per
 * function and per area (mqtrail core, the instrumentations, the SDK, the client, Node, GC), and
 * inclusive time of mqtrail's own functions.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  byArea: ProfileLine[];
  topSelf: ProfileLine[];
  /** Inclusive time of functions in @mqtrail packages (callees counted once per stack). */
  mqtrailInclusive: ProfileLine[];
}

/** Which part of the stack a script belongs to, from its URL. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)' || functionName === '(program)') return functionName;
    return 'native';
  }
  const rules: [RegExp, string][] = [
    [/packages\/core\//, '@mqtrail/core'],
    [/packages\/instrumentation-kafkajs\//, '@mqtrail/instrumentation-kafkajs'],
    [/packages\/instrumentation-amqplib\//, '@mqtrail/instrumentation-amqplib'],
    [/@opentelemetry\/instrumentation-kafkajs\//, 'contrib instrumentation-kafkajs'],
    [/@opentelemetry\/instrumentation-amqplib\//, 'contrib instrumentation-amqplib'],
    [/@opentelemetry\/sdk-trace\//, '@opentelemetry/sdk-trace'],
    [/@opentelemetry\/sdk-metrics\//, '@opentelemetry/sdk-metrics'],
    [/@opentelemetry\/context-async-hooks\//, '@opentelemetry/context-async-hooks'],
    [/@opentelemetry\/core\//, '@opentelemetry/core'],
    [/@opentelemetry\/api\//, '@opentelemetry/api'],
    [/@opentelemetry\/instrumentation\//, '@opentelemetry/instrumentation'],
    [/\/kafkajs\//, 'kafkajs'],
    [/\/amqplib\//, 'amqplib'],
    [/\/bench\/dist\//, 'bench harness'],
    [/^node:/, 'node internals'],
  ];
  for (const [pattern, area] of rules) if (pattern.test(url)) return area;
  return 'other';
}

function shortUrl(url: string): string {
  const match = /(packages\/[^/]+\/.*|@opentelemetry\/[^/]+\/.*|node_modules\/[^/]+\/.*|node:.*|bench\/dist\/.*)$/.exec(
    url,
  );
  return (match?.[1] ?? url).replace(/^node_modules\//, '');
}

function lines(map: Map<string, number>, total: number, limit: number): ProfileLine[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ name, ms, share: total === 0 ? 0 : ms / total }));
}

export function summarizeProfile(file: string, limit = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node from the sample timeline (more exact than hitCount × interval).
  const selfMs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const delta = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    selfMs.set(id, (selfMs.get(id) ?? 0) + delta);
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const keyOf = (frame: CallFrame) =>
    `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  const byArea = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { callFrame } = node;
    total += ms;
    const area = areaOf(callFrame.url, callFrame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
    const key = keyOf(callFrame);
    bySelf.set(key, (bySelf.get(key) ?? 0) + ms);
    // Walk up the stack once, crediting each distinct mqtrail function on it.
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)?.callFrame;
      if (frame === undefined || !/packages\/(core|instrumentation-[a-z]+)\//.test(frame.url)) continue;
      const frameKey = keyOf(frame);
      if (seen.has(frameKey)) continue;
      seen.add(frameKey);
      inclusive.set(frameKey, (inclusive.get(frameKey) ?? 0) + ms);
    }
  }
  return {
    totalMs: total,
    byArea: lines(byArea, total, 40),
    topSelf: lines(bySelf, total, limit),
    mqtrailInclusive: lines(inclusive, total, limit),
  };
}

export function renderProfile(title: string, summary: ProfileSummary): string {
  const section = (heading: string, entries: ProfileLine[]) => [
    `### ${heading}`,
    '',
    '| ms | share | function |',
    '| ---: | ---: | --- |',
    ...entries.map((e) => `| ${e.ms.toFixed(1)} | ${(e.share * 100).toFixed(1)}% | \`${e.name}\` |`),
    '',
  ];
  return [
    `## ${title}`,
    '',
    `${summary.totalMs.toFixed(0)} ms sampled (whole child: set-up, warm-up and timed phases).`,
    '',
    ...section('Self time by area', summary.byArea),
    ...section('Top self time by function', summary.topSelf),
    ...section('Inclusive time of mqtrail functions', summary.mqtrailInclusive),
  ].join('\n');
}
