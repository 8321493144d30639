import { execFileSync, spawnSync } from 'node:child_process';
import { MessagingMetrics, mqtrailMetricProducer } from '@mqtrail/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertRules, REPO_ROOT, ruleFiles, ruleTestFiles } from '../scripts/ops/ops-files';
import { endpoints } from './support/endpoints';
import { opsQueries, substituteGrafanaVariables } from './support/ops-queries';
import { activeTargets, query, waitForSeries } from './support/prometheus';
import { getJson, waitFor } from './support/wait';

const PROMETHEUS_CONFIGS = ['ops/prometheus/prometheus.yml', 'ops/prometheus/prometheus.compose.yml'];

function promtool(...args: string[]): string {
  const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined) {
    throw new Error(
      'promtool is not on PATH. It comes with Debian\'s "prometheus" package, which `scripts/services/ctl up` installs.',
    );
  }
  try {
    return execFileSync('promtool', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

describe('substituteGrafanaVariables', () => {
  it('selects everything for template variables and fixes the interval variables', () => {
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${variable} syntax, not a template
      substituteGrafanaVariables('sum(rate(a{x=~"$system", y="${destination:regex}", z="k"}[$__rate_interval]))'),
    ).toBe('sum(rate(a{x=~".*", y=~".*", z="k"}[1m]))');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${variable} syntax, not a template
    expect(substituteGrafanaVariables('b[${__interval}] offset $__range')).toBe('b[15s] offset 1h');
  });

  it("turns trace-to-metrics' $__tags into one matcher per configured span tag", () => {
    expect(substituteGrafanaVariables('c{$__tags}')).toBe(
      'c{messaging_system=~".+", messaging_destination_name=~".+"}',
    );
  });

  it('refuses what it cannot substitute faithfully', () => {
    expect(() => substituteGrafanaVariables('a{x!~"$system"}')).toThrow(/negative matcher/);
    expect(() => substituteGrafanaVariables('a[$__unknown]')).toThrow(/no substitute/);
    expect(() => substituteGrafanaVariables('a * $factor')).toThrow(/left after substitution/);
  });
});

describe('ops/prometheus with promtool', () => {
  it('the alert rules are valid', () => {
    expect(promtool('check', 'rules', ...ruleFiles())).toContain('SUCCESS');
  });

  it("the alert rules' unit tests pass", () => {
    expect(promtool('test', 'rules', ...ruleTestFiles())).toContain('SUCCESS');
  });

  it.each(PROMETHEUS_CONFIGS)('%s is a valid configuration', (config) => {
    expect(promtool('check', 'config', config)).toContain('is valid prometheus config file syntax');
  });
});

describe('ops/ against the running Prometheus', () => {
  it('loads every alert rule and evaluates it without error', async () => {
    // The running Prometheus reads ops/prometheus/rules/*.yml; a reload picks up edits made
    // since it started (its lifecycle API is on). Without the API, the rules it has are checked.
    await fetch(`${endpoints.prometheus}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(5_000) }).catch(
      () => undefined,
    );
    const expected = alertRules().map(({ rule }) => rule.alert);
    const loaded = await waitFor(
      'every mqtrail alert rule loaded and evaluated by Prometheus',
      async () => {
        const { body } = await getJson<{
          data: { groups: { rules: { name: string; type: string; health: string; lastError?: string }[] }[] };
        }>(`${endpoints.prometheus}/api/v1/rules?type=alert`);
        const rules = body.data.groups.flatMap((group) => group.rules);
        const ours = rules.filter((rule) => expected.includes(rule.name));
        return ours.length === expected.length && ours.every((rule) => rule.health !== 'unknown') ? ours : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(loaded.filter((rule) => rule.health !== 'ok')).toEqual([]);
  });

  it('accepts every dashboard, data source and alert expression', async () => {
    const failures: string[] = [];
    for (const opsQuery of opsQueries()) {
      await query(opsQuery.expr).catch((error: Error) =>
        failures.push(`${opsQuery.file}: ${opsQuery.where}: ${error.message}`),
      );
    }
    expect(failures).toEqual([]);
  });
});

// Metrics recorded through @mqtrail/core and exported by the same OpenTelemetry Prometheus
// exporter that @mqtrail/register uses, with mqtrail's MetricProducer on it as register's has (so
// the histograms are mqtrail's own aggregates), on a port Prometheus scrapes (job `mqtrail`). Each
// expression must then return data: this proves the dashboards and rules use the metric and label
// names the exporter really writes, not the ones documentation suggests.
describe('ops/ expressions over metrics the exporter really writes', () => {
  const port = 9469;
  const run = `ops-${Date.now().toString(36)}`;
  let provider: MeterProvider;
  let timer: NodeJS.Timeout;

  beforeAll(async () => {
    const exporter = new PrometheusExporter({
      host: '127.0.0.1',
      port,
      preventServerStart: true,
      metricProducers: [mqtrailMetricProducer()],
    });
    await exporter.startServer().catch((error: Error) => {
      throw new Error(`cannot expose metrics on 127.0.0.1:${port} for Prometheus to scrape: ${error.message}`);
    });
    provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': run }),
      readers: [exporter],
    });
    const metrics = new MessagingMetrics(provider.getMeter('@mqtrail/e2e-ops'));
    const rabbit = { system: 'rabbitmq', destination: `${run}.orders` } as const;
    const kafka = { system: 'kafka', destination: `${run}.payments`, consumerGroup: `${run}-shipping` } as const;
    // Something of every kind, again and again, so rates are not zero.
    const recordAll = (): void => {
      const now = Date.now();
      metrics.recordSent({ ...rabbit, operation: 'send' });
      metrics.recordSent({ ...kafka, operation: 'send' });
      metrics.startOperation({ ...kafka, operation: 'send' })();
      metrics.startOperation({ ...rabbit, operation: 'send' })('Error');
      for (const labels of [rabbit, kafka]) {
        metrics.recordConsumed({ ...labels, operation: 'process' });
        metrics.startProcess({ ...labels, operation: 'process' })();
        metrics.startProcess({ ...labels, operation: 'process' })('Error');
        metrics.recordDeliveryLatency({ ...labels, operation: 'process' }, now - 120);
        metrics.recordChainLatency({ ...labels, operation: 'process' }, now - 480);
        metrics.recordDuplicate({ ...labels, operation: 'process' });
      }
      metrics.recordSettled({ ...rabbit, operation: 'process' }, 'ack');
      metrics.recordSettled({ ...rabbit, operation: 'process' }, 'drop');
      metrics.recordSettled({ ...kafka, operation: 'process' }, 'commit');
      metrics.recordRedelivered({ ...rabbit, operation: 'process' });
      metrics.recordReturned({ ...rabbit, operation: 'send' });
      metrics.recordConsumerLag({ ...kafka, operation: 'process', partition: 0 }, 3);
    };
    recordAll();
    timer = setInterval(recordAll, 500);
    await waitFor(`Prometheus scraping 127.0.0.1:${port}`, async () => {
      const targets = await activeTargets();
      return targets.find((t) => t.labels.instance === `127.0.0.1:${port}` && t.health === 'up');
    });
    // A rate needs two samples: once this one has them, so has every series recorded above.
    await waitForSeries(`rate(messaging_client_sent_messages_total{messaging_destination_name="${run}.orders"}[1m])`);
  });

  afterAll(async () => {
    clearInterval(timer);
    await provider?.shutdown();
  });

  it('every panel and trace-to-metrics query returns data', async () => {
    const empty: string[] = [];
    for (const opsQuery of opsQueries().filter((q) => q.expectsData)) {
      if ((await query(opsQuery.expr)).length === 0)
        empty.push(`${opsQuery.file}: ${opsQuery.where}: ${opsQuery.expr}`);
    }
    expect(empty).toEqual([]);
  });

  it('every metric an expression reads exists, with every label the expression uses', async () => {
    const problems: string[] = [];
    for (const opsQuery of opsQueries()) {
      // ALERTS is Prometheus's own series of pending and firing alerts: it exists only then.
      const metrics = opsQuery.metrics.filter((name) => name !== 'ALERTS');
      const labelsSeen = new Set<string>(opsQuery.metrics.includes('ALERTS') ? ['alertname', 'alertstate'] : []);
      for (const metric of metrics) {
        const series = await query(`last_over_time(${metric}[1m])`);
        if (series.length === 0) problems.push(`${opsQuery.where}: no series named ${metric}`);
        for (const sample of series) for (const label of Object.keys(sample.metric)) labelsSeen.add(label);
        // last_over_time drops the name; every series has one.
        labelsSeen.add('__name__');
      }
      const unknown = opsQuery.labels.filter((label) => !labelsSeen.has(label));
      if (unknown.length > 0)
        problems.push(`${opsQuery.where}: no series of ${metrics.join(', ')} has label ${unknown.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });
});
