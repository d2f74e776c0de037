// One campaign: phase and live figures (refreshed by polling), complaints by category, open
// alerts, and links to its daily monitoring reports and its post-evaluation record.

import { api, type ConsoleAlert } from '../api.js';
import { fill, h, link } from '../dom.js';
import { num, t, when, word } from '../i18n.js';
import type { View } from '../router.js';
import { badge } from './common.js';
import { POLL_MS } from './alerts.js';

interface DayFigures {
  readonly date: string;
  readonly enrollments: number | null;
  readonly complaints: number | null;
  readonly unsubscribes: number | null;
  readonly complaintsPer10k: number | null;
}

interface CampaignDetail {
  readonly id: string;
  readonly name: string;
  readonly phase: string | null;
  readonly campaign: { start: string; end: string; targetCustomers?: number; ownerName?: string; owner?: string; category?: string };
  readonly figures: {
    readonly asOf: string;
    readonly toDate: { days: number; enrollments: number; complaints: number; unsubscribes: number; complaintsPer10k: number | null };
    readonly yesterday: DayFigures;
    readonly today: DayFigures;
    readonly openAlerts: number;
  };
  readonly evaluated: boolean;
  readonly categories?: readonly { category: string; complaints: number }[];
  readonly alerts: readonly ConsoleAlert[];
}

function figureRow(label: string, f: { enrollments: number | null; complaints: number | null; unsubscribes: number | null; complaintsPer10k: number | null }): HTMLElement {
  return h('tr', {}, h('th', {}, label), h('td', {}, num(f.enrollments)), h('td', {}, num(f.complaints)), h('td', {}, num(f.unsubscribes)), h('td', {}, num(f.complaintsPer10k)));
}

export const campaignView: View = (root, params) => {
  const id = params.id!;
  let stopped = false;
  let timer: number | undefined;
  fill(root, h('p', {}, t('loading')));

  async function load(): Promise<void> {
    const [{ campaign: c }, session] = await Promise.all([
      api.get<{ campaign: CampaignDetail }>(`/api/v1/campaigns/${encodeURIComponent(id)}`),
      api.get<{ now: number }>('/api/v1/console/session'),
    ]);
    if (stopped) return;
    const enc = encodeURIComponent(id);
    fill(
      root,
      link('/', { class: 'back' }, `← ${t('back')}`),
      h('h1', { id: 'campaign-title' }, c.name),
      h('dl', { class: 'facts-list' },
        h('dt', {}, t('phase')), h('dd', { id: 'campaign-phase' }, c.phase ? word('phase_', c.phase) : '–'),
        h('dt', {}, t('window')), h('dd', {}, `${c.campaign.start} – ${c.campaign.end}`),
        h('dt', {}, t('target')), h('dd', {}, num(c.campaign.targetCustomers)),
        h('dt', {}, t('owner')), h('dd', {}, c.campaign.ownerName ?? c.campaign.owner ?? '–'),
      ),
      h('section', { class: 'panel' },
        h('h2', {}, `${t('figures')} · ${c.figures.asOf}`),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'figures', id: 'campaign-figures' },
            h('thead', {}, h('tr', {}, h('th', {}), h('th', {}, t('enrollments')), h('th', {}, t('complaints')), h('th', {}, t('unsubscribes')), h('th', {}, t('per10k')))),
            h('tbody', {}, figureRow(t('today'), c.figures.today), figureRow(t('yesterday'), c.figures.yesterday), figureRow(`${t('toDate')} (${c.figures.toDate.days})`, { ...c.figures.toDate })),
          ),
        ),
        h('p', { class: 'hint' }, t('updated', { t: when(session.now) })),
      ),
      h('section', { class: 'panel' },
        h('h2', {}, t('alerts')),
        c.alerts.length ? null : h('p', { class: 'empty' }, t('noAlerts')),
        h('ul', { class: 'alert-list' }, c.alerts.map((a) => h('li', { class: 'alert-card' }, badge('severity', a.severity), ' ', link(`/alerts/${encodeURIComponent(a.id)}`, {}, a.summary)))),
      ),
      h('section', { class: 'panel links' },
        h('a', { href: `/api/v1/reports/campaigns/${enc}/daily?format=html`, id: 'daily-report', target: '_blank', rel: 'noopener' }, t('dailyReport')),
        ' · ',
        h('a', { href: `/api/v1/campaigns/${enc}/evaluation`, id: 'evaluation-link', target: '_blank', rel: 'noopener', class: c.evaluated ? '' : 'muted' }, t('evaluation')),
      ),
    );
  }

  async function poll(): Promise<void> {
    try {
      await load();
    } catch (err) {
      fill(root, h('p', { class: 'status error' }, (err as Error).message));
    }
    if (!stopped) timer = window.setTimeout(() => void poll(), POLL_MS * 6);
  }
  void poll();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
};
