import { describe, expect, it } from 'vitest';
import {
  allPanels,
  DATASOURCES_FILE,
  dashboardExpressions,
  dashboardFiles,
  type GrafanaDatasourceRef,
  readDashboard,
  readDatasources,
} from './ops-files';

// What Grafana would only show at run time — a panel on a data source that is not provisioned,
// overlapping panels, a link to a variable that does not exist — checked on the files.

const dashboards = dashboardFiles().map((file) => [file, readDashboard(file)] as const);
const datasources = readDatasources();
/** Variables Grafana defines itself, usable in queries and links without being declared. */
const BUILTIN_VARIABLES = ['__rate_interval', '__interval', '__range', '__field', '__value', '__series', '__data'];

describe('Grafana data sources', () => {
  it('provision Prometheus and Jaeger under the fixed uids the dashboards use', () => {
    expect(datasources.map(({ type, uid }) => ({ type, uid }))).toEqual([
      { type: 'prometheus', uid: 'prometheus' },
      { type: 'jaeger', uid: 'jaeger' },
    ]);
  });

  it('link Jaeger spans to metrics in the Prometheus data source', () => {
    const jaeger = datasources.find((datasource) => datasource.type === 'jaeger');
    const tracesToMetrics = jaeger?.jsonData?.tracesToMetrics;
    expect(tracesToMetrics?.datasourceUid).toBe('prometheus');
    expect(tracesToMetrics?.queries?.length).toBeGreaterThan(0);
    for (const query of tracesToMetrics?.queries ?? [])
      expect(query.query, `${DATASOURCES_FILE}: ${query.name}`).toContain('$__tags');
  });
});

describe.each(dashboards)('%s', (file, dashboard) => {
  const panels = allPanels(dashboard);
  const variables = dashboard.templating.list.map((variable) => variable.name);
  const datasourceVariable = dashboard.templating.list.find((variable) => variable.type === 'datasource');

  it('is a current dashboard with a stable uid', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.title).not.toBe('');
  });

  it('has its own uid', () => {
    expect(dashboards.filter(([, other]) => other.uid === dashboard.uid)).toHaveLength(1);
  });

  it('queries Prometheus through its data source variable, which defaults to the provisioned uid', () => {
    expect(datasourceVariable?.query).toBe('prometheus');
    const refs: [string, GrafanaDatasourceRef | undefined][] = [];
    for (const panel of panels) {
      if (panel.type === 'row') continue;
      refs.push([`panel ${panel.id}`, panel.datasource]);
      for (const target of panel.targets ?? [])
        refs.push([`panel ${panel.id} target ${target.refId}`, target.datasource]);
    }
    for (const annotation of dashboard.annotations.list) {
      if (annotation.expr !== undefined) refs.push([`annotation ${annotation.name}`, annotation.datasource]);
    }
    const wrong = refs.filter(([, ref]) => ref?.type !== 'prometheus' || ref.uid !== `\${${datasourceVariable?.name}}`);
    expect(wrong).toEqual([]);
  });

  it('gives every panel a unique id, a description and a query for each target', () => {
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.description, `panel ${panel.id} "${panel.title}"`).toBeTruthy();
      expect(panel.targets?.length, `panel ${panel.id} "${panel.title}"`).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refIds).size, `panel ${panel.id} refIds`).toBe(refIds.length);
      for (const target of panel.targets ?? [])
        expect(target.expr?.trim(), `panel ${panel.id} ${target.refId}`).toBeTruthy();
    }
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const placed = panels.filter((panel) => !panels.some((row) => row.panels?.includes(panel)));
    for (const panel of placed) {
      const { x, y, w, h } = panel.gridPos;
      expect(
        x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24,
        `panel ${panel.id} at ${JSON.stringify(panel.gridPos)}`,
      ).toBe(true);
    }
    for (const [i, a] of placed.entries()) {
      for (const b of placed.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
      }
    }
  });

  it('uses only variables it declares or Grafana provides', () => {
    const texts = [
      ...dashboardExpressions(file).map((found) => found.expr),
      ...dashboard.links.map((link) => link.url),
      ...panels.flatMap((panel) =>
        (panel.fieldConfig?.defaults?.links ?? []).flatMap((link) => [link.url, link.title]),
      ),
    ];
    const used = texts.flatMap((text) => [...text.matchAll(/\$\{?(\w+)/g)].map((match) => match[1] ?? ''));
    const unknown = used.filter((name) => !variables.includes(name) && !BUILTIN_VARIABLES.includes(name));
    expect(unknown).toEqual([]);
  });

  it('links into the Jaeger UI at the address the jaeger_url variable holds', () => {
    const links = [
      ...dashboard.links.map((link) => link.url),
      ...panels.flatMap((panel) => (panel.fieldConfig?.defaults?.links ?? []).map((link) => link.url)),
    ];
    expect(links.length).toBeGreaterThan(1);
    for (const url of links) expect(url).toMatch(/^\$\{jaeger_url\}\/search/);
    // Search by service and operation (`process <destination>`), which is how spans are named.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${variable} syntax, not a template
    expect(links.some((url) => url.includes('service=${__field.labels.service_name}&operation='))).toBe(true);
  });

  it('filters every mqtrail query by the system and destination variables', () => {
    for (const found of dashboardExpressions(file)) {
      if (!/\b(messaging|mqtrail)_\w+(_total|_bucket|_count|_lag)\b/.test(found.expr)) continue;
      expect(found.expr, found.where).toContain('messaging_system=~"$system"');
      expect(found.expr, found.where).toContain('messaging_destination_name=~"$destination"');
    }
  });
});
