// Plain SVG charts: daily bars against the rule's baseline line, and today's hourly bars. The
// viewBox scales to the container's width, so a phone never scrolls sideways.

import type { DayPoint } from './api.js';
import { svg } from './dom.js';
import { num, t } from './i18n.js';

const W = 640;
const H = 220;
const PAD = { l: 40, r: 8, t: 12, b: 28 };

function scale(max: number): (v: number) => number {
  const top = max > 0 ? max * 1.1 : 1;
  return (v) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / top);
}

/** Daily values as bars, the baseline as a line; `judged` (the alert's day) is highlighted. */
export function dailyChart(days: readonly DayPoint[], judged?: string): SVGElement {
  const max = Math.max(0, ...days.map((d) => Math.max(d.value ?? 0, d.baseline ?? 0)));
  const y = scale(max);
  const step = (W - PAD.l - PAD.r) / Math.max(1, days.length);
  const bars = days.map((d, i) =>
    d.value === null
      ? null
      : svg('rect', {
          class: d.day === judged ? 'bar judged' : 'bar',
          x: (PAD.l + i * step + step * 0.15).toFixed(1),
          y: y(d.value).toFixed(1),
          width: (step * 0.7).toFixed(1),
          height: (H - PAD.b - y(d.value)).toFixed(1),
          'data-day': d.day,
          'data-value': d.value,
        }, svg('title', {}, `${d.day} ${t('value')} ${num(d.value)}${d.baseline === null ? '' : ` / ${t('baseline')} ${num(d.baseline)}`}`)),
  );
  const linePoints = days.flatMap((d, i) => (d.baseline === null ? [] : [`${(PAD.l + i * step + step / 2).toFixed(1)},${y(d.baseline).toFixed(1)}`]));
  const first = days[0]?.day.slice(5) ?? '';
  const last = days.at(-1)?.day.slice(5) ?? '';
  return svg(
    'svg',
    { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('chart'), preserveAspectRatio: 'xMidYMid meet' },
    svg('line', { class: 'axis', x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }),
    svg('text', { class: 'tick', x: PAD.l - 4, y: y(max) + 4, 'text-anchor': 'end' }, num(Math.round(max))),
    svg('text', { class: 'tick', x: PAD.l - 4, y: H - PAD.b + 4, 'text-anchor': 'end' }, '0'),
    bars,
    linePoints.length > 1 ? svg('polyline', { class: 'baseline', points: linePoints.join(' ') }) : null,
    svg('text', { class: 'tick', x: PAD.l, y: H - 8 }, first),
    svg('text', { class: 'tick', x: W - PAD.r, y: H - 8, 'text-anchor': 'end' }, last),
  );
}

/** Today's values per hour (0–23). */
export function hourlyChart(hours: readonly { hour: number; value: number }[]): SVGElement {
  const max = Math.max(0, ...hours.map((h) => h.value));
  const y = scale(max);
  const step = (W - PAD.l - PAD.r) / 24;
  return svg(
    'svg',
    { class: 'chart hours', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('chartHours') },
    svg('line', { class: 'axis', x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }),
    svg('text', { class: 'tick', x: PAD.l - 4, y: y(max) + 4, 'text-anchor': 'end' }, num(Math.round(max))),
    hours.map((hv) =>
      svg('rect', { class: 'bar', x: (PAD.l + hv.hour * step + step * 0.15).toFixed(1), y: y(hv.value).toFixed(1), width: (step * 0.7).toFixed(1), height: (H - PAD.b - y(hv.value)).toFixed(1) },
        svg('title', {}, `${hv.hour}:00 ${num(hv.value)}`)),
    ),
    [0, 6, 12, 18, 23].map((hr) => svg('text', { class: 'tick', x: (PAD.l + hr * step + step / 2).toFixed(1), y: H - 8, 'text-anchor': 'middle' }, String(hr))),
  );
}
