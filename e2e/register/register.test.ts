import { describe, expect, it } from 'vitest';
import { fetchTrace, serviceOf, tagOf } from '../support/jaeger';
import { type Run, run, traceIdOf } from './run';

describe.each([
  ['CommonJS', '--require', 'app.cjs'],
  ['ES module', '--import', 'app.mjs'],
] as const)('@mqtrail/register in a %s application', (_style, flag, script) => {
  it('traces kafkajs and amqplib with no code change', async () => {
    const serviceName = `register-${script.replace('.', '-')}-${Date.now()}`;
    const app = run(flag, script, { OTEL_SERVICE_NAME: serviceName });
    const { code } = await app.exit;
    expect(code, app.stderr()).toBe(0);
    const result = app.lines.at(-1) ?? {};

    for (const [system, traceparent] of [
      ['rabbitmq', result.amqpTraceparent],
      ['kafka', result.kafkaTraceparent],
    ] as const) {
      const trace = await fetchTrace(traceIdOf(traceparent), 2);
      const send = trace.spans.find((s) => tagOf(s, 'messaging.operation.type') === 'send');
      const processSpan = trace.spans.find((s) => tagOf(s, 'messaging.operation.type') === 'process');
      expect(send && tagOf(send, 'messaging.system')).toBe(system);
      expect(send && serviceOf(trace, send)).toBe(serviceName);
      expect(processSpan?.references).toContainEqual(
        expect.objectContaining({ refType: 'CHILD_OF', spanID: send?.spanID }),
      );
    }
  });
});

describe('@mqtrail/register under adverse conditions', () => {
  it('keeps the application running with one clear warning when Jaeger is unreachable', async () => {
    const app = run('--require', 'app.cjs', {
      OTEL_SERVICE_NAME: 'register-no-jaeger',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', // nothing listens on the discard port
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const { code } = await app.exit;
    expect(code, app.stderr()).toBe(0);
    expect(app.lines.at(-1)).toHaveProperty('amqpTraceparent');
    const warnings = app.stderr().match(/mqtrail: cannot export traces to http:\/\/127\.0\.0\.1:9\/v1\/traces/g) ?? [];
    expect(warnings).toHaveLength(1);
  });

  it('honours OTEL_SDK_DISABLED: no instrumentation, the app unchanged', async () => {
    const app = run('--require', 'app.cjs', { OTEL_SDK_DISABLED: 'true' });
    const { code } = await app.exit;
    expect(code, app.stderr()).toBe(0);
    expect(app.lines.at(-1)?.amqpTraceparent).toBe('undefined');
  });

  it('reports a bad MQTRAIL_ variable by name and starts anyway', async () => {
    const app = run('--require', 'app.cjs', {
      OTEL_SERVICE_NAME: 'register-bad-env',
      MQTRAIL_USE_LINKS_FOR_CONSUME: 'maybe',
    });
    const { code } = await app.exit;
    expect(code, app.stderr()).toBe(0);
    expect(app.stderr()).toContain('MQTRAIL_USE_LINKS_FOR_CONSUME must be "true" or "false", got "maybe"');
    expect(app.lines.at(-1)?.amqpTraceparent).toMatch(/^00-/);
  });

  it('flushes on SIGTERM and then exits as the app would have without it', async () => {
    const app = run('--require', 'signal-app.cjs', { OTEL_SERVICE_NAME: 'register-sigterm' });
    await waitForLine(app);
    app.child.kill('SIGTERM');
    const { signal } = await app.exit;
    expect(signal).toBe('SIGTERM');
    await fetchTrace(String(app.lines[0]?.traceId), 1, 10_000);
  });

  it('leaves SIGTERM to the application when it has its own handler, flushing alongside', async () => {
    const app = run('--require', 'signal-app.cjs', {
      OTEL_SERVICE_NAME: 'register-own-handler',
      MQTRAIL_E2E_OWN_HANDLER: '1',
    });
    await waitForLine(app);
    app.child.kill('SIGTERM');
    const { code } = await app.exit;
    expect(code).toBe(7);
    expect(app.lines).toContainEqual({ handled: true });
    await fetchTrace(String(app.lines[0]?.traceId), 1, 10_000);
  });
});

async function waitForLine(app: Run): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (app.lines.length === 0) {
    if (Date.now() > deadline) throw new Error(`no output from the app; stderr:\n${app.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
