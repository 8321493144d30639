import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, main } from './cli';
import { capture, type FakeJaeger, startFakeJaeger } from './test-support/fake-jaeger';
import { shopTrace } from './test-support/shop-trace';
import { inSemconvMode, ms, resetIds, T0, TraceBuilder } from './test-support/traces';

let fake: FakeJaeger;
beforeAll(async () => {
  fake = await startFakeJaeger();
});
afterAll(() => fake.close());
beforeEach(() => {
  resetIds();
  fake.traces.length = 0;
  fake.requests.length = 0;
});

/** Runs the command in-process against the fake Jaeger, one minute after T0. */
async function run(argv: string[], io: Partial<CliIo> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await main(argv, {
    stdout,
    stderr,
    env: { MQTRAIL_JAEGER_URL: fake.url },
    now: () => (T0 + ms(60_000)) / 1_000,
    ...io,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Two lost messages, one consumed twice (its channel closed before the ack, so it was redelivered), one dead-lettered. */
function faultyTraces(): void {
  const trace = new TraceBuilder();
  trace.send({ service: 'api', destination: 'nobody', at: 0 });
  trace.send({ service: 'api', destination: 'nobody', at: ms(1) });
  const twice = trace.send({ service: 'api', destination: 'orders', at: ms(2) });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [twice],
    at: ms(3),
    duration: ms(1),
    outcome: 'closed',
  });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [twice],
    at: ms(5),
    duration: ms(1),
    outcome: 'ack',
    redelivered: true,
  });
  const bad = trace.send({ service: 'api', destination: 'orders', at: ms(6) });
  trace.consume({
    service: 'billing',
    destination: 'orders',
    messages: [bad],
    at: ms(7),
    duration: ms(1),
    outcome: 'drop',
  });
  fake.traces.push(trace.build());
}

