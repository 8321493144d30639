import { describe, expect, it } from 'vitest';
import { type MetricPointLabelSet, metricPointKey, type VariantName } from './protocol';
import { checkTargets, rollUpTargets, type SoakSummary, type SummaryEntry, type TargetCheck } from './summary';

/** A summary entry with only what checkTargets reads; `median` defaults to none's + `overNone`. */
function entry(workload: string, metric: string, variant: VariantName, median: number, overNone = Number.NaN) {
  return { workload, metric, variant, median, overNone, ratioToNone: Number.NaN, min: median, max: median, n: 1 };
}

const HOT = 'hot/amqplib';
const NS = 'consume.nsPerMessage';
const BROKER = 'broker/kafkajs';
const E2E = 'e2e.messagesPerSecond';
const MICRO = 'micro/metric-point';

/** A hot-path operation with `none` at 1,000 ns and each given variant's overhead over it. */
function hot(overheads: Partial<Record<VariantName, number>>): SummaryEntry[] {
  return [
    entry(HOT, NS, 'none', 1_000, Number.NaN),
    ...Object.entries(overheads).map(([variant, over]) =>
      entry(HOT, NS, variant as VariantName, 1_000 + (over as number), over as number),
    ),
  ];
}

/** A broker workload's end-to-end msg/s per variant. */
function broker(rates: Partial<Record<VariantName, number>>, workload = BROKER): SummaryEntry[] {
  return Object.entries(rates).map(([variant, rate]) => entry(workload, E2E, variant as VariantName, rate as number));
}

/** metric-point results: ns per point of each approach, the same for both label sets. */
function micro(ns: { sdk: number; mqtrail: number; floor?: number }): SummaryEntry[] {
  const out: SummaryEntry[] = [];
  for (const labelSet of ['rabbitmq', 'kafka'] as MetricPointLabelSet[]) {
    for (const [approach, value] of Object.entries(ns) as ['sdk' | 'mqtrail' | 'floor', number][]) {
      out.push(entry(MICRO, metricPointKey('latency', labelSet, approach), 'sdk', value));
    }
  }
  return out;
}

function soakRun(variant: VariantName, slope: number, client: 'kafkajs' | 'amqplib' = 'kafkajs'): SoakSummary {
  return {
    client,
    variant,
    messages: 1_000_000,
    samples: [],
    heapAfterFirstInterval: 10 * 2 ** 20,
    heapEnd: 10 * 2 ** 20,
    growthAfterFirstInterval: 0,
    slopeBytesPerMessage: slope,
    flat: slope < 1,
  };
}

const only = (checks: TargetCheck[], target: number, text: string) =>
  checks.filter((c) => c.target === target && c.check.includes(text));

