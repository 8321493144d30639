import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeTargets } from '../support/prometheus';
import { type AppSpec, createApp, type InstalledApp, installedCopies, npm, resolvePackage } from './support/npm';
import { PACKAGES, type PackageKey, packTarballs, type Tarballs } from './support/pack';
import {
  clientOwnedWarnings,
  expectedMessageTrace,
  messageTrace,
  metricByTarget,
  PairRun,
  SCOPE,
  SYSTEMS,
  traceparentOf,
} from './support/scenario';

// mqtrail installed the way users meet it: the packed tarballs (scripts/pack.sh, once per run),
// installed with plain `npm install` into fresh applications under os.tmpdir() — outside the
// workspace, so nothing resolves from its node_modules — and run by the Node running this test.
// Every scenario runs a producer and a consumer as two processes of one app, each with its own
// service name and metrics port, over RabbitMQ and Kafka, and checks what a user would: one trace
// per message in Jaeger (consumer's process span CHILD_OF the producer's send span, both mqtrail's),
// mqtrail's metrics in Prometheus scraped from the apps, one `traceparent` on the wire.
//
//   (a) SDK 2.x app (api 1.9, sdk-node 0.223) with its own NodeSDK and PrometheusExporter
//   (b) SDK 3.x ES module app: `node --import @mqtrail/register producer.mjs`
//   (c) CommonJS app: `node --require @mqtrail/register producer.cjs`
//   (d) SDK 3.x app with @opentelemetry/auto-instrumentations-node (contrib's amqplib and kafkajs
//       instrumentations) registered before, and after, mqtrail's in its own NodeSDK

const MESSAGES = 4;
const CLIENTS = { amqplib: '^2.3.1', kafkajs: '^2.2.4' };
const CJS_FILES = ['messaging.cjs', 'producer.cjs', 'consumer.cjs'];

type AppKey = 'sdk2' | 'sdk2-pinned' | 'esm' | 'cjs' | 'contrib';

function appSpecs(tarballs: Tarballs): Record<AppKey, AppSpec> {
  const mqtrail = (...keys: PackageKey[]) =>
    Object.fromEntries(keys.map((key) => [PACKAGES[key], `file:${tarballs[key]}`]));
  const sdk2 = {
    '@opentelemetry/api': '~1.9.0',
    '@opentelemetry/sdk-node': '0.223.0',
    '@opentelemetry/exporter-trace-otlp-http': '0.223.0',
    '@opentelemetry/exporter-prometheus': '0.223.0',
    ...mqtrail('core', 'amqplib', 'kafkajs'),
    ...CLIENTS,
  };
  return {
    sdk2: { name: 'sdk2', type: 'commonjs', dependencies: sdk2, files: [...CJS_FILES, 'otel-sdk.cjs'] },
    // The same app listing the instrumentation base of its generation itself, as many apps do.
    'sdk2-pinned': {
      name: 'sdk2-pinned',
      type: 'commonjs',
      dependencies: { ...sdk2, '@opentelemetry/instrumentation': '0.223.0' },
      files: [...CJS_FILES, 'otel-sdk.cjs'],
    },
    esm: {
      name: 'register-esm',
      type: 'module',
      dependencies: { ...mqtrail('core', 'amqplib', 'kafkajs', 'register'), ...CLIENTS },
      files: ['messaging.cjs', 'producer.mjs', 'consumer.mjs'],
    },
    cjs: {
      name: 'register-cjs',
      type: 'commonjs',
      dependencies: { ...mqtrail('core', 'amqplib', 'kafkajs', 'register'), ...CLIENTS },
      files: CJS_FILES,
    },
    contrib: {
      name: 'contrib',
      type: 'commonjs',
      dependencies: {
        '@opentelemetry/api': '^1.10.0',
        '@opentelemetry/sdk-node': '^0.301.0',
        '@opentelemetry/exporter-trace-otlp-http': '^0.301.0',
        '@opentelemetry/exporter-prometheus': '^0.301.0',
        '@opentelemetry/auto-instrumentations-node': '^0.82.0',
        ...mqtrail('core', 'amqplib', 'kafkajs'),
        ...CLIENTS,
      },
      files: [...CJS_FILES, 'otel-sdk.cjs'],
    },
  };
}

const installs = new Map<AppKey, Promise<InstalledApp>>();

// One pack, then every app installed in parallel; each scenario awaits its own app.
beforeAll(async () => {
  const tarballs = await packTarballs();
  for (const [key, spec] of Object.entries(appSpecs(tarballs)) as [AppKey, AppSpec][]) {
    const installing = createApp(spec);
    installing.then(
      (app) =>
        console.info(`npm install ${key}: exit ${app.install.code} in ${app.install.durationMs} ms (${app.dir})`),
      () => {}, // awaited by the scenario; a failure is that scenario's
    );
    installs.set(key, installing);
  }
}, 600_000);

