// The daily monitoring report and the post-evaluation record as email (subject, text, phone-first
// HTML whose chart is a PNG attached inline by cid, rasterised from the SVG — the SVG itself is
// inlined only when no PNG could be made) and Markdown (the evaluation's text part, and
// `lookout report campaign`).
// Templates are mustache files an operator may edit: campaign-report.* and campaign-evaluation.*
// in LOOKOUT_TEMPLATES_DIR, falling back to the shipped templates/<locale>/ for missing files.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Mustache from 'mustache';
import { packageRoot } from '../config/paths.js';
import { ConfigError } from '../errors/catalogue.js';
import type { MailAttachment } from '../domain/notification.js';
import { SEVERITY_WORDS } from '../notify/render.js';
import { svgToPng, type RasterizeOptions } from './chart-image.js';
import type { Locale } from '../domain/complaints.js';
import type { AlertRow, DailyReport, DayFigures, EvaluationRecord, MinuteStats } from './figures.js';

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  /** Refers to the attachments as `cid:…`. */
  readonly html: string;
  /** The charts as inline PNGs (none when they could not be rasterised: the HTML then inlines the SVG). */
  readonly attachments: readonly MailAttachment[];
  /** Why a chart has no PNG, when it has none. */
  readonly chartError?: string;
}

/** A chart a report template shows: `{{#trendChart}}<img src="{{{src}}}" …>{{/trendChart}}{{^trendChart}}{{{trendSvg}}}{{/trendChart}}`. */
interface ChartSpec {
  /** The view field the image goes in (null when there is no PNG). */
  readonly field: string;
  readonly svg: string;
  readonly width: number;
  readonly height: number;
  readonly alt: string;
  readonly cid: string;
  readonly filename: string;
}

export const REPORT_TEMPLATES = ['campaign-report.subject.mustache', 'campaign-report.text.mustache', 'campaign-report.html.mustache'] as const;
export const EVALUATION_TEMPLATES = ['campaign-evaluation.subject.mustache', 'campaign-evaluation.text.mustache', 'campaign-evaluation.html.mustache'] as const;

