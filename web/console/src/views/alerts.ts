// The alert list: open alerts, filters kept in the URL, grouped region → district, refreshed by
// short polling. Ages are computed against the server's `now`.

import { api, type ConsoleAlert } from '../api.js';
import { fill, h } from '../dom.js';
import { t, when, word, type Key } from '../i18n.js';
import type { View } from '../router.js';
import { alertCard } from './common.js';

export const POLL_MS = 5000;

const FILTERS = ['state', 'severity', 'rule', 'kind', 'region', 'district'] as const;
type FilterName = (typeof FILTERS)[number];
const LABELS: Record<FilterName, Key> = {
  state: 'filterState',
  severity: 'filterSeverity',
  rule: 'filterRule',
  kind: 'filterKind',
  region: 'filterRegion',
  district: 'filterDistrict',
};

function fieldOf(a: ConsoleAlert, f: FilterName): string {
  return (a[f] ?? '') as string;
}

/** Option labels for a filter's values. */
function optionLabel(f: FilterName, value: string, alerts: readonly ConsoleAlert[]): string {
  if (f === 'state') return word('state_', value);
  if (f === 'severity') return word('severity_', value);
  if (f === 'kind') return word('kind_', value);
  if (f === 'rule') return alerts.find((a) => a.rule === value)?.ruleTitle ?? value;
  return value;
}

async function fetchAll(): Promise<{ now: number; alerts: ConsoleAlert[] }> {
  let cursor: string | undefined;
  const alerts: ConsoleAlert[] = [];
  let now = 0;
  do {
    const page = await api.get<{ now: number; alerts: ConsoleAlert[]; next?: string }>(`/api/v1/console/alerts?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    now = page.now;
    alerts.push(...page.alerts);
    cursor = page.next;
  } while (cursor);
  return { now, alerts };
}

export const alertsView: View = (root) => {
  const params = new URLSearchParams(location.search);
  const chosen = new Map<FilterName, string>(FILTERS.flatMap((f) => (params.get(f) ? [[f, params.get(f)!] as [FilterName, string]] : [])));
  let text = params.get('q') ?? '';
  let data: { now: number; alerts: ConsoleAlert[] } | undefined;
  let timer: number | undefined;
  let stopped = false;

  const selects = new Map<FilterName, HTMLSelectElement>();
  const search = h('input', { type: 'search', id: 'filter-q', placeholder: t('filterText'), value: text, 'aria-label': t('filterText') });
  const list = h('div', { id: 'alert-groups' }, t('loading'));
  const status = h('p', { class: 'status', id: 'updated' });
  const bar = h('div', { class: 'filters' });
  for (const f of FILTERS) {
    const sel = h('select', { id: `filter-${f}`, name: f, 'aria-label': t(LABELS[f]) });
    selects.set(f, sel);
    sel.addEventListener('change', () => {
      if (sel.value) chosen.set(f, sel.value);
      else chosen.delete(f);
      render();
    });
    bar.append(h('label', { class: 'filter' }, h('span', {}, t(LABELS[f])), sel));
  }
  search.addEventListener('input', () => {
    text = search.value;
    render();
  });
  bar.append(h('label', { class: 'filter wide' }, search));
  fill(root, h('h1', {}, t('openAlerts')), bar, status, list);

  function keepInUrl(): void {
    const p = new URLSearchParams();
    for (const [f, v] of chosen) p.set(f, v);
    if (text) p.set('q', text);
    const qs = p.toString();
    history.replaceState(null, '', qs ? `/?${qs}` : '/');
  }

  function options(): void {
    const alerts = data?.alerts ?? [];
    for (const f of FILTERS) {
      const sel = selects.get(f)!;
      const values = [...new Set(alerts.map((a) => fieldOf(a, f)).filter(Boolean))].sort();
      if (f === 'state') for (const s of ['pending', 'firing', 'acknowledged']) if (!values.includes(s)) values.push(s);
      if (f === 'severity') for (const s of ['critical', 'warning', 'info']) if (!values.includes(s)) values.push(s);
      const current = chosen.get(f);
      if (current && !values.includes(current)) values.push(current);
      fill(sel, h('option', { value: '' }, t('all')), values.map((v) => h('option', { value: v, selected: v === current }, optionLabel(f, v, alerts))));
    }
  }

  function matches(a: ConsoleAlert): boolean {
    for (const [f, v] of chosen) if (fieldOf(a, f) !== v) return false;
    const q = text.trim().toLowerCase();
    if (!q) return true;
    return [a.name, a.entity, a.ruleTitle, a.rule, a.summary, a.region ?? '', a.district ?? ''].some((s) => s.toLowerCase().includes(q));
  }

  function render(): void {
    keepInUrl();
    if (!data) return;
    const shown = data.alerts.filter(matches);
    if (!shown.length) {
      fill(list, h('p', { class: 'empty', id: 'no-alerts' }, t('noAlerts')));
      return;
    }
    const regions = new Map<string, Map<string, ConsoleAlert[]>>();
    for (const a of shown) {
      const r = a.region ?? '';
      const d = a.district ?? '';
      if (!regions.has(r)) regions.set(r, new Map());
      const districts = regions.get(r)!;
      if (!districts.has(d)) districts.set(d, []);
      districts.get(d)!.push(a);
    }
    const sevRank = { critical: 0, warning: 1, info: 2 } as const;
    const now = data.now;
    fill(
      list,
      [...regions.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([region, districts]) =>
          h('section', { class: 'region', 'data-region': region },
            h('h2', {}, region || t('noRegion'), h('span', { class: 'count' }, String([...districts.values()].reduce((n, l) => n + l.length, 0)))),
            [...districts.entries()]
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([district, alerts]) =>
                h('div', { class: 'district', 'data-district': district },
                  h('h3', {}, district || t('noDistrict'), h('span', { class: 'count' }, String(alerts.length))),
                  h('ul', { class: 'alert-list' }, alerts.sort((x, y) => sevRank[x.severity] - sevRank[y.severity] || (x.firingAt ?? x.startsAt) - (y.firingAt ?? y.startsAt)).map((a) => alertCard(a, now))),
                ),
              ),
          ),
        ),
    );
  }

  async function poll(): Promise<void> {
    try {
      data = await fetchAll();
      options();
      render();
      status.textContent = t('updated', { t: when(data.now) });
      status.classList.remove('error');
    } catch (err) {
      status.textContent = (err as Error).message;
      status.classList.add('error');
    }
    if (!stopped) timer = window.setTimeout(() => void poll(), POLL_MS);
  }
  void poll();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
};
