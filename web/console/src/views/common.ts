// Pieces several views share: badges, the alert card, value vs baseline.

import type { ConsoleAlert } from '../api.js';
import { h, link } from '../dom.js';
import { age, num, t, word } from '../i18n.js';

export function badge(kind: 'severity' | 'state', value: string): HTMLElement {
  return h('span', { class: `badge ${kind}-${value}` }, word(`${kind}_`, value));
}

export function valueVsBaseline(a: Pick<ConsoleAlert, 'value' | 'baseline'>): string {
  if (a.value === undefined) return '';
  if (a.baseline === undefined || a.baseline === 0) return `${t('value')} ${num(a.value)}`;
  const pct = Math.round(((a.value - a.baseline) / a.baseline) * 100);
  return `${t('value')} ${num(a.value)} / ${t('baseline')} ${num(a.baseline)} (${pct > 0 ? '+' : ''}${pct}%)`;
}

/** Who was told, in escalation order; `label` prefixes "已通知:". */
export function toldLine(a: ConsoleAlert, label = true): string {
  if (!a.told.length) return t('nobodyTold');
  const names = [...new Set([...a.told].sort((x, y) => x.step - y.step).map((x) => x.name))];
  return label ? `${t('told')}: ${names.join('、')}` : names.join('、');
}

/** One alert as a card in a list. */
export function alertCard(a: ConsoleAlert, now: number): HTMLElement {
  const since = a.firingAt ?? a.startsAt;
  return h(
    'li',
    { class: `alert-card sev-${a.severity}`, 'data-alert-id': a.id, 'data-state': a.state },
    h('div', { class: 'card-head' }, badge('severity', a.severity), badge('state', a.state), link(`/alerts/${encodeURIComponent(a.id)}`, { class: 'alert-name' }, a.name)),
    h('div', { class: 'rule-title' }, a.ruleTitle),
    h('div', { class: 'facts' },
      h('span', { class: 'vb' }, valueVsBaseline(a)),
      h('span', { class: 'age', 'data-since': since }, `${t('age')} ${age(since, now)}`),
      h('span', { class: 'level' }, a.level ? t('levelN', { n: a.level }) : ''),
    ),
    h('div', { class: 'told' }, toldLine(a)),
  );
}