describe('checkTargets, target 1: production configuration at 1%', () => {
  it('meets the hot-path target at half of contrib-1%’s overhead or less, per operation', () => {
    const atHalf = only(checkTargets(hot({ 'contrib-1%': 4_000, 'mqtrail-1%': 2_000 }), []), 1, 'hot path');
    expect(atHalf).toHaveLength(1);
    expect(atHalf[0]).toMatchObject({ workload: 'hot/amqplib consume', value: '0.50×', status: 'met', floor: '—' });
    expect(atHalf[0]?.figures).toContain('+2,000 vs +4,000 ns/msg over none');
    const over = only(checkTargets(hot({ 'contrib-1%': 4_000, 'mqtrail-1%': 2_100 }), []), 1, 'hot path');
    expect(over[0]?.status).toBe('missed');
  });

  it('judges the 1% checks by floor-1%, not by the 100% floor', () => {
    const reachable = hot({ 'contrib-1%': 4_000, 'mqtrail-1%': 3_000, 'floor-1%': 1_000, floor: 3_900 });
    expect(only(checkTargets(reachable, []), 1, 'hot path')[0]).toMatchObject({ status: 'missed', floor: '0.25×' });
    const unreachable = hot({ 'contrib-1%': 4_000, 'mqtrail-1%': 3_000, 'floor-1%': 2_500, floor: 100 });
    expect(only(checkTargets(unreachable, []), 1, 'hot path')[0]?.status).toBe('unreachable');
  });

  it('checks every broker workload end to end against 0.85× none and against contrib-1%', () => {
    const entries = [
      ...broker({ none: 20_000, 'contrib-1%': 15_000, 'mqtrail-1%': 17_000, 'floor-1%': 18_000 }),
      ...broker({ none: 20_000, 'contrib-1%': 15_000, 'mqtrail-1%': 14_000 }, 'broker/amqplib-plain'),
    ];
    const checks = checkTargets(entries, []);
    const vsNone = only(checks, 1, '0.85× none');
    expect(vsNone.map((c) => [c.workload, c.value, c.floor, c.status])).toEqual([
      [BROKER, '0.85×', '0.90×', 'met'],
      ['broker/amqplib-plain', '0.70×', '—', 'missed'],
    ]);
    const vsContrib = only(checks, 1, 'never below contrib-1%');
    expect(vsContrib.map((c) => [c.workload, c.value, c.status])).toEqual([
      [BROKER, '1.13×', 'met'],
      ['broker/amqplib-plain', '0.93×', 'missed'],
    ]);
    expect(vsNone[0]?.figures).toBe('end-to-end msg/s: mqtrail-1% 17,000 vs none 20,000');
  });

  it('reports a target whose variant did not run as not measured, not as met', () => {
    const checks = checkTargets([...hot({ contrib: 4_000 }), ...broker({ none: 20_000 })], []);
    expect(only(checks, 1, 'hot path')[0]).toMatchObject({
      status: 'not measured',
      figures: 'not run: mqtrail-1%, contrib-1%',
    });
    expect(only(checks, 1, '0.85× none')[0]?.status).toBe('not measured');
  });
});

describe('checkTargets, target 2: full sampling', () => {
  it('wants mqtrail at least contrib end to end, judged against the floor with mqtrail’s span content', () => {
    const met = only(checkTargets(broker({ none: 20_000, contrib: 10_000, mqtrail: 10_000 }), []), 2, 'real broker');
    expect(met[0]).toMatchObject({ value: '1.00×', status: 'met' });
    const unreachable = checkTargets(
      broker({ none: 20_000, contrib: 10_000, mqtrail: 9_000, shape: 9_500, floor: 12_000 }),
      [],
    );
    expect(only(unreachable, 2, 'real broker')[0]).toMatchObject({ floor: '0.95×', status: 'unreachable' });
    const missed = checkTargets(
      broker({ none: 20_000, contrib: 10_000, mqtrail: 9_000, shape: 10_500, floor: 9_000 }),
      [],
    );
    expect(only(missed, 2, 'real broker')[0]).toMatchObject({ floor: '1.05×', status: 'missed' });
  });

  it('wants mqtrail’s hot-path overhead at most contrib’s', () => {
    expect(only(checkTargets(hot({ contrib: 4_000, mqtrail: 4_000 }), []), 2, 'hot path')[0]?.status).toBe('met');
    expect(only(checkTargets(hot({ contrib: 4_000, mqtrail: 4_400 }), []), 2, 'hot path')[0]?.status).toBe('missed');
    const unreachable = only(checkTargets(hot({ contrib: 4_000, mqtrail: 4_400, shape: 4_200 }), []), 2, 'hot path');
    expect(unreachable[0]).toMatchObject({ status: 'unreachable' });
  });
});