// The apps and tarballs live under os.tmpdir(); MQTRAIL_COMPAT_KEEP=1 keeps them to look into.
afterAll(async () => {
  if (process.env.MQTRAIL_COMPAT_KEEP) return;
  const dirs = await Promise.all([...installs.values()].map((app) => app.then((a) => a.dir).catch(() => undefined)));
  const tarballs = await packTarballs().catch(() => undefined);
  if (tarballs !== undefined) dirs.push(path.dirname(tarballs.core));
  await Promise.all(dirs.map((dir) => dir && rm(dir, { recursive: true, force: true })));
}, 60_000);

function installed(key: AppKey): Promise<InstalledApp> {
  const app = installs.get(key);
  if (app === undefined) throw new Error(`app ${key} was not created (packing failed?)`);
  return app;
}

// --- what npm installed ---------------------------------------------------------------------------

const INSTRUMENTATIONS = [PACKAGES.amqplib, PACKAGES.kafkajs];

/** Where a package resolves from, relative to the app, with its version: `node_modules/x@1.2.3`. */
async function seen(app: InstalledApp, fromDir: string, name: string): Promise<string> {
  const found = await resolvePackage(fromDir, name);
  return found === undefined ? 'unresolved' : `${path.relative(app.dir, found.dir)}@${found.version}`;
}

interface Generation {
  /** Every copy of @opentelemetry/api in the tree. */
  api: string[];
  /** The api and instrumentation base each mqtrail instrumentation (and register) resolves. */
  mqtrailSees: Record<string, { api: string; instrumentation: string }>;
  /** Copies of the two peers installed under an @mqtrail package. */
  nestedUnderMqtrail: string[];
  /** Packages the app resolves from outside its own folder (e.g. the workspace). */
  outside: string[];
}

async function generationOf(app: InstalledApp, withRegister: boolean): Promise<Generation> {
  const nodeModules = path.join(app.dir, 'node_modules');
  const owners = withRegister ? [...INSTRUMENTATIONS, PACKAGES.register] : INSTRUMENTATIONS;
  const mqtrailSees: Generation['mqtrailSees'] = {};
  for (const owner of owners) {
    const dir = path.join(nodeModules, owner);
    mqtrailSees[owner] = {
      api: await seen(app, dir, '@opentelemetry/api'),
      instrumentation: await seen(app, dir, '@opentelemetry/instrumentation'),
    };
  }
  const copies = async (name: string) =>
    (await installedCopies(app.dir, name)).map((copy) => `${path.relative(app.dir, copy.dir)}@${copy.version}`);
  const peers = [...(await copies('@opentelemetry/api')), ...(await copies('@opentelemetry/instrumentation'))];
  const outside: string[] = [];
  for (const name of ['amqplib', 'kafkajs', ...Object.keys(app.spec.dependencies)]) {
    const found = await resolvePackage(app.dir, name);
    if (found === undefined || !found.dir.startsWith(`${nodeModules}${path.sep}`))
      outside.push(`${name}: ${found?.dir}`);
  }
  return {
    api: await copies('@opentelemetry/api'),
    mqtrailSees,
    nestedUnderMqtrail: peers.filter((copy) => copy.includes(`${path.sep}@mqtrail${path.sep}`)),
    outside,
  };
}

function expectedGeneration(api: RegExp, instrumentation: RegExp, withRegister: boolean): Generation {
  const owners = withRegister ? [...INSTRUMENTATIONS, PACKAGES.register] : INSTRUMENTATIONS;
  const top = (name: string, version: RegExp) =>
    expect.stringMatching(new RegExp(`^node_modules/${name}@${version.source.replace(/^\^/, '')}`));
  return {
    api: [top('@opentelemetry/api', api)],
    mqtrailSees: Object.fromEntries(
      owners.map((owner) => [
        owner,
        {
          api: top('@opentelemetry/api', api),
          instrumentation: top('@opentelemetry/instrumentation', instrumentation),
        },
      ]),
    ),
    nestedUnderMqtrail: [],
    outside: [],
  };
}

/** Plain `npm install` succeeded without ERESOLVE, `npm ls` is clean, and one generation was installed. */
async function expectCleanInstall(key: AppKey, api: RegExp, instrumentation: RegExp, withRegister: boolean) {
  const app = await installed(key);
  expect(app.install.output, 'npm install output').not.toMatch(/ERESOLVE/);
  expect(app.install.code, `npm install in ${app.dir}:\n${app.install.output}`).toBe(0);
  const ls = await npm(app.dir, ['ls', '--all']);
  expect(ls.code, `npm ls --all in ${app.dir}:\n${ls.output.slice(-6_000)}`).toBe(0);
  expect(ls.output).not.toMatch(/invalid|UNMET|missing/i);
  expect(await generationOf(app, withRegister)).toEqual(expectedGeneration(api, instrumentation, withRegister));
}

