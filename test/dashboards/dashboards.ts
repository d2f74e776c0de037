// The Grafana dashboards of dashboards/ as the tests see them: panels (row children included),
// their targets, the dashboard variables substituted the way Grafana would, and the metric
// names an expression refers to.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/cli.js';

export const DASHBOARD_DIR = join(ROOT, 'dashboards');
export const DASHBOARD_FILES = ['overview.json', 'channels.json', 'campaigns.json', 'response.json', 'pipeline.json'] as const;

export interface GridPos {
  readonly h: number;
  readonly w: number;
  readonly x: number;
  readonly y: number;
}

export interface Target {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly legendFormat?: string;
  readonly instant?: boolean;
  readonly format?: string;
}

export interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly description?: string;
  readonly gridPos?: GridPos;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
  readonly targets?: Target[];
  /** Row children (collapsed rows keep their panels here). */
  readonly panels?: Panel[];
}

export interface TemplateVar {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly includeAll?: boolean;
  readonly multi?: boolean;
  readonly allValue?: string | null;
  readonly current?: { readonly value?: string | string[] };
}

export interface Dashboard {
  readonly id: number | null;
  readonly uid: string;
  readonly title: string;
  readonly description?: string;
  readonly tags?: string[];
  readonly schemaVersion: number;
  readonly time?: { readonly from: string; readonly to: string };
  readonly refresh?: string;
  readonly templating?: { readonly list?: TemplateVar[] };
  readonly panels: Panel[];
}

export interface LoadedDashboard {
  readonly file: string;
  readonly dashboard: Dashboard;
}

/** Every *.json in dashboards/ (parsed; a syntax error throws with the file name). */
export function loadDashboards(): LoadedDashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(DASHBOARD_DIR, file), 'utf8');
      try {
        return { file, dashboard: JSON.parse(text) as Dashboard };
      } catch (err) {
        throw new Error(`dashboards/${file}: ${(err as Error).message}`);
      }
    });
}

/** Panels in order, row children after their row; rows themselves included (type "row"). */
export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    if (p.type === 'row') out.push(...(p.panels ?? []));
  }
  return out;
}

/** The panels that query: everything but rows. */
export function queryPanels(d: Dashboard): Panel[] {
  return allPanels(d).filter((p) => p.type !== 'row');
}

export function variables(d: Dashboard): TemplateVar[] {
  return d.templating?.list ?? [];
}

export function variableQuery(v: TemplateVar): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}

/**
 * Grafana's global variables, with the values a test uses: `$__rate_interval` is what Grafana
 * computes for a 1 s scrape (≥ 4 scrapes), `$__range` a short dashboard range.
 */
export const BUILTINS: Readonly<Record<string, string>> = {
  __rate_interval: '15s',
  __rate_interval_ms: '15000',
  __interval: '5s',
  __interval_ms: '5000',
  __range: '5m',
  __range_s: '300',
  __range_ms: '300000',
};

const VAR_REF = /\$\{(\w+)(?::[\w-]+)?\}|\[\[(\w+)(?::[\w-]+)?\]\]|\$(\w+)/g;

/** Names of the variables an expression refers to (`$x`, `${x}`, `${x:fmt}`, `[[x]]`). */
export function referencedVariables(expr: string): string[] {
  return [...expr.matchAll(VAR_REF)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/**
 * The expression as Grafana sends it with every variable at "All": a multi/includeAll variable
 * becomes its allValue (or `.*`, regex-compatible inside `=~`), others their current value.
 * An undefined variable throws.
 */
export function substitute(expr: string, vars: readonly TemplateVar[], builtins: Readonly<Record<string, string>> = BUILTINS): string {
  const byName = new Map(vars.map((v) => [v.name, v]));
  return expr.replace(VAR_REF, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (name in builtins) return builtins[name]!;
    const v = byName.get(name);
    if (!v) throw new Error(`${whole} is not a dashboard variable`);
    if (v.type === 'datasource') throw new Error(`${whole} (a datasource variable) inside a query`);
    if (v.includeAll) return v.allValue || '.*';
    const current = v.current?.value;
    const value = Array.isArray(current) ? current[0] : current;
    if (value === undefined || value === '' || value === '$__all') return '.*';
    return value;
  });
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2', 'start', 'end']);

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers,
 * range/subquery brackets, grouping clauses, numbers, function names and keywords are removed.
 */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/(?<![\w.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?(?![\w.])/g, ' ');
  const out: string[] = [];
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = s.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    out.push(m[0]);
  }
  return [...new Set(out)];
}

/** docs/metrics.md's table: name → type. */
export function documentedMetrics(): Map<string, string> {
  const md = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
  const out = new Map<string, string>();
  for (const line of md.split('\n')) {
    const m = /^\| `(lookout_[a-z0-9_]+)` \| (\w+) \|/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** Why a metric name may not be used in a query (undefined: fine). */
export function unknownMetric(name: string, documented: ReadonlyMap<string, string>): string | undefined {
  if (/^lookout_(process|nodejs)_\w+$/.test(name)) return undefined; // prom-client defaults, listed in prose
  const type = documented.get(name);
  if (type === 'histogram') return `${name} is a histogram: query ${name}_bucket, _sum or _count`;
  if (type) return undefined;
  const series = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (series && documented.get(series[1]!) === 'histogram') return undefined;
  return `${name} is not in docs/metrics.md`;
}

/** A readable name of one panel target: `overview#3 今日预警（按级别） A`. */
export function targetName(d: Dashboard, p: Panel, t: Target): string {
  return `${d.uid.replace(/^lookout-/, '')}#${p.id} ${p.title} ${t.refId ?? ''}`.trim();
}
