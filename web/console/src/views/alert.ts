// One alert: facts, the 35-day chart against the baseline (and today's hours), the timeline, and
// the ack form for operators.

import { api, ApiError, type ConsoleAlert, type DayPoint, type Entity, type TimelineEntry } from '../api.js';
import { dailyChart, hourlyChart } from '../chart.js';
import { fill, h, link } from '../dom.js';
import { age, t, when, word } from '../i18n.js';
import type { View } from '../router.js';
import { POLL_MS } from './alerts.js';
import { badge, toldLine, valueVsBaseline } from './common.js';

const BY_KEY = 'lookout.ackBy';

function entryText(e: TimelineEntry): string {
  const vars = {
    step: e.step ?? '',
    name: e.name ?? '',
    channel: word('ch_', e.channel),
    state: word('ns_', e.state),
    status: e.status ?? '',
    by: e.by ?? '',
    via: word('via_', e.via),
  };
  const line = t(`t_${e.type}`, vars);
  // Deferred says why already (quiet hours); a mute names its silence or inhibiting alert.
  return e.reason && e.state !== 'deferred' ? `${line} · ${e.reason}` : line;
}

function silenceLink(label: string, matchers: Record<string, string>): HTMLAnchorElement {
  const p = new URLSearchParams(Object.entries(matchers).map(([k, v]) => ['m', `${k}=${v}`]));
  return link(`/silences?${p.toString()}`, { class: 'button secondary' }, label);
}

export const alertView: View = (root, params, session) => {
  const id = params.id!;
  fill(root, h('p', {}, t('loading')));
  let stopped = false;

  const typing = () => root.contains(document.activeElement) && document.activeElement instanceof HTMLInputElement;

  async function load(background = false): Promise<void> {
    const [detail, series] = await Promise.all([
      api.get<{ now: number; alert: ConsoleAlert; entity?: Entity; timeline: TimelineEntry[] }>(`/api/v1/console/alerts/${encodeURIComponent(id)}`),
      api.get<{ now: number; metric: string | null; days: DayPoint[]; hours: { hour: number; value: number }[]; judged?: { day: string } }>(`/api/v1/console/alerts/${encodeURIComponent(id)}/series`),
    ]);
    if (stopped || (background && typing())) return;
    const a = detail.alert;
    const since = a.firingAt ?? a.startsAt;
    const entityHref = a.kind === 'campaign' ? `/campaigns/${encodeURIComponent(a.entity)}` : `/entities/${encodeURIComponent(a.entity)}`;

    const ackBox = h('div', { class: 'ack', id: 'ack-box' });
    if (a.state === 'firing' && session.canAct) {
      const by = h('input', { id: 'ack-by', name: 'by', required: true, maxlength: 200, value: localStorage.getItem(BY_KEY) ?? '', 'aria-label': t('ackBy'), placeholder: t('ackBy') });
      const msg = h('span', { class: 'status', id: 'ack-status' });
      const form = h('form', { class: 'row' }, by, h('button', { type: 'submit', id: 'ack-button' }, t('ack')), msg);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const name = by.value.trim();
        if (!name) return;
        localStorage.setItem(BY_KEY, name);
        api
          .post(`/api/v1/console/alerts/${encodeURIComponent(id)}/ack`, { by: name })
          .then(() => load())
          .catch((err: ApiError) => {
            msg.textContent = err.message;
            msg.classList.add('error');
          });
      });
      ackBox.append(form);
    } else if (a.state === 'firing') {
      ackBox.append(h('p', { class: 'hint', id: 'ack-readonly' }, t('ackOnlyOperators')));
    } else if (a.ack) {
      ackBox.append(h('p', { class: 'hint', id: 'ack-done' }, `${t('ackDone')}: ${a.ack.by} · ${when(a.ack.at)}`));
    }

    const charts = h('section', { class: 'panel' }, h('h2', {}, `${t('chart')}${series.metric ? ` · ${series.metric}` : ''}`));
    if (series.days.some((d) => d.value !== null)) charts.append(dailyChart(series.days, series.judged?.day));
    else charts.append(h('p', { class: 'empty' }, t('noSeries')));
    if (series.hours.length) charts.append(h('h3', {}, t('chartHours')), hourlyChart(series.hours));

    fill(
      root,
      link('/', { class: 'back' }, `← ${t('back')}`),
      h('h1', { id: 'alert-title' }, a.name),
      h('p', { class: 'rule-title' }, a.ruleTitle),
      h('div', { class: 'card-head' }, badge('severity', a.severity), h('span', { id: 'alert-state' }, badge('state', a.state))),
      h('dl', { class: 'facts-list' },
        h('dt', {}, t('value')), h('dd', { id: 'alert-value' }, valueVsBaseline(a) || '–'),
        h('dt', {}, t('age')), h('dd', {}, `${age(since, detail.now)} · ${when(since)}`),
        h('dt', {}, t('level')), h('dd', {}, a.level ? t('levelN', { n: a.level }) : '–'),
        h('dt', {}, t('told')), h('dd', {}, toldLine(a, false)),
        h('dt', {}, t('entity')), h('dd', {}, link(entityHref, { id: 'entity-link' }, `${a.name} (${a.entity})`)),
        h('dt', {}, t('district')), h('dd', {}, [a.region, a.district].filter(Boolean).join(' / ') || '–'),
      ),
      h('p', { class: 'summary' }, a.summary),
      ackBox,
      session.canAct && a.state !== 'resolved'
        ? h('div', { class: 'row' }, silenceLink(t('silenceEntity'), { entity: a.entity }), a.district ? silenceLink(t('silenceDistrict'), { district: a.district }) : null)
        : null,
      charts,
      h('section', { class: 'panel' },
        h('h2', {}, t('timeline')),
        h('ol', { class: 'timeline', id: 'timeline' }, detail.timeline.map((e) => h('li', { 'data-type': e.type }, h('time', {}, when(e.at)), h('span', {}, entryText(e))))),
      ),
    );
  }

  // Live: the timeline grows as escalation steps and receipts come in. A round is skipped while
  // someone is typing in the ack form, so a refresh never takes their input away.
  let timer: number | undefined;
  async function poll(first: boolean): Promise<void> {
    if (first || !typing()) {
      try {
        await load(!first);
      } catch (err) {
        fill(root, h('p', { class: 'status error' }, (err as Error).message));
      }
    }
    if (!stopped) timer = window.setTimeout(() => void poll(false), POLL_MS);
  }
  void poll(true);
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
};