// --- one producer/consumer run ------------------------------------------------------------------

interface RunSpec {
  app: AppKey;
  label: string;
  nodeArgs: string[];
  entries: { producer: string; consumer: string };
  env?: Record<string, string>;
  /**
   * Clients each process must be warned about (MQTRAIL_CLIENT_OWNED: mqtrail went around another
   * instrumentation's wrappers); no client may be warned about more than once per process.
   */
  warnings: string[];
}

/** What the app's own endpoint and Prometheus's target say, for a metrics failure message. */
async function endpointDiagnosis(port: number, destination: string): Promise<string> {
  let endpoint: string;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const lines = (await response.text()).split('\n').filter((line) => line.includes(destination));
    endpoint = `127.0.0.1:${port}/metrics has ${lines.length} lines for ${destination}: ${lines.slice(0, 6).join(' | ')}`;
  } catch (error) {
    endpoint = `127.0.0.1:${port}/metrics unreadable (${error instanceof Error ? error.message : error})`;
  }
  const target = (await activeTargets().catch(() => [])).find((t) => t.labels.instance === `127.0.0.1:${port}`);
  return `${endpoint}; Prometheus target: ${target ? `${target.health} ${target.lastError}` : 'none'}`;
}

/** The tests of one producer/consumer run; call inside a describe. */
function runTests(spec: RunSpec): void {
  let starting: Promise<PairRun> | undefined;
  const started = () => {
    starting ??= installed(spec.app).then((app) =>
      PairRun.start({
        app,
        label: spec.label,
        nodeArgs: spec.nodeArgs,
        entries: spec.entries,
        messages: MESSAGES,
        env: spec.env,
      }),
    );
    return starting;
  };
  afterAll(async () => {
    await starting?.then((run) => run.stop()).catch(() => {});
  });

  it('delivers every message from the producer process to the consumer process', async () => {
    const run = await started();
    for (const system of SYSTEMS) {
      expect(run.sent[system]).toHaveLength(MESSAGES);
      expect(run.received[system].map((message) => message.id).sort()).toEqual([...run.sent[system]].sort());
    }
  });

  it("exposes mqtrail's metrics, which Prometheus scrapes from both processes", async () => {
    const run = await started();
    const failures: string[] = [];
    for (const system of SYSTEMS) {
      const destination = run.destination[system];
      const expected = (port: number) => [
        { instance: `127.0.0.1:${port}`, job: 'mqtrail', scope: SCOPE[system], value: MESSAGES },
      ];
      const sent = await metricByTarget('messaging_client_sent_messages_total', destination, MESSAGES);
      const consumed = await metricByTarget('messaging_client_consumed_messages_total', destination, MESSAGES);
      // A histogram too: with mqtrailMetricProducer() on the app's reader (SDK 2.x and 3.x alike)
      // mqtrail aggregates it itself, and it must reach Prometheus the same.
      const processed = await metricByTarget('messaging_process_duration_count', destination, MESSAGES);
      for (const [what, actual, want] of [
        ['sent', sent, expected(run.ports.producer)],
        ['consumed', consumed, expected(run.ports.consumer)],
        ['processed', processed, expected(run.ports.consumer)],
      ] as const) {
        if (JSON.stringify(actual) !== JSON.stringify(want)) {
          const port = what === 'sent' ? run.ports.producer : run.ports.consumer;
          failures.push(
            `${system} ${what}: expected ${JSON.stringify(want)}, Prometheus has ${JSON.stringify(actual)}; ` +
              (await endpointDiagnosis(port, destination)),
          );
        }
      }
    }
    expect(failures).toEqual([]);
    // Room for every check's own 30 s wait, so a failure reports what Prometheus and the app had.
  }, 240_000);

  it('puts exactly one traceparent on the wire per message, the send span of mqtrail', async () => {
    const run = await started();
    for (const system of SYSTEMS) {
      for (const message of run.received[system]) {
        expect(
          message.headers.traceparent,
          `${system} message ${message.id}: ${JSON.stringify(message.headers)}`,
        ).toHaveLength(1);
        // Nothing but the app's own header and mqtrail's propagation headers.
        expect(
          Object.keys(message.headers).filter(
            (key) => !['app', 'traceparent', 'tracestate', 'baggage', 'mqtrail'].includes(key),
          ),
        ).toEqual([]);
      }
    }
  });

  it('shuts down cleanly: both processes flush and exit 0', async () => {
    const run = await started();
    const exits = await run.stop();
    expect(exits.producer, run.producer.describe()).toEqual({ code: 0, signal: null });
    expect(exits.consumer, run.consumer.describe()).toEqual({ code: 0, signal: null });
  });

  for (const system of SYSTEMS) {
    it(`${system}: one trace per message, one send and one process span, CHILD_OF, both mqtrail's`, async () => {
      const run = await started();
      await run.stop(); // every span flushed
      const messages = run.received[system];
      const traceIds = new Set(messages.map((message) => traceparentOf(message).traceId));
      expect(traceIds.size, 'distinct traces').toBe(messages.length);
      const actual = await Promise.all(messages.map((message) => messageTrace(system, message)));
      expect(actual).toEqual(messages.map((message) => expectedMessageTrace(run, system, message)));
    });
  }

  const warned = spec.warnings.length === 0 ? 'nothing' : spec.warnings.join(' and ');
  it(`warns MQTRAIL_CLIENT_OWNED about ${warned} in each process, at most once per client`, async () => {
    const run = await started();
    await run.stop();
    for (const role of ['producer', 'consumer'] as const) {
      const counts = clientOwnedWarnings(run[role].stderr);
      for (const client of spec.warnings) expect(counts[client], `${role}: ${run[role].describe()}`).toBe(1);
      for (const [client, count] of Object.entries(counts)) expect(count, `${role} warnings about ${client}`).toBe(1);
      if (spec.warnings.length === 0) expect(counts, `${role}: ${run[role].describe()}`).toEqual({});
    }
  });
}

