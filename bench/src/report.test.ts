import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions } from './options';
import { metricPointKey, type VariantName } from './protocol';
import { type RunReport, readBeside, renderMarkdown } from './report';
import { checkTargets, type SummaryEntry } from './summary';

function entry(workload: string, metric: string, variant: VariantName, median: number, none = 1_000): SummaryEntry {
  return {
    workload,
    metric,
    variant,
    median,
    min: median,
    max: median,
    n: 1,
    ratioToNone: variant === 'none' ? Number.NaN : median / none,
    overNone: variant === 'none' ? Number.NaN : median - none,
  };
}

function report(node: string, mqtrailOnePercent: number): RunReport {
  const options = parseOptions(['--reps', '1']);
  if (options === 'help') throw new Error('help');
  const NS = 'consume.nsPerMessage';
  const summary = [
    entry('hot/amqplib', NS, 'none', 1_000),
    entry('hot/amqplib', NS, 'contrib-1%', 5_000),
    entry('hot/amqplib', NS, 'mqtrail-1%', mqtrailOnePercent),
    entry('micro/metric-point', metricPointKey('latency', 'kafka', 'sdk'), 'sdk', 1_500),
    entry('micro/metric-point', metricPointKey('latency', 'kafka', 'mqtrail'), 'sdk', 100),
  ];
  return {
    startedAt: '2026-12-01T10:00:00.000Z',
    durationSeconds: 600,
    options,
    machine: { cpu: 'cpu', cores: 2, memoryGiB: 8, os: 'Linux', node, loadAverage: { start: 0.5, end: 0.7 } },
    versions: {},
    summary,
    soak: [],
    targets: checkTargets(summary, []),
    jobs: [],
  };
}

describe('renderMarkdown', () => {
  it('opens with the targets of issue 13 on the main line, before the tables', () => {
    const markdown = renderMarkdown(report('v24.22.3', 2_000));
    expect(markdown).toContain('**Node v24.22.3 (main line).**');
    const targets = markdown.indexOf('## Targets (issue #13)');
    expect(targets).toBeGreaterThan(0);
    expect(markdown.indexOf('## Hot path')).toBeGreaterThan(targets);
    // No broker workload ran: two of target 1’s checks are not measured, so the target is not met.
    expect(markdown).toMatch(/### — 1\. Production configuration.* — 1 of 3 checks met/);
    expect(markdown).toContain('| hot path: mqtrail-1% overhead ≤ ½ of contrib-1%’s | hot/amqplib consume | 0.25× |');
    expect(markdown).toContain('## Metrics cost: one histogram point');
    expect(markdown).toContain('| 1,500 | 100 | — | 6.7% |');
  });

  it('shows another Node line’s run beside the main one, with its own verdicts', () => {
    const markdown = renderMarkdown(report('v24.22.3', 2_000), report('v22.23.5', 4_000));
    const beside = markdown.slice(markdown.indexOf('### Beside it: Node v22.23.5'));
    expect(beside.length).toBeGreaterThan(0);
    expect(beside).toContain(
      'Node v22.23.5, run of 2026-12-01 10:00 UTC, 1 repetition, 1-min load average 0.5 at start, 0.7 at end: the same checks',
    );
    expect(beside).toContain('| 1 | hot path: mqtrail-1% overhead ≤ ½ of contrib-1%’s | hot/amqplib consume | 0.75× |');
    expect(markdown.indexOf('## Hot path')).toBeGreaterThan(markdown.indexOf('### Beside it'));
  });
});

describe('readBeside', () => {
  it('reads a results JSON and refuses anything else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-beside-'));
    const good = join(dir, 'latest-node22.json');
    writeFileSync(good, JSON.stringify(report('v22.23.5', 4_000)));
    expect(readBeside(good).machine.node).toBe('v22.23.5');
    const bad = join(dir, 'other.json');
    writeFileSync(bad, '{"name":"not a run"}');
    expect(() => readBeside(bad)).toThrow(/not a results JSON/);
    expect(() => readBeside(join(dir, 'missing.json'))).toThrow(/--beside/);
  });
});