describe('mqtrail trace', () => {
  it('draws the chain of a trace', async () => {
    const { trace } = shopTrace();
    fake.traces.push(trace);
    const { code, stdout, stderr } = await run(['trace', trace.traceID]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain(`trace ${trace.traceID}`);
    expect(stdout).toContain('└─▶ process orders · billing · waited 12 ms · processed 40 ms · ack');
    expect(stdout).toContain('◀ slowest');
    expect(stdout).not.toContain('\u001b[');
    expect((await run(['--color', 'trace', trace.traceID])).stdout).toContain('\u001b[');
  });

  it('prints the chain model as JSON', async () => {
    const { trace, ids } = shopTrace();
    fake.traces.push(trace);
    const { code, stdout } = await run(['trace', '--json', trace.traceID]);
    expect(code).toBe(0);
    const chain = JSON.parse(stdout);
    expect(chain).toMatchObject({
      traceIds: [trace.traceID],
      rootMessages: [ids.order],
      slowestHop: ids.shipping,
      failures: 1,
    });
    expect(chain.hops).toHaveLength(3);
  });

  it('fetches the producer trace a links-only consumer links to', async () => {
    const producer = new TraceBuilder();
    const sent = producer.send({ service: 'api', destination: 'orders', at: 0 });
    const consumer = new TraceBuilder();
    consumer.consume({
      service: 'billing',
      destination: 'orders',
      messages: [sent],
      messageTrace: producer.traceId,
      refs: 'links',
      at: ms(4),
      duration: ms(1),
      outcome: 'ack',
    });
    fake.traces.push(producer.build(), consumer.build());
    const { code, stdout } = await run(['trace', consumer.traceId]);
    expect(code).toBe(0);
    expect(stdout).toContain(`linked traces: ${producer.traceId}`);
    expect(stdout).toContain('● send orders · api');
    expect(stdout).toContain('waited 4.0 ms');
    const alone = await run(['trace', '--no-follow-links', consumer.traceId]);
    expect(alone.stdout).toContain('its send span is not in the trace');
  });

  it('fails with exit code 1 for an unknown trace and 64 for a malformed id', async () => {
    expect(await run(['trace', 'abc123'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'mqtrail: trace abc123 is not in Jaeger (unknown id, or older than Jaeger keeps traces)\n',
    });
    const bad = await run(['trace', 'not-hex']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toBe('mqtrail: <trace-id> must be a trace id of 1 to 32 hexadecimal digits (got "not-hex")\n');
    expect((await run(['trace'])).code).toBe(64);
  });

  it('fails with exit code 1 when Jaeger cannot be reached, naming where it looked', async () => {
    const { code, stderr } = await run(['--jaeger-url', 'http://127.0.0.1:9', 'trace', 'abc']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^mqtrail: cannot reach Jaeger's query API at http:\/\/127\.0\.0\.1:9 /);
    const badEnv = await run(['trace', 'abc'], { env: { MQTRAIL_JAEGER_URL: 'jaeger:16686' } });
    expect(badEnv).toMatchObject({
      code: 64,
      stderr: expect.stringContaining('MQTRAIL_JAEGER_URL must be an http:// or https:// URL'),
    });
  });
});

describe('mqtrail find', () => {
  it('finds traces by message id in every service, one line each', async () => {
    const { trace } = shopTrace();
    fake.traces.push(trace);
    const { code, stdout } = await run(['find', '--message-id', 'm-1']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      `${trace.traceID}  2026-01-01T00:00:00.000Z  api → audit → billing → shipping · 2 messages · 3 hops · drop×1 ack×1 · redelivered · 1 failure · took 5.13 s · matched send orders (api)\n`,
    );
    expect(fake.requests[0]).toBe('/api/services');
  });

  it('finds by Kafka position, routing key and correlation id, in the services given', async () => {
    const { trace } = shopTrace();
    fake.traces.push(trace);
    const kafka = await run([
      'find',
      '--topic',
      'payments',
      '--partition',
      '0',
      '--offset',
      '7',
      '--service',
      'shipping,api',
      '--json',
    ]);
    expect(kafka.code).toBe(0);
    expect(JSON.parse(kafka.stdout)).toEqual([
      expect.objectContaining({
        traceId: trace.traceID,
        matched: expect.objectContaining({ operation: 'process payments', service: 'shipping' }),
      }),
    ]);
    expect(fake.requests.some((r) => r.startsWith('/api/services'))).toBe(false);
    expect((await run(['find', '--routing-key', 'order.created'])).stdout).toContain(trace.traceID);
    expect((await run(['find', '--correlation-id', 'c-1'])).stdout).toContain(trace.traceID);
    const none = await run(['find', '--message-id', 'nope']);
    expect(none).toEqual({
      code: 0,
      stdout: '',
      stderr: 'mqtrail: no trace in the last 24h has a span matching the query\n',
    });
  });

  it.each(['new', 'dup'] as const)(
    'finds, traces and audits spans written with OTEL_SEMCONV_STABILITY_OPT_IN in mode %s as in the old names',
    async (mode) => {
      const { trace } = shopTrace();
      const commands = [
        ['trace', trace.traceID],
        ['find', '--routing-key', 'order.created'],
        ['find', '--topic', 'payments', '--partition', '0', '--offset', '7', '--json'],
        ['audit', '--since', '5m', '--grace', '2s', '--json'],
      ];
      const outputs = async () => {
        const results = [];
        for (const argv of commands) results.push(await run(argv));
        return results;
      };
      fake.traces.push(trace);
      const old = await outputs();
      expect(old.map((result) => result.stdout)).not.toContain('');
      fake.traces.length = 0;
      fake.traces.push(inSemconvMode(trace, mode));
      expect(await outputs()).toEqual(old);
    },
  );

  it('rejects a query it cannot run, naming the option', async () => {
    expect(await run(['find'])).toMatchObject({
      code: 64,
      stderr: 'mqtrail: find needs one of --message-id, --correlation-id, --topic or --routing-key\n',
    });
    expect((await run(['find', '--message-id', 'a', '--routing-key', 'b'])).code).toBe(64);
    expect((await run(['find', '--topic', 't', '--offset', '3'])).stderr).toBe(
      'mqtrail: --offset needs --topic and --partition\n',
    );
    expect((await run(['find', '--topic', 't', '--partition', 'x'])).stderr).toContain(
      '--partition must be a partition number',
    );
    expect((await run(['find', '--message-id', 'a', '--limit', '0'])).stderr).toBe(
      'mqtrail: --limit must be a whole number from 1 to 1000 (got "0")\n',
    );
    expect((await run(['find', '--message-id', 'a', '--since', 'yesterday'])).stderr).toBe(
      'mqtrail: --since must be a duration like 15m, 30s or 2h (got "yesterday")\n',
    );
  });
});

describe('mqtrail audit', () => {
  it('exits 2 when findings pass the default thresholds, and reports every kind', async () => {
    faultyTraces();
    const { code, stdout } = await run(['audit', '--since', '5m', '--grace', '2s', '--json']);
    expect(code).toBe(2);
    const report = JSON.parse(stdout);
    expect(report.counts).toEqual({
      lost: 2,
      duplicate: 1,
      redelivered: 1,
      'dead-letter': 1,
      failed: 0,
      slow: 0,
      returned: 0,
    });
    expect(report.pass).toBe(false);
    expect(report.breaches).toEqual([
      { kind: 'lost', count: 2, allowed: 0 },
      { kind: 'duplicate', count: 1, allowed: 0 },
      { kind: 'dead-letter', count: 1, allowed: 0 },
    ]);
    expect(report.filters).toEqual({ services: [], destinations: [] });
  });

  it('prints a text report ending in FAIL or PASS, following --fail-on', async () => {
    faultyTraces();
    const failing = await run(['audit', '--service', 'api', '--service', 'billing']);
    expect(failing.code).toBe(2);
    expect(failing.stdout).toContain('  lost              2  sent, never consumed within the grace period');
    expect(failing.stdout).toContain('FAIL: lost 2 > 0, duplicate 1 > 0, dead-letter 1 > 0');
    const tolerant = await run(['audit', '--fail-on', 'lost:2,duplicate:1,dead-letter:1,failed']);
    expect(tolerant.code).toBe(0);
    expect(tolerant.stdout).toMatch(/PASS\n$/);
    expect((await run(['audit', '--fail-on', 'none'])).code).toBe(0);
    expect((await run(['audit', '--fail-on', 'redelivered'])).code).toBe(2);
    expect((await run(['audit', '--destination', 'elsewhere'])).code).toBe(0);
  });

  it('passes a healthy window', async () => {
    fake.traces.push(shopTrace().trace);
    const { code, stdout } = await run(['audit', '--fail-on', 'lost,duplicate']);
    expect(code).toBe(0);
    expect(stdout).toContain('scanned 1 traces, 6 spans: 2 messages sent, 3 consumed');
  });

  it('checks slow chains only with --slow', async () => {
    fake.traces.push(shopTrace().trace);
    const { stdout } = await run(['audit', '--slow', '5s', '--fail-on', 'slow', '--json']);
    expect(JSON.parse(stdout).counts.slow).toBe(1);
    expect(await run(['audit', '--fail-on', 'slow'])).toMatchObject({
      code: 64,
      stderr: 'mqtrail: --fail-on names slow, which needs --slow <duration> as its threshold\n',
    });
  });

  it('rejects bad arguments with exit code 64 and a message naming the option and the rule', async () => {
    expect(await run(['audit', '--since', 'abc'])).toEqual({
      code: 64,
      stdout: '',
      stderr: 'mqtrail: --since must be a duration like 15m, 30s or 2h (got "abc")\n',
    });
    expect((await run(['audit', '--grace', '10'])).stderr).toBe(
      'mqtrail: --grace must be a duration like 15m, 30s or 2h (got "10")\n',
    );
    expect((await run(['audit', '--fail-on', 'lots'])).stderr).toMatch(
      /^mqtrail: --fail-on must be "none" or a comma list/,
    );
    expect((await run(['audit', '--page-size', 'many'])).stderr).toBe(
      'mqtrail: --page-size must be a whole number from 1 to 100000 (got "many")\n',
    );
    const unknown = await run(['audit', '--sinse', '5m']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain("error: unknown option '--sinse'");
    expect(unknown.stderr).toContain('(Did you mean --since?)');
  });

  it('reports progress on stderr when asked or when stderr is a terminal', async () => {
    faultyTraces();
    const quiet = await run(['audit', '--fail-on', 'none']);
    expect(quiet.stderr).toBe('');
    const asked = await run(['audit', '--fail-on', 'none', '--progress']);
    expect(asked.stderr).toMatch(/^mqtrail audit: api \(1\/2\) 100% of window · 1 traces · \d+ queries/m);
    const tty = capture(true);
    await run(['audit', '--fail-on', 'none'], { stderr: tty });
    expect(tty.text()).toContain('\r\u001b[2Kmqtrail audit: ');
    expect((await run(['audit', '--fail-on', 'none', '--no-progress'], { stderr: capture(true) })).stderr).toBe('');
  });

  it('exits 1 when Jaeger cannot be reached', async () => {
    const { code, stderr } = await run(['audit'], { env: { MQTRAIL_JAEGER_URL: 'http://127.0.0.1:9' } });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^mqtrail: cannot reach Jaeger's query API at http:\/\/127\.0\.0\.1:9/);
  });
});

describe('mqtrail audit --follow', () => {
  it('names the option and the rule for bad arguments, before touching Kafka', async () => {
    const noBrokers = await run(['audit', '--follow']);
    expect(noBrokers.code).toBe(64);
    expect(noBrokers.stderr).toBe(
      'mqtrail: --kafka-brokers is required with --follow (or set MQTRAIL_KAFKA_BROKERS)\n',
    );
    const badGrace = await run(['audit', '--follow', '--kafka-brokers', '127.0.0.1:1', '--grace', '0s']);
    expect(badGrace.stderr).toMatch(/^mqtrail: --grace must be a duration greater than zero/);
    const badPort = await run(['audit', '--follow', '--kafka-brokers', '127.0.0.1:1', '--metrics-port', 'x']);
    expect(badPort.stderr).toMatch(/^mqtrail: --metrics-port must be a whole number from 1 to 65535/);
  });

  it('says which brokers it could not reach, and exits 1', { timeout: 60_000 }, async () => {
    const result = await run(['audit', '--follow', '--kafka-brokers', '127.0.0.1:1'], {
      onStop: () => () => {},
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/mqtrail: cannot start the audit on Kafka at 127\.0\.0\.1:1 \(/);
  });
});

describe('mqtrail', () => {
  it('prints help and version with exit code 0, and usage errors with 64', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toMatch(/audit \[options\]/);
    const auditHelp = await run(['audit', '--help']);
    expect(auditHelp.stdout).toContain('--fail-on <kinds>');
    expect(auditHelp.stdout).toContain('"lost,duplicate,dead-letter")');
    expect(auditHelp.stdout).toMatch(
      /--service <name> +services to scan and judge \(repeat or\s+comma-separate\)\s+\(default: every service\)/,
    );
    expect(auditHelp.stdout).toMatch(/--findings-topic <topic> +--follow: where findings are written/);
    expect((await run(['trace', '--help'])).stdout).toContain('waited    = consume span start − send span start');
    expect((await run(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await run(['frobnicate'])).code).toBe(64);
    expect((await run([])).code).toBe(64);
  });
});