describe('checkTargets, target 3: metrics cost', () => {
  it('wants mqtrail’s point at most 10% of the SDK’s Histogram.record, for every label set', () => {
    const checks = only(checkTargets(micro({ sdk: 1_500, mqtrail: 150, floor: 20 }), []), 3, 'histogram point');
    expect(checks.map((c) => [c.workload, c.value, c.floor, c.status])).toEqual([
      ['micro/metric-point (rabbitmq consumer labels)', '10.0%', '1.3%', 'met'],
      ['micro/metric-point (kafka consumer labels)', '10.0%', '1.3%', 'met'],
    ]);
    expect(checks[0]?.figures).toBe('ns per point: MessagingMetrics 150 vs SDK Histogram.record 1,500');
    const missed = only(checkTargets(micro({ sdk: 1_500, mqtrail: 1_400, floor: 20 }), []), 3, 'histogram point');
    expect(missed[0]).toMatchObject({ value: '93.3%', status: 'missed' });
  });

  it('is not measured without the micro-benchmark', () => {
    expect(only(checkTargets([], []), 3, '')).toMatchObject([{ status: 'not measured' }]);
  });
});

describe('checkTargets, target 5: heap flat over the soak', () => {
  it('checks mqtrail at 100% and at 1%, not the none reference', () => {
    const checks = only(
      checkTargets([], [soakRun('none', 5), soakRun('mqtrail', 0.2), soakRun('mqtrail-1%', 3)]),
      5,
      '',
    );
    expect(checks.map((c) => [c.workload, c.value, c.status])).toEqual([
      ['soak/kafkajs mqtrail', '0.20 B/message', 'met'],
      ['soak/kafkajs mqtrail-1%', '3.00 B/message', 'missed'],
    ]);
  });

  it('is not measured without a soak', () => {
    expect(only(checkTargets([], []), 5, '')).toMatchObject([{ status: 'not measured' }]);
  });
});

describe('rollUpTargets', () => {
  const check = (target: 1 | 2 | 3 | 5, status: TargetCheck['status']): TargetCheck => ({
    target,
    check: '',
    workload: '',
    value: '',
    figures: '',
    floor: '',
    status,
  });

  it('is met only when every check is, and says how many are', () => {
    expect(rollUpTargets([check(1, 'met'), check(1, 'met'), check(3, 'met'), check(3, 'missed')])).toEqual([
      { target: 1, met: 2, total: 2, status: 'met' },
      { target: 3, met: 1, total: 2, status: 'missed' },
    ]);
  });

  it('puts missed before not measured before unreachable', () => {
    const statusOf = (...statuses: TargetCheck['status'][]) =>
      rollUpTargets(statuses.map((s) => check(2, s)))[0]?.status;
    expect(statusOf('unreachable', 'missed', 'not measured')).toBe('missed');
    expect(statusOf('unreachable', 'not measured', 'met')).toBe('not measured');
    expect(statusOf('unreachable', 'met')).toBe('unreachable');
  });

  it('covers a complete run’s checks: every target, every operation and workload', () => {
    const ops = (workload: string, ...metrics: string[]) =>
      metrics.map((metric) => entry(workload, metric, 'none', 1_000, Number.NaN));
    const entries = [
      ...ops('hot/kafkajs', 'produce.nsPerMessage', 'consume.nsPerMessage'),
      ...ops('hot/amqplib', 'publish.nsPerMessage', 'publish-confirm.nsPerMessage', NS),
      ...['broker/kafkajs', 'broker/amqplib-plain', 'broker/amqplib-confirm'].flatMap((w) => ops(w, E2E)),
      ...micro({ sdk: 1, mqtrail: 1 }),
    ];
    const soak = ['kafkajs', 'amqplib'].flatMap((client) =>
      (['mqtrail', 'mqtrail-1%'] as VariantName[]).map((v) => soakRun(v, 0, client as 'kafkajs')),
    );
    expect(rollUpTargets(checkTargets(entries, soak)).map((r) => [r.target, r.total])).toEqual([
      [1, 5 + 3 * 2],
      [2, 3 + 5],
      [3, 2],
      [5, 4],
    ]);
  });
});
