// Silences: the list (expire early), and a form with matchers, duration and comment whose preview
// lists the open alerts it would mute — asked of the daemon, which uses the muter's own matcher.

import { api, ApiError, type ConsoleAlert, type SilenceView } from '../api.js';
import { fill, h } from '../dom.js';
import { t, when, word } from '../i18n.js';
import type { View } from '../router.js';
import { alertCard } from './common.js';

const FIELDS = ['district', 'region', 'entity', 'name', 'rule', 'severity', 'kind', 'manager'];
const OPS = ['=', '!=', '=~', '!~'];
const BY_KEY = 'lookout.ackBy';

interface MatcherRow {
  readonly el: HTMLElement;
  readonly name: HTMLSelectElement;
  readonly op: HTMLSelectElement;
  readonly value: HTMLInputElement;
}

export const silencesView: View = (root, _params, session) => {
  let stopped = false;
  let previewTimer: number | undefined;
  const rows: MatcherRow[] = [];
  const matcherBox = h('div', { class: 'matchers', id: 'matchers' });
  const preview = h('ul', { class: 'alert-list', id: 'silence-preview' });
  const previewNote = h('p', { class: 'hint', id: 'preview-note' });
  const list = h('ul', { class: 'silence-list', id: 'silence-list' }, t('loading'));
  const formStatus = h('p', { class: 'status', id: 'silence-status' });

  function addRow(name = 'district', op = '=', value = ''): void {
    const nameSel = h('select', { class: 'm-name', 'aria-label': t('matchers') }, FIELDS.map((f) => h('option', { value: f, selected: f === name }, f)));
    if (!FIELDS.includes(name)) nameSel.append(h('option', { value: name, selected: true }, name));
    const opSel = h('select', { class: 'm-op', 'aria-label': 'op' }, OPS.map((o) => h('option', { value: o, selected: o === op }, o)));
    const input = h('input', { class: 'm-value', value, required: true, 'aria-label': 'value' });
    const row: MatcherRow = { el: h('div', { class: 'matcher row' }), name: nameSel, op: opSel, value: input };
    const remove = h('button', { type: 'button', class: 'secondary', onclick: () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      schedulePreview();
    } }, t('remove'));
    row.el.append(nameSel, opSel, input, remove);
    for (const el of [nameSel, opSel, input]) el.addEventListener('input', schedulePreview);
    rows.push(row);
    matcherBox.append(row.el);
  }

  const matchers = () => rows.map((r) => ({ name: r.name.value, op: r.op.value, value: r.value.value.trim() }));

  function schedulePreview(): void {
    if (previewTimer !== undefined) clearTimeout(previewTimer);
    previewTimer = window.setTimeout(() => void runPreview(), 250);
  }

  async function runPreview(): Promise<void> {
    const ms = matchers();
    if (!ms.length || ms.some((m) => !m.value)) {
      fill(preview);
      previewNote.textContent = '';
      return;
    }
    try {
      const res = await api.post<{ now: number; alerts: ConsoleAlert[] }>('/api/v1/console/silences/preview', { matchers: ms, duration: duration.value.trim() || '2h' });
      if (stopped) return;
      fill(preview, res.alerts.map((a) => alertCard(a, res.now)));
      previewNote.textContent = res.alerts.length ? '' : t('previewNone');
      previewNote.classList.remove('error');
    } catch (err) {
      previewNote.textContent = (err as Error).message;
      previewNote.classList.add('error');
    }
  }

  const duration = h('input', { id: 'silence-duration', value: '2h', required: true, 'aria-label': t('duration') });
  const comment = h('input', { id: 'silence-comment', required: true, maxlength: 1000, 'aria-label': t('comment') });
  const createdBy = h('input', { id: 'silence-by', required: true, maxlength: 200, value: localStorage.getItem(BY_KEY) ?? '', 'aria-label': t('createdBy') });
  duration.addEventListener('input', schedulePreview);

  const form = h(
    'form',
    { class: 'panel', id: 'silence-form' },
    h('h2', {}, t('newSilence')),
    h('h3', {}, t('matchers')),
    matcherBox,
    h('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, t('addMatcher')),
    h('label', { class: 'field' }, h('span', {}, t('duration')), duration),
    h('label', { class: 'field' }, h('span', {}, t('comment')), comment),
    h('label', { class: 'field' }, h('span', {}, t('createdBy')), createdBy),
    h('button', { type: 'submit', id: 'silence-create' }, t('create')),
    formStatus,
    h('h3', {}, t('preview')),
    previewNote,
    preview,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    localStorage.setItem(BY_KEY, createdBy.value.trim());
    api
      .post('/api/v1/silences', { matchers: matchers(), duration: duration.value.trim(), comment: comment.value.trim(), createdBy: createdBy.value.trim() })
      .then(() => {
        formStatus.textContent = '';
        return loadList();
      })
      .catch((err: ApiError) => {
        formStatus.textContent = err.message;
        formStatus.classList.add('error');
      });
  });

  async function loadList(): Promise<void> {
    const res = await api.get<{ silences: SilenceView[] }>('/api/v1/silences?limit=200');
    if (stopped) return;
    if (!res.silences.length) {
      fill(list, h('li', { class: 'empty' }, t('noSilences')));
      return;
    }
    fill(
      list,
      res.silences.map((s) =>
        h('li', { class: `silence ${s.state}`, 'data-silence-id': s.id, 'data-state': s.state },
          h('div', { class: 'card-head' }, h('span', { class: `badge silence-${s.state}` }, word('silence_', s.state)), h('code', {}, s.matchers.map((m) => `${m.name}${m.op}${m.value}`).join(', '))),
          h('div', {}, `${when(s.startsAt)} – ${when(s.endsAt)} · ${s.createdBy}`),
          h('div', { class: 'hint' }, s.comment),
          session.canAct && s.state !== 'expired'
            ? h('button', { type: 'button', class: 'secondary expire', onclick: () => void api.del(`/api/v1/silences/${encodeURIComponent(s.id)}`).then(loadList).catch((err: Error) => alert(err.message)) }, t('expire'))
            : null,
        ),
      ),
    );
  }

  const prefill = new URLSearchParams(location.search).getAll('m');
  for (const m of prefill) {
    const [, name, op, value] = /^([^=!~]+)(=~|!~|!=|=)(.*)$/.exec(m) ?? [];
    if (name && op) addRow(name, op, value ?? '');
  }
  if (!rows.length) addRow();

  fill(root, h('h1', {}, t('silences')), session.canAct ? form : h('p', { class: 'hint', id: 'silence-readonly' }, t('onlyOperators')), h('section', { class: 'panel' }, h('h2', {}, t('silenceList')), list));
  if (session.canAct) void runPreview();
  loadList().catch((err: Error) => fill(list, h('li', { class: 'status error' }, err.message)));
  return () => {
    stopped = true;
    if (previewTimer !== undefined) clearTimeout(previewTimer);
  };
};