/** Reads a template from `dir`, else the shipped one of the locale. */
async function template(dir: string, locale: Locale, file: string): Promise<string> {
  for (const d of [dir, join(packageRoot(), 'templates', locale)]) {
    try {
      const text = await readFile(join(d, file), 'utf8');
      try {
        Mustache.parse(text);
      } catch (err) {
        throw new ConfigError('bad_template', `does not parse: ${(err as Error).message}`, join(d, file));
      }
      return text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new ConfigError('bad_template', `template file is missing (LOOKOUT_TEMPLATES_DIR=${dir})`, join(dir, file));
}

const TEXT = { escape: (v: unknown) => String(v) };
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The report's words, Chinese and English side by side. */
const WORDS: Readonly<Record<string, readonly [zh: string, en: string]>> = {
  unacked: ['未确认', 'not acknowledged'],
  minutes: ['分钟', 'min'],
  'via.sms': ['短信', 'SMS'],
  'via.link': ['链接', 'link'],
  'via.api': ['API', 'API'],
  'phase.preparation': ['上线准备', 'preparation'],
  'phase.live': ['实施中', 'live'],
  'phase.post_evaluation': ['后评估', 'post-evaluation'],
  'state.firing': ['告警中', 'firing'],
  'state.acknowledged': ['已确认', 'acknowledged'],
  'state.resolved': ['已恢复', 'resolved'],
  'state.pending': ['待确认', 'pending'],
};

/** The word for `key` in `locale`, or `fallback` (the raw value) when there is none. */
function word(locale: Locale, key: string, fallback = key): string {
  return WORDS[key]?.[locale === 'zh' ? 0 : 1] ?? fallback;
}

function num(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined) return '—';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

function pct(share: number | null | undefined): string {
  if (share === null || share === undefined) return '—';
  const p = share * 100;
  return p > 0 && p < 10 ? `${p.toFixed(1)}%` : `${Math.round(p)}%`;
}

/** Right-aligned in `width` columns (CJK counts double), for plain-text tables. */
function col(s: string, width: number): string {
  const w = Array.from(s).reduce((n, ch) => n + (/[\u3000-\u9fff\uff00-\uffef]/.test(ch) ? 2 : 1), 0);
  return ' '.repeat(Math.max(0, width - w)) + s;
}

const time = (iso: string) => iso.slice(0, 16).replace('T', ' ');

function alertView(a: AlertRow, locale: Locale) {
  const ack = a.ackMinutes !== undefined ? `${num(a.ackMinutes)} ${word(locale, 'minutes')}（${a.ackBy ?? ''}${a.ackVia ? `，${word(locale, `via.${a.ackVia}`, a.ackVia)}` : ''}）` : word(locale, 'unacked');
  return {
    severityWord: SEVERITY_WORDS[locale][a.severity],
    isCritical: a.severity === 'critical',
    ruleName: a.ruleName,
    summary: a.summary,
    period: a.period,
    firedAt: time(a.firedAt),
    ack: locale === 'en' ? ack.replace('（', ' (').replace('）', ')').replace('，', ', ') : ack,
    resolved: a.resolvedAt ? time(a.resolvedAt) : '',
    resolveMinutes: a.resolveMinutes !== undefined ? num(a.resolveMinutes) : '',
    level: a.level,
    escalated: a.level >= 2,
    state: word(locale, `state.${a.state}`, a.state),
  };
}

function statsView(s: MinuteStats | null) {
  return s ? { median: num(s.median), p90: num(s.p90), max: num(s.max) } : null;
}

/** A small bar chart (SVG, no external images) of daily values; empty days are gaps. */
export function barChart(days: readonly { readonly label: string; readonly value: number | null; readonly highlight?: boolean }[], opts: { width?: number; height?: number; color?: string } = {}): string {
  const width = opts.width ?? 320;
  const height = opts.height ?? 96;
  const pad = 14;
  const n = Math.max(1, days.length);
  const max = Math.max(1, ...days.map((d) => d.value ?? 0));
  const slot = (width - 2) / n;
  const bar = Math.max(2, slot * 0.64);
  const parts: string[] = [];
  days.forEach((d, i) => {
    const x = 1 + i * slot + (slot - bar) / 2;
    const v = d.value ?? 0;
    const h = d.value === null ? 0 : Math.max(1, ((height - 2 * pad) * v) / max);
    const y = height - pad - h;
    const fill = d.highlight ? '#b00020' : (opts.color ?? '#5b8def');
    if (d.value !== null) parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}" fill="${fill}"/>`);
    // Up to 14 bars every bar is labelled; a longer chart labels its first and last day and the highlighted bar.
    const edge = i === 0 || i === n - 1;
    if (n <= 14 || edge || d.highlight) {
      const cx = (x + bar / 2).toFixed(1);
      const anchor = n <= 14 ? 'middle' : i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
      const lx = n <= 14 ? cx : i === 0 ? x.toFixed(1) : i === n - 1 ? (x + bar).toFixed(1) : cx;
      if (d.value !== null && (n <= 14 || d.highlight)) parts.push(`<text x="${lx}" y="${(y - 2).toFixed(1)}" font-size="9" text-anchor="${anchor}" fill="#333">${num(d.value, 0)}</text>`);
      if (n <= 14 || edge) parts.push(`<text x="${lx}" y="${height - 3}" font-size="9" text-anchor="${anchor}" fill="#666">${escapeXml(d.label)}</text>`);
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" style="max-width: 100%; height: auto;"><line x1="0" y1="${height - pad}" x2="${width}" y2="${height - pad}" stroke="#ccc"/>${parts.join('')}</svg>`;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function dayRow(d: DayFigures, highlight = false) {
  const row = {
    enrollments: num(d.enrollments, 0),
    complaints: num(d.complaints, 0),
    complaintsPer10k: num(d.complaintsPer10k, 2),
    unsubscribes: num(d.unsubscribes, 0),
  };
  return {
    date: d.date,
    shortDate: d.date.slice(5),
    live: d.live,
    ...row,
    /** The same, right-aligned for plain-text tables. */
    cols: { enrollments: col(row.enrollments, 13), complaints: col(row.complaints, 11), complaintsPer10k: col(row.complaintsPer10k, 10), unsubscribes: col(row.unsubscribes, 13) },
    highlight,
  };
}

type Bar = { readonly label: string; readonly value: number | null; readonly highlight?: boolean };

/** The charts fit a 600 px email card with its padding. */
const MAX_CHART_WIDTH = 560;
const TREND_SIZE = { width: 320, height: 96 } as const;
const CHART_TITLES = {
  zh: { trend: '近 7 天投诉', daily: '每日投诉' },
  en: { trend: 'Complaints, last 7 days', daily: 'Complaints per day' },
} as const;

const trendBars = (r: DailyReport): Bar[] => r.trend.map((d) => ({ label: d.date.slice(5), value: d.complaints, highlight: d.date === r.date }));
const dailyBars = (r: EvaluationRecord): Bar[] => r.daily.map((d) => ({ label: d.date.slice(5), value: d.complaints, highlight: d.date === r.peak?.date }));
const dailySize = (r: EvaluationRecord) => ({ width: Math.min(MAX_CHART_WIDTH, Math.max(320, r.daily.length * 12)), height: 96 });

/** What the chart shows, in words (alt text: mail clients that block images show this). */
function chartAlt(locale: Locale, title: string, bars: readonly Bar[]): string {
  const [sep, colon] = locale === 'zh' ? ['，', '：'] : [', ', ': '];
  const shown = bars.filter((b) => b.value !== null);
  if (shown.length > 14) {
    const peak = shown.reduce((a, b) => ((b.value ?? 0) > (a.value ?? 0) ? b : a));
    return `${title}${colon}${shown[0]!.label}–${shown[shown.length - 1]!.label}${sep}${locale === 'zh' ? '峰值' : 'peak'} ${peak.label} ${num(peak.value, 0)}`;
  }
  return `${title}${colon}${shown.map((b) => `${b.label} ${num(b.value, 0)}`).join(sep)}`;
}

/** What every campaign view opens with: the campaign, its category, owner and target. */
function campaignHeader(c: DailyReport['campaign']): Record<string, unknown> {
  return {
    campaignId: c.id,
    campaignName: c.name,
    category: c.category ?? '',
    owner: c.ownerName ? `${c.ownerName}（${c.owner}）` : (c.owner ?? ''),
    targetCustomers: c.targetCustomers ?? '—',
  };
}

/** The mustache view of a daily report. */
export function reportView(r: DailyReport, locale: Locale): Record<string, unknown> {
  const c = r.campaign;
  return {
    ...campaignHeader(c),
    start: c.start,
    end: c.end,
    date: r.date,
    phase: word(locale, `phase.${r.timeline.phase}`, r.timeline.phase),
    dayOfCampaign: r.timeline.dayOfCampaign ?? '—',
    days: r.timeline.days,
    generatedAt: time(r.generatedAt),
    enrollments: num(r.day.enrollments, 0),
    complaints: num(r.day.complaints, 0),
    complaintsPer10k: num(r.day.complaintsPer10k, 2),
    unsubscribes: num(r.day.unsubscribes, 0),
    unsubscribesPer10k: num(r.day.unsubscribesPer10k, 2),
    noData: r.day.enrollments === null && r.day.complaints === null && r.day.unsubscribes === null,
    toDate: { ...r.toDate, complaintsPer10k: num(r.toDate.complaintsPer10k, 2) },
    trend: r.trend.map((d) => dayRow(d, d.date === r.date)),
    trendSvg: barChart(trendBars(r), TREND_SIZE),
    trendAlt: chartAlt(locale, CHART_TITLES[locale].trend, trendBars(r)),
    trendChart: null,
    hasCategories: r.categories.length > 0,
    categories: r.categories.map((x) => ({ ...x, share: pct(x.share) })),
    lead: r.lead?.text ?? '',
    hasAlerts: r.alerts.length > 0,
    alerts: r.alerts.map((a) => alertView(a, locale)),
    raised: r.response.raised,
    acknowledged: r.response.acknowledged,
    unacknowledged: r.response.unacknowledged,
    ackMedian: r.response.ackMinutes ? num(r.response.ackMinutes.median) : '',
    ackMax: r.response.ackMinutes ? num(r.response.ackMinutes.max) : '',
    escalated: r.response.escalated,
    openAlerts: r.openAlerts,
  };
}

/** The mustache view of a post-evaluation record. */
export function evaluationView(r: EvaluationRecord, locale: Locale): Record<string, unknown> {
  const c = r.campaign;
  const s = r.alerts.bySeverity;
  const t = r.totals;
  return {
    ...campaignHeader(c),
    start: r.window.start,
    end: r.window.end,
    days: r.window.days,
    generatedAt: time(r.generatedAt),
    incomplete: !r.complete,
    dataFrom: r.dataFrom,
    enrollments: t.enrollments,
    complaints: t.complaints,
    unsubscribes: t.unsubscribes,
    complaintsPer10k: num(t.complaintsPer10k, 2),
    unsubscribesPer10k: num(t.unsubscribesPer10k, 2),
    enrollmentRate: pct(t.enrollmentRate),
    peak: r.peak ? { ...r.peak, complaintsPer10k: num(r.peak.complaintsPer10k, 2) } : null,
    dailySvg: barChart(dailyBars(r), dailySize(r)),
    dailyAlt: chartAlt(locale, CHART_TITLES[locale].daily, dailyBars(r)),
    dailyChart: null,
    daily: r.daily.map((d) => dayRow(d, d.date === r.peak?.date)),
    hasCategories: r.categories.length > 0,
    categories: r.categories.map((x) => ({ ...x, share: pct(x.share) })),
    lead: r.lead?.text ?? '',
    alertsTotal: r.alerts.total,
    critical: s.critical,
    warning: s.warning,
    info: s.info,
    hasRules: r.alerts.byRule.length > 0,
    byRule: r.alerts.byRule,
    hasEpisodes: r.alerts.episodes.length > 0,
    episodes: r.alerts.episodes.map((a) => alertView(a, locale)),
    raised: r.response.raised,
    acknowledged: r.response.acknowledged,
    unacknowledged: r.response.unacknowledged,
    ack: statsView(r.response.ackMinutes),
    resolve: statsView(r.response.resolveMinutes),
    escalated: r.response.escalated,
    escalationRate: pct(r.response.escalationRate),
    highlights: r.highlights,
  };
}

export interface ChartOptions extends RasterizeOptions {
  /** SVG → PNG (default: resvg, chart-image.ts); tests put a failing one in. */
  readonly rasterize?: typeof svgToPng;
}

async function renderMail(dir: string, locale: Locale, files: readonly [string, string, string], view: Record<string, unknown>, charts: readonly ChartSpec[], opts: ChartOptions): Promise<RenderedMail> {
  const [subject, text, html] = await Promise.all(files.map((f) => template(dir, locale, f)));
  const attachments: MailAttachment[] = [];
  const errors: string[] = [];
  const withCharts = { ...view };
  for (const c of charts) {
    const { chart, error } = await (opts.rasterize ?? svgToPng)(c.svg, opts);
    if (!chart) {
      errors.push(`${c.filename}: ${error ?? 'no image'}`);
      continue;
    }
    attachments.push({ filename: c.filename, contentType: 'image/png', cid: c.cid, content: Buffer.from(chart.png).toString('base64') });
    withCharts[c.field] = { src: `cid:${c.cid}`, width: c.width, height: c.height, alt: c.alt };
  }
  return {
    subject: oneLine(Mustache.render(subject!, withCharts, {}, TEXT)),
    text: Mustache.render(text!, withCharts, {}, TEXT),
    html: Mustache.render(html!, withCharts),
    attachments,
    ...(errors.length && { chartError: errors.join('; ') }),
  };
}

export function renderDailyReport(r: DailyReport, locale: Locale, templatesDir: string, opts: ChartOptions = {}): Promise<RenderedMail> {
  const view = reportView(r, locale);
  const chart: ChartSpec = { field: 'trendChart', svg: String(view.trendSvg), ...TREND_SIZE, alt: String(view.trendAlt), cid: 'trend@lookout', filename: 'trend.png' };
  return renderMail(templatesDir, locale, REPORT_TEMPLATES, view, [chart], opts);
}

export function renderEvaluation(r: EvaluationRecord, locale: Locale, templatesDir: string, opts: ChartOptions = {}): Promise<RenderedMail> {
  const view = evaluationView(r, locale);
  const chart: ChartSpec = { field: 'dailyChart', svg: String(view.dailySvg), ...dailySize(r), alt: String(view.dailyAlt), cid: 'daily@lookout', filename: 'daily.png' };
  return renderMail(templatesDir, locale, EVALUATION_TEMPLATES, view, [chart], opts);
}

/** The mail's HTML for a browser (the API's format=html): its cid: images as data: URLs. */
export function webHtml(mail: Pick<RenderedMail, 'html' | 'attachments'>): string {
  let html = mail.html;
  for (const a of mail.attachments) if (a.cid) html = html.replaceAll(`cid:${a.cid}`, `data:${a.contentType};base64,${a.content}`);
  return html;
}

/** The evaluation as Markdown (the text part of its email; `lookout report campaign ID`). */
export async function evaluationMarkdown(r: EvaluationRecord, locale: Locale, templatesDir: string): Promise<string> {
  return Mustache.render(await template(templatesDir, locale, EVALUATION_TEMPLATES[1]), evaluationView(r, locale), {}, TEXT);
}
