import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeJaeger, startFakeJaeger } from './test-support/fake-jaeger';
import { ms, T0, TraceBuilder } from './test-support/traces';

const packageDir = path.join(__dirname, '..');
const bin = path.join(packageDir, 'bin', 'mqtrail.js');

let fake: FakeJaeger;
beforeAll(async () => {
  // The shim runs the compiled library: build it (incremental, so quick when already built).
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', path.join(packageDir, 'tsconfig.json')]);
  fake = await startFakeJaeger();
}, 60_000);
afterAll(() => fake?.close());

async function mqtrail(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      env: { ...process.env, MQTRAIL_JAEGER_URL: fake.url, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('bin/mqtrail.js', () => {
  it('runs as a command and ends with the exit code of what it did', async () => {
    const trace = new TraceBuilder('f'.repeat(32));
    const sent = trace.send({ service: 'bin-test', destination: 'q', at: 0 });
    trace.consume({
      service: 'bin-test',
      destination: 'q',
      messages: [sent],
      at: ms(2),
      duration: ms(1),
      outcome: 'ack',
    });
    // The audit window ends now: shift the trace into it.
    const built = trace.build();
    // One shift for every span (reading the clock per span could move them apart by a millisecond).
    const shift = Date.now() * 1_000 - T0 - ms(60_000);
    for (const span of built.spans) span.startTime += shift;
    fake.traces.push(built);

    const shown = await mqtrail(['trace', 'f'.repeat(32)]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toContain('└─▶ process q · bin-test · waited 2.0 ms · processed 1.0 ms · ack');

    const audit = await mqtrail(['audit', '--since', '5m', '--grace', '1s', '--json']);
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout).scanned).toMatchObject({ messages: 1, deliveries: 1 });

    expect(await mqtrail(['audit', '--since', 'abc'])).toEqual({
      code: 64,
      stdout: '',
      stderr: 'mqtrail: --since must be a duration like 15m, 30s or 2h (got "abc")\n',
    });
    expect((await mqtrail(['trace', '0123'])).code).toBe(1);
  }, 30_000);
});
