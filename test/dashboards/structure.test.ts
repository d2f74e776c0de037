// Issue 4 §2/§3: the Grafana dashboards' structure, without a network: ids, layout, datasource,
// units, bilingual titles, variables, the metric names every query uses, and the provisioning
// files Grafana reads from where compose.yaml mounts them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import {
  DASHBOARD_DIR,
  DASHBOARD_FILES,
  allPanels,
  documentedMetrics,
  loadDashboards,
  metricNames,
  queryPanels,
  referencedVariables,
  substitute,
  targetName,
  unknownMetric,
  variableQuery,
  variables,
  BUILTINS,
  type GridPos,
  type Panel,
} from './dashboards.js';

const CJK = /[\u4e00-\u9fff]/;
const LATIN = /[A-Za-z]{2,}/;
const UNITS = new Set(['short', 's', 'ms', 'percent', 'percentunit', 'reqps', 'ops', 'bytes', 'none']);
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

const dashboards = loadDashboards();

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Problems of one set of panels laid out together. */
function layoutProblems(panels: readonly Panel[]): string[] {
  const out: string[] = [];
  for (const p of panels) {
    const g = p.gridPos;
    if (!g) {
      out.push(`#${p.id} ${p.title}: no gridPos`);
      continue;
    }
    const ints = [g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n));
    if (!ints || g.w < 1 || g.h < 1 || g.x < 0 || g.y < 0 || g.x + g.w > 24) out.push(`#${p.id} ${p.title}: gridPos ${JSON.stringify(g)} outside 24 columns`);
  }
  for (let i = 0; i < panels.length; i++) {
    for (let j = i + 1; j < panels.length; j++) {
      const a = panels[i]!;
      const b = panels[j]!;
      if (a.gridPos && b.gridPos && overlaps(a.gridPos, b.gridPos)) out.push(`#${a.id} ${a.title} overlaps #${b.id} ${b.title}`);
    }
  }
  return out;
}

