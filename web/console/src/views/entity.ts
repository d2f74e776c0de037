// One entity: who and where it is, the last 35 days of each metric its rules read, its alerts.

import { api, type ConsoleAlert, type DayPoint, type Entity } from '../api.js';
import { dailyChart } from '../chart.js';
import { fill, h, link } from '../dom.js';
import { t, word } from '../i18n.js';
import type { View } from '../router.js';
import { alertCard } from './common.js';

export const entityView: View = (root, params) => {
  const id = params.id!;
  let stopped = false;
  fill(root, h('p', {}, t('loading')));
  api
    .get<{ now: number; entity: Entity; alerts: ConsoleAlert[]; series: { metric: string; days: DayPoint[] }[] }>(`/api/v1/console/entities/${encodeURIComponent(id)}`)
    .then((res) => {
      if (stopped) return;
      const e = res.entity;
      fill(
        root,
        link('/', { class: 'back' }, `← ${t('back')}`),
        h('h1', { id: 'entity-title' }, e.name || e.id),
        h('dl', { class: 'facts-list' },
          h('dt', {}, 'ID'), h('dd', {}, e.id),
          h('dt', {}, t('kind')), h('dd', {}, word('kind_', e.kind)),
          h('dt', {}, t('region')), h('dd', {}, e.region ?? '–'),
          h('dt', {}, t('district')), h('dd', {}, e.district ?? '–'),
          h('dt', {}, t('manager')), h('dd', {}, e.manager ?? '–'),
          Object.entries(e.attrs).map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
        ),
        e.kind === 'campaign' ? h('p', {}, link(`/campaigns/${encodeURIComponent(e.id)}`, { class: 'button secondary' }, t('campaign'))) : null,
        res.series.map((s) => h('section', { class: 'panel' }, h('h2', {}, `${t('chart')} · ${s.metric}`), dailyChart(s.days))),
        h('section', { class: 'panel' }, h('h2', {}, t('alertsOfEntity')), h('ul', { class: 'alert-list' }, res.alerts.map((a) => alertCard(a, res.now)))),
      );
    })
    .catch((err: Error) => fill(root, h('p', { class: 'status error' }, err.message)));
  return () => {
    stopped = true;
  };
};
