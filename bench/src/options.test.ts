import { describe, expect, it } from 'vitest';
import { MAIN_NODE_LINE, nodeLine, type Options, parseOptions } from './options';
import { planJobs } from './plan';
import { samplingRatio } from './protocol';
import { family, rootSampler } from './telemetry';

function parse(...argv: string[]): Options {
  const options = parseOptions(argv);
  if (options === 'help') throw new Error('help');
  return options;
}

describe('parseOptions', () => {
  it('runs the 1% trio everywhere by default, and the soak at 100% and 1%', () => {
    const options = parse();
    expect(options.hotVariants).toEqual(expect.arrayContaining(['floor-1%', 'contrib-1%', 'mqtrail-1%', 'mqtrail-0%']));
    expect(options.hotVariants).toHaveLength(11);
    expect(options.brokerVariants).toEqual([
      'none',
      'floor',
      'floor-1%',
      'shape',
      'contrib',
      'contrib-1%',
      'mqtrail',
      'mqtrail-1%',
    ]);
    expect(options).toMatchObject({ soak: true, micro: true, variantsChosen: false, beside: undefined });
    expect(options.soakVariants).toEqual(['none', 'mqtrail', 'mqtrail-1%']);
  });

  it('leaves the soak out of a quick run unless asked, and out of any run with --no-soak', () => {
    expect(parse('--quick').soak).toBe(false);
    expect(parse('--quick', '--soak').soak).toBe(true);
    expect(parse('--no-soak').soak).toBe(false);
    expect(parse('--no-micro').micro).toBe(false);
  });

  it('takes another Node line’s results with --beside, and a chosen set of variants with none first', () => {
    expect(parse('--beside', 'bench/results/latest-node22.json').beside).toBe('bench/results/latest-node22.json');
    const chosen = parse('--variants', 'mqtrail-1%,contrib-1%');
    expect(chosen.hotVariants).toEqual(['none', 'mqtrail-1%', 'contrib-1%']);
    expect(chosen.variantsChosen).toBe(true);
    expect(() => parse('--variants', 'mqtrail-2%')).toThrow(/unknown variant/);
  });

  it('knows Node 24 as the main line', () => {
    expect(MAIN_NODE_LINE).toBe(24);
    expect(nodeLine('v22.23.5')).toBe(22);
    expect(nodeLine('v24.22.3')).toBe(24);
  });
});

describe('planJobs', () => {
  it('plans one metric-point job per repetition and the soak of none, mqtrail and mqtrail-1%', () => {
    const jobs = planJobs(parse('--reps', '2'), 'run');
    expect(jobs.filter((job) => job.kind === 'micro').map((job) => job.rep)).toEqual([0, 1]);
    expect(jobs.filter((job) => job.kind === 'soak').map((job) => `${job.client} ${job.variant}`)).toEqual([
      'kafkajs none',
      'kafkajs mqtrail',
      'kafkajs mqtrail-1%',
      'amqplib none',
      'amqplib mqtrail',
      'amqplib mqtrail-1%',
    ]);
    // 11 hot variants × 2 clients + 8 broker variants × 3 workloads + 1 micro, per repetition; 6 soak jobs.
    expect(jobs).toHaveLength(2 * (22 + 24 + 1) + 6);
  });
});

describe('sampling of the variants', () => {
  it('gives -1% the SDK’s TraceIdRatioBased(0.01) under ParentBased, -0% ratio 0, the rest AlwaysOn', () => {
    expect(samplingRatio('mqtrail-1%')).toBe(0.01);
    expect(samplingRatio('floor-1%')).toBe(0.01);
    expect(samplingRatio('contrib-0%')).toBe(0);
    expect(samplingRatio('mqtrail')).toBe(1);
    expect(rootSampler('contrib-1%').toString()).toBe('TraceIdRatioBased{0.01}');
    expect(rootSampler('mqtrail-0%').toString()).toBe('TraceIdRatioBased{0}');
    expect(rootSampler('floor').toString()).toBe('AlwaysOnSampler');
  });

  it('installs the floor for floor-1% (not an instrumentation)', () => {
    expect(family('floor-1%')).toBe('floor');
    expect(family('shape')).toBe('floor');
    expect(family('contrib-1%')).toBe('contrib');
    expect(family('mqtrail-1%')).toBe('mqtrail');
  });
});