describe('dashboards/', () => {
  it('holds the five dashboards, each parsing, with unique lookout-* uids', () => {
    for (const f of DASHBOARD_FILES) expect(existsSync(join(DASHBOARD_DIR, f)), `dashboards/${f}`).toBe(true);
    const uids = dashboards.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, dashboard: d } of dashboards) {
      expect(d.uid, file).toMatch(/^lookout-[a-z0-9-]+$/);
      expect(d.id, file).toBeNull();
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(39);
      expect(d.tags, file).toContain('lookout');
      expect(d.time, file).toEqual({ from: 'now-24h', to: 'now' });
      expect(d.refresh, file).toBe('1m');
      // Chinese title with the English after it: `Lookout 预警总览 · Overview`.
      expect(d.title, file).toMatch(CJK);
      expect(d.title.replace(/Lookout/g, ''), file).toMatch(LATIN);
    }
  });

  it.each(dashboards.map((d) => [d.file, d.dashboard] as const))('%s: panel ids unique, layout inside 24 columns without overlaps', (_file, d) => {
    const ids = allPanels(d).map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id! > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Open rows keep their panels at the top level; a collapsed row's children are laid out
    // among themselves (where they go when it opens).
    const problems = layoutProblems(d.panels);
    for (const row of d.panels.filter((p) => p.type === 'row')) problems.push(...layoutProblems(row.panels ?? []));
    expect(problems).toEqual([]);
  });

  it.each(dashboards.map((d) => [d.file, d.dashboard] as const))('%s: every panel has the ${datasource} datasource, a query, a unit and a bilingual title', (_file, d) => {
    const problems: string[] = [];
    for (const p of allPanels(d)) {
      const name = `#${p.id} ${p.title}`;
      if (!CJK.test(p.title ?? '')) problems.push(`${name}: title without Chinese`);
      if (p.type === 'row') continue;
      if (!LATIN.test(p.description ?? '')) problems.push(`${name}: no English description`);
      if (JSON.stringify(p.datasource) !== JSON.stringify(DATASOURCE)) problems.push(`${name}: datasource ${JSON.stringify(p.datasource)}`);
      const unit = p.fieldConfig?.defaults?.unit;
      if (!unit || !UNITS.has(unit)) problems.push(`${name}: unit ${JSON.stringify(unit)}`);
      const targets = p.targets ?? [];
      if (!targets.some((t) => (t.expr ?? '').trim() !== '')) problems.push(`${name}: no target with an expr`);
      for (const t of targets) {
        if ((t.expr ?? '').trim() === '') problems.push(`${name} ${t.refId}: empty expr`);
        if (t.datasource && JSON.stringify(t.datasource) !== JSON.stringify(DATASOURCE)) problems.push(`${name} ${t.refId}: datasource ${JSON.stringify(t.datasource)}`);
      }
      const refIds = targets.map((t) => t.refId);
      if (new Set(refIds).size !== refIds.length) problems.push(`${name}: duplicate refIds`);
    }
    expect(problems).toEqual([]);
  });

  it.each(dashboards.map((d) => [d.file, d.dashboard] as const))('%s: variables are defined and datasource-driven', (_file, d) => {
    const vars = variables(d);
    const ds = vars.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const names = new Set(vars.map((v) => v.name));
    const used = new Set<string>();
    for (const p of queryPanels(d)) for (const t of p.targets ?? []) for (const v of referencedVariables(t.expr ?? '')) used.add(v);
    for (const v of used) expect(names.has(v) || v in BUILTINS, `$${v} used but not defined`).toBe(true);
    for (const v of vars) {
      if (v.type !== 'query') continue;
      expect((v as { datasource?: unknown }).datasource, v.name).toEqual(DATASOURCE);
      expect(used.has(v.name), `$${v.name} defined but no query uses it`).toBe(true);
      expect(variableQuery(v), v.name).toMatch(/^label_values\(lookout_\w+, \w+\)$/);
      // Multi-value and All must stay regex-compatible: the queries use =~.
      if (v.multi) expect(v.includeAll && v.allValue, v.name).toBe('.*');
    }
    const region = vars.find((v) => v.name === 'region');
    if (region) expect([variableQuery(region), region.multi, region.includeAll]).toEqual(['label_values(lookout_alert_firing, region)', true, true]);
  });

  it('every query uses only metrics from docs/metrics.md (or prom-client process metrics)', () => {
    const documented = documentedMetrics();
    expect(documented.size).toBeGreaterThan(20);
    const problems: string[] = [];
    const used = new Set<string>();
    for (const { dashboard: d } of dashboards) {
      const vars = variables(d);
      for (const v of vars.filter((x) => x.type === 'query')) {
        for (const m of metricNames(variableQuery(v).replace(/^label_values\((\w+),.*$/, '$1'))) {
          const why = unknownMetric(m, documented);
          if (why) problems.push(`${d.uid} $${v.name}: ${why}`);
        }
      }
      for (const p of queryPanels(d)) {
        for (const t of p.targets ?? []) {
          const names = metricNames(substitute(t.expr ?? '', vars));
          if (!names.length) problems.push(`${targetName(d, p, t)}: no metric in ${t.expr}`);
          for (const m of names) {
            used.add(m);
            const why = unknownMetric(m, documented);
            if (why) problems.push(`${targetName(d, p, t)}: ${why}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // The dashboards cover the subjects.
    for (const m of ['lookout_alert_firing', 'lookout_alert_measure', 'lookout_alert_value', 'lookout_time_to_ack_seconds_bucket', 'lookout_sms_receipts_total', 'lookout_queue_jobs', 'lookout_nodejs_eventloop_lag_seconds', 'lookout_redis_up']) {
      expect(used.has(m), m).toBe(true);
    }
  });

  it('finds metric names the way PromQL reads them', () => {
    expect(metricNames('histogram_quantile(0.9, sum by (le, level) (increase(lookout_time_to_ack_seconds_bucket{severity=~".*"}[5m])))')).toEqual(['lookout_time_to_ack_seconds_bucket']);
    expect(metricNames('count by (region) (label_replace(max by (rule) (a_b{x="y"}), "region", "none", "region", "")) / on(region) c * 60')).toEqual(['a_b', 'c']);
    expect(metricNames('lookout_nodejs_eventloop_lag_p99_seconds > 1e3')).toEqual(['lookout_nodejs_eventloop_lag_p99_seconds']);
    expect(unknownMetric('lookout_time_to_ack_seconds', new Map([['lookout_time_to_ack_seconds', 'histogram']]))).toMatch(/histogram/);
    expect(substitute('x{r=~"$region", s=~"${severity}"}[$__rate_interval]', [
      { name: 'region', type: 'query', includeAll: true, multi: true, allValue: '.*' },
      { name: 'severity', type: 'query', includeAll: true },
    ])).toBe('x{r=~".*", s=~".*"}[15s]');
    expect(() => substitute('x{a="$nope"}', [])).toThrow(/not a dashboard variable/);
  });
});

describe('dashboards/provisioning', () => {
  const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as { services: Record<string, { image?: string; volumes?: (string | { source?: string; target?: string })[] }> };
  const grafana = Object.values(compose.services).find((s) => /grafana/.test(s.image ?? ''));
  const mounts = new Map<string, string>();
  for (const v of grafana?.volumes ?? []) {
    const [source, target] = typeof v === 'string' ? v.split(':') : [v.source, v.target];
    if (source && target) mounts.set(source.replace(/\/$/, ''), target);
  }

  it('compose mounts the provisioning folder and the dashboards where Grafana reads them', () => {
    expect(grafana, 'a grafana service in compose.yaml').toBeDefined();
    expect(mounts.get('./dashboards/provisioning')).toBe('/etc/grafana/provisioning');
    expect(mounts.get('./dashboards')).toBe('/var/lib/grafana/dashboards');
    expect(compose.services.prometheus, 'a prometheus service for http://prometheus:9090').toBeDefined();
  });

  it('provisions the Prometheus datasource (uid prometheus, default)', () => {
    const file = join(DASHBOARD_DIR, 'provisioning', 'datasources', 'prometheus.yaml');
    const y = parse(readFileSync(file, 'utf8')) as { apiVersion: number; datasources: Record<string, unknown>[] };
    expect(y.apiVersion).toBe(1);
    expect(y.datasources).toHaveLength(1);
    expect(y.datasources[0]).toMatchObject({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090', isDefault: true, access: 'proxy' });
  });

  it('provisions a file provider reading the mounted dashboards into the Lookout folder', () => {
    const file = join(DASHBOARD_DIR, 'provisioning', 'dashboards', 'lookout.yaml');
    const y = parse(readFileSync(file, 'utf8')) as { apiVersion: number; providers: { type: string; folder: string; options: { path: string } }[] };
    expect(y.apiVersion).toBe(1);
    expect(y.providers).toHaveLength(1);
    expect(y.providers[0]).toMatchObject({ type: 'file', folder: 'Lookout', options: { path: '/var/lib/grafana/dashboards' } });
    // The provider's path is the container side of compose's ./dashboards mount.
    expect(mounts.get('./dashboards')).toBe(y.providers[0]!.options.path);
  });

  it('dashboards/README.md says which dashboard answers which question', () => {
    const readme = readFileSync(join(DASHBOARD_DIR, 'README.md'), 'utf8');
    for (const { file, dashboard: d } of dashboards) {
      expect(readme, file).toContain(d.title);
    }
    expect(readme).toMatch(/\| *who/i);
  });
});
