import { describe, expect, it } from 'vitest';
import type { VariantName } from './protocol';
import { checkTargets, type SummaryEntry } from './summary';

function entry(workload: string, metric: string, variant: VariantName, ratioToNone: number, overNone: number) {
  return { workload, metric, variant, ratioToNone, overNone, median: 0, min: 0, max: 0, n: 3 } as SummaryEntry;
}

const HOT = 'hot/amqplib';
const NS = 'consume.nsPerMessage';

describe('checkTargets', () => {
  it('meets the hot-path target under half of contrib’s overhead', () => {
    const checks = checkTargets(
      [entry(HOT, NS, 'contrib', 10, 4_000), entry(HOT, NS, 'mqtrail', 4, 1_500), entry(HOT, NS, 'floor', 3, 1_000)],
      [],
    );
    expect(checks.find((c) => c.workload === 'hot/amqplib consume')).toMatchObject({
      status: 'met',
      floor: '0.25×',
    });
  });

  it('calls a missed target unreachable only when the floor misses it too', () => {
    const reachable = checkTargets(
      [entry(HOT, NS, 'contrib', 10, 4_000), entry(HOT, NS, 'mqtrail', 9, 3_000), entry(HOT, NS, 'floor', 3, 1_000)],
      [],
    );
    expect(reachable[0]?.status).toBe('missed');
    const unreachable = checkTargets(
      [entry(HOT, NS, 'contrib', 10, 4_000), entry(HOT, NS, 'mqtrail', 9, 3_000), entry(HOT, NS, 'floor', 8, 2_500)],
      [],
    );
    expect(unreachable[0]?.status).toBe('unreachable');
    const withoutFloor = checkTargets([entry(HOT, NS, 'contrib', 10, 4_000), entry(HOT, NS, 'mqtrail', 9, 3_000)], []);
    expect(withoutFloor[0]).toMatchObject({ status: 'missed', floor: '—' });
  });

  it('checks broker throughput against 0.95× none, with the floor alongside', () => {
    const checks = checkTargets(
      [
        entry('broker/kafkajs', 'send.messagesPerSecond', 'mqtrail', 0.5, 0),
        entry('broker/kafkajs', 'send.messagesPerSecond', 'floor', 0.6, 0),
      ],
      [],
    );
    expect(checks[0]).toMatchObject({ value: '0.50×', floor: '0.60×', status: 'unreachable' });
  });
});