// --- the scenarios --------------------------------------------------------------------------------

const cjsEntries = { producer: 'producer.cjs', consumer: 'consumer.cjs' };

describe('(a) SDK 2.x application (api 1.9, sdk-node 0.223) with its own NodeSDK', () => {
  it("installs with plain npm install, taking the app's api 1.9 and instrumentation 0.223", async () => {
    await expectCleanInstall('sdk2', /^1\.9\./, /^0\.223\./, false);
  });
  runTests({
    app: 'sdk2',
    label: 'sdk2',
    nodeArgs: ['--require', './otel-sdk.cjs'],
    entries: cjsEntries,
    warnings: [],
  });
});

describe('(a) SDK 2.x application that also lists @opentelemetry/instrumentation 0.223.0 itself', () => {
  it("installs with plain npm install, taking the app's api 1.9 and instrumentation 0.223", async () => {
    await expectCleanInstall('sdk2-pinned', /^1\.9\./, /^0\.223\./, false);
  });
  runTests({
    app: 'sdk2-pinned',
    label: 'sdk2-pinned',
    nodeArgs: ['--require', './otel-sdk.cjs'],
    entries: cjsEntries,
    warnings: [],
  });
});

describe('(b) SDK 3.x ES module application: node --import @mqtrail/register', () => {
  it('installs with plain npm install, one SDK 3.x generation', async () => {
    await expectCleanInstall('esm', /^1\.10\./, /^0\.30\d\./, true);
  });
  runTests({
    app: 'esm',
    label: 'esm',
    nodeArgs: ['--import', '@mqtrail/register'],
    entries: { producer: 'producer.mjs', consumer: 'consumer.mjs' },
    warnings: [],
  });
});

describe('(c) CommonJS application: node --require @mqtrail/register', () => {
  it('installs with plain npm install, one SDK 3.x generation', async () => {
    await expectCleanInstall('cjs', /^1\.10\./, /^0\.30\d\./, true);
  });
  runTests({
    app: 'cjs',
    label: 'cjs',
    nodeArgs: ['--require', '@mqtrail/register'],
    entries: cjsEntries,
    warnings: [],
  });
});

describe('(d) SDK 3.x application that also registers auto-instrumentations-node', () => {
  it('installs with plain npm install, one api 1.10', async () => {
    await expectCleanInstall('contrib', /^1\.10\./, /^0\.30\d\./, false);
  });
  // mqtrail owns amqplib and kafkajs whatever the order: one span of each kind per message, all
  // mqtrail's, one traceparent. Where it went around contrib's wrappers it says so, once per client
  // and process. Registered first, contrib wraps both clients and mqtrail goes around both.
  // Registered after mqtrail, contrib's amqplib instrumentation leaves methods that are already
  // wrapped alone (it wraps only `!isWrapped(...)`), so there is nothing to go around and no amqplib
  // warning; contrib's kafkajs instrumentation does wrap, and mqtrail goes around it at call time.
  const warnings = { before: ['amqplib', 'kafkajs'], after: ['kafkajs'] };
  for (const order of ['before', 'after'] as const) {
    describe(`contrib registered ${order} mqtrail`, () => {
      runTests({
        app: 'contrib',
        label: `contrib-${order}`,
        nodeArgs: ['--require', './otel-sdk.cjs'],
        entries: cjsEntries,
        env: { CONTRIB_ORDER: order },
        warnings: warnings[order],
      });
    });
  }
});
