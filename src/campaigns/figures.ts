// The figures of a campaign's daily implementation monitoring report (实施监测报告) and of its
// post-evaluation record (后评估 / 经验库), computed from daily values and alert episodes.
// Pure: the caller reads Redis (series.ts, ledger.ts) and passes what it read.

import { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import type { Severity } from '../domain/rule.js';
import { breakdown, categoryMetric, categoryTitle, COMPLAINT_CATEGORIES, departmentName, leadOf, leadText, type ComplaintCategory, type ComplaintRouting, type Locale } from '../domain/complaints.js';
import type { AlertEpisode } from './ledger.js';
import { campaignWindow, targetCustomers, timeline, type CampaignTimeline } from './lifecycle.js';

/** Who the campaign is and its window. */
export interface CampaignInfo {
  readonly id: string;
  readonly name: string;
  readonly category?: string;
  readonly owner?: string;
  readonly ownerName?: string;
  readonly targetCustomers?: number;
  readonly start: string;
  readonly end: string;
}

/** One day of a campaign: null where no data arrived. */
export interface DayFigures {
  readonly date: string;
  /** Inside the live window. */
  readonly live: boolean;
  readonly enrollments: number | null;
  readonly complaints: number | null;
  readonly unsubscribes: number | null;
  /** Complaints per 10,000 target customers (每万目标客户投诉量). */
  readonly complaintsPer10k: number | null;
  readonly unsubscribesPer10k: number | null;
}

export interface CategoryRow {
  readonly category: ComplaintCategory;
  readonly title: string;
  readonly count: number;
  /** 0–1 */
  readonly share: number;
  /** dept_lead scope and its name (complaint routing). */
  readonly department: string;
  readonly departmentName: string;
}

export interface LeadInfo {
  readonly category: ComplaintCategory;
  readonly department: string;
  readonly departmentName: string;
  readonly share: number;
  /** 业务支撑中心（计费类投诉 62%） */
  readonly text: string;
}

export interface AlertRow {
  readonly id: string;
  readonly episode: number;
  readonly rule: string;
  readonly ruleName: string;
  readonly severity: Severity;
  readonly state: string;
  readonly period: string;
  readonly summary: string;
  /** Local times, ISO with offset. */
  readonly firedAt: string;
  readonly ackAt?: string;
  readonly ackBy?: string;
  readonly ackVia?: string;
  /** Minutes from firing to acknowledgement. */
  readonly ackMinutes?: number;
  readonly resolvedAt?: string;
  readonly resolveMinutes?: number;
  /** Highest escalation step that ran (≥ 2: escalated). */
  readonly level: number;
}

/** Process indicators (过程性指标) of a set of alert episodes. */
export interface ResponseFigures {
  /** Episodes that paged somebody (weak-evidence records excluded). */
  readonly raised: number;
  readonly acknowledged: number;
  readonly unacknowledged: number;
  readonly ackMinutes: MinuteStats | null;
  readonly resolveMinutes: MinuteStats | null;
  /** Episodes whose chain climbed past its first step. */
  readonly escalated: number;
  /** escalated / raised (0–1), null when nothing was raised. */
  readonly escalationRate: number | null;
}

export interface MinuteStats {
  readonly median: number;
  readonly p90: number;
  readonly max: number;
}

export interface DailyReport {
  readonly v: 1;
  readonly kind: 'daily';
  readonly campaign: CampaignInfo;
  /** The local day reported on (yesterday, for the 09:00 report). */
  readonly date: string;
  readonly generatedAt: string;
  readonly timeline: CampaignTimeline;
  readonly day: DayFigures;
  /** Totals from the first live day up to `date`. */
  readonly toDate: { readonly days: number; readonly enrollments: number; readonly complaints: number; readonly unsubscribes: number; readonly complaintsPer10k: number | null };
  /** The 7 days ending on `date`, oldest first. */
  readonly trend: readonly DayFigures[];
  /** The day's complaints by category, most first. */
  readonly categories: readonly CategoryRow[];
  readonly lead: LeadInfo | null;
  /** Alerts raised about the day (fired on it, or judging it), oldest first. */
  readonly alerts: readonly AlertRow[];
  readonly response: ResponseFigures;
  /** Alerts of the campaign open when the report was made. */
  readonly openAlerts: number;
}

export interface EvaluationRecord {
  readonly v: 1;
  readonly kind: 'evaluation';
  readonly campaign: CampaignInfo;
  readonly generatedAt: string;
  readonly window: { readonly start: string; readonly end: string; readonly days: number };
  /** The first day whose figures were still stored (the daily retention); `complete` when it is the start. */
  readonly dataFrom: string;
  readonly complete: boolean;
  readonly totals: {
    readonly enrollments: number;
    readonly complaints: number;
    readonly unsubscribes: number;
    readonly complaintsPer10k: number | null;
    readonly unsubscribesPer10k: number | null;
    /** enrollments / target customers (0–1). */
    readonly enrollmentRate: number | null;
  };
  readonly peak: { readonly date: string; readonly complaints: number; readonly complaintsPer10k: number | null } | null;
  readonly daily: readonly DayFigures[];
  readonly categories: readonly CategoryRow[];
  readonly lead: LeadInfo | null;
  readonly alerts: {
    readonly total: number;
    readonly bySeverity: Readonly<Record<Severity, number>>;
    readonly byRule: readonly { readonly rule: string; readonly ruleName: string; readonly count: number }[];
    readonly episodes: readonly AlertRow[];
  };
  readonly response: ResponseFigures;
  /** A few sentences for the experience database (经验库), in the deployment's language. */
  readonly highlights: readonly string[];
}

export interface FigureContext {
  readonly calendar: Calendar;
  readonly locale: Locale;
  readonly routing: ComplaintRouting;
  readonly ruleName: (rule: string) => string;
  readonly ownerName?: (id: string) => string | undefined;
  /** Generation time (epoch ms). */
  readonly now: number;
}

/** metric → day → value of one campaign (state/daily-reads.ts readDays). */
export type CampaignValues = ReadonlyMap<string, ReadonlyMap<number, number>>;

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function per10k(n: number | null, target: number | undefined): number | null {
  return n === null || target === undefined ? null : round((n * 10_000) / target);
}

export function campaignInfo(e: Entity, ctx: Pick<FigureContext, 'ownerName'>): CampaignInfo {
  const w = campaignWindow(e);
  const owner = typeof e.attrs.owner === 'string' ? e.attrs.owner : undefined;
  const ownerName = owner ? ctx.ownerName?.(owner) : undefined;
  const target = targetCustomers(e);
  return {
    id: e.id,
    name: e.name,
    ...(e.attrs.category !== undefined && { category: String(e.attrs.category) }),
    ...(owner && { owner }),
    ...(ownerName && { ownerName }),
    ...(target !== undefined && { targetCustomers: target }),
    start: w ? Calendar.isoDay(w.start) : String(e.attrs.start ?? ''),
    end: w ? Calendar.isoDay(w.end) : String(e.attrs.end ?? ''),
  };
}

/** One day's figures. */
export function dayFigures(e: Entity, values: CampaignValues, day: number): DayFigures {
  const w = campaignWindow(e);
  const target = targetCustomers(e);
  // A campaign that reported that day reported every figure: a metric without samples was 0
  // (exports often leave out zero rows). A day without any sample stays "no data" (null).
  const reported = ['enrollments', 'complaints', 'unsubscribes'].some((m) => values.get(m)?.has(day));
  const v = (m: string) => values.get(m)?.get(day) ?? (reported ? 0 : null);
  const complaints = v('complaints');
  const unsubscribes = v('unsubscribes');
  return {
    date: Calendar.isoDay(day),
    live: w !== undefined && day >= w.start && day <= w.end,
    enrollments: v('enrollments'),
    complaints,
    unsubscribes,
    complaintsPer10k: per10k(complaints, target),
    unsubscribesPer10k: per10k(unsubscribes, target),
  };
}

/** Complaints per category summed over [from, to]. */
export function categoryTotals(values: CampaignValues, from: number, to: number): Map<ComplaintCategory, number> {
  const out = new Map<ComplaintCategory, number>();
  for (const c of COMPLAINT_CATEGORIES) {
    let n = 0;
    for (const [d, x] of values.get(categoryMetric(c)) ?? []) if (d >= from && d <= to) n += x;
    if (n > 0) out.set(c, n);
  }
  return out;
}

function categoryRows(counts: ReadonlyMap<ComplaintCategory, number>, ctx: FigureContext): CategoryRow[] {
  return breakdown(counts, ctx.routing).map((c) => ({
    category: c.category,
    title: categoryTitle(c.category, ctx.locale),
    count: c.count,
    share: round(c.share, 4),
    department: c.department,
    departmentName: departmentName(c.department, ctx.locale),
  }));
}

function leadInfo(counts: ReadonlyMap<ComplaintCategory, number>, ctx: FigureContext): LeadInfo | null {
  const lead = leadOf(counts, ctx.routing);
  if (lead.share === undefined) return null;
  const t = leadText(lead, ctx.locale);
  return { category: lead.category, department: lead.department, departmentName: t.dept, share: round(lead.share, 4), text: t.text };
}

function minutes(ms: number): number {
  return round(ms / 60_000, 1);
}

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function stats(xs: readonly number[]): MinuteStats | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: round(median, 1), p90: quantile(s, 0.9), max: s[s.length - 1]! };
}

export function alertRow(ep: AlertEpisode, ctx: FigureContext): AlertRow {
  const local = (ms: number) => ctx.calendar.formatLocal(ms);
  return {
    id: ep.alert,
    episode: ep.episode,
    rule: ep.rule,
    ruleName: ctx.ruleName(ep.rule),
    severity: ep.severity,
    state: ep.state,
    period: ep.period,
    summary: ep.summary,
    firedAt: local(ep.firingAt),
    ...(ep.ack && { ackAt: local(ep.ack.at), ackBy: ep.ack.by, ackVia: ep.ack.via, ackMinutes: minutes(ep.ack.at - ep.firingAt) }),
    ...(ep.resolvedAt !== undefined && { resolvedAt: local(ep.resolvedAt), resolveMinutes: minutes(ep.resolvedAt - ep.firingAt) }),
    level: ep.level,
  };
}

export function responseOf(episodes: readonly AlertEpisode[]): ResponseFigures {
  const paged = episodes.filter((e) => e.notify);
  const acked = paged.filter((e) => e.ack);
  const resolved = paged.filter((e) => e.resolvedAt !== undefined);
  const escalated = paged.filter((e) => e.level >= 2).length;
  return {
    raised: paged.length,
    acknowledged: acked.length,
    unacknowledged: paged.length - acked.length,
    ackMinutes: stats(acked.map((e) => minutes(e.ack!.at - e.firingAt))),
    resolveMinutes: stats(resolved.map((e) => minutes(e.resolvedAt! - e.firingAt))),
    escalated,
    escalationRate: paged.length ? round(escalated / paged.length, 4) : null,
  };
}

/** The daily implementation monitoring report of campaign `e` for local day `day`. */
export function dailyReport(e: Entity, day: number, values: CampaignValues, episodes: readonly AlertEpisode[], ctx: FigureContext): DailyReport {
  const w = campaignWindow(e);
  const target = targetCustomers(e);
  const date = Calendar.isoDay(day);
  const start = w ? w.start : day;
  const sum = (m: string) => {
    let n = 0;
    for (const [d, x] of values.get(m) ?? []) if (d >= start && d <= day) n += x;
    return n;
  };
  const cats = categoryTotals(values, day, day);
  const dayStart = ctx.calendar.startOfDay(day);
  const dayEnd = ctx.calendar.startOfDay(day + 1);
  const about = episodes.filter((ep) => ep.period.slice(0, 10) === date || (ep.firingAt >= dayStart && ep.firingAt < dayEnd));
  const complaints = sum('complaints');
  return {
    v: 1,
    kind: 'daily',
    campaign: campaignInfo(e, ctx),
    date,
    generatedAt: ctx.calendar.formatLocal(ctx.now),
    timeline: timeline(e, day) ?? { phase: 'live', start: date, end: date, days: 1 },
    day: dayFigures(e, values, day),
    toDate: {
      days: Math.max(0, day - start + 1),
      enrollments: sum('enrollments'),
      complaints,
      unsubscribes: sum('unsubscribes'),
      complaintsPer10k: per10k(complaints, target),
    },
    trend: Array.from({ length: 7 }, (_, i) => dayFigures(e, values, day - 6 + i)),
    categories: categoryRows(cats, ctx),
    lead: leadInfo(cats, ctx),
    alerts: about.map((ep) => alertRow(ep, ctx)),
    response: responseOf(about),
    openAlerts: episodes.filter((ep) => ep.state === 'firing' || ep.state === 'acknowledged').length,
  };
}

function fmt(n: number | null, digits = 1): string {
  if (n === null) return '—';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** The post-evaluation record of campaign `e` (values cover [fromDay, window end]). */
export function evaluationRecord(e: Entity, fromDay: number, values: CampaignValues, episodes: readonly AlertEpisode[], ctx: FigureContext): EvaluationRecord {
  const w = campaignWindow(e) ?? { start: fromDay, end: fromDay };
  const target = targetCustomers(e);
  const from = Math.max(w.start, fromDay);
  const daily: DayFigures[] = [];
  for (let d = from; d <= w.end; d++) daily.push(dayFigures(e, values, d));
  const total = (k: 'enrollments' | 'complaints' | 'unsubscribes') => daily.reduce((a, d) => a + (d[k] ?? 0), 0);
  const totals = {
    enrollments: total('enrollments'),
    complaints: total('complaints'),
    unsubscribes: total('unsubscribes'),
    complaintsPer10k: per10k(total('complaints'), target),
    unsubscribesPer10k: per10k(total('unsubscribes'), target),
    enrollmentRate: target === undefined ? null : round(total('enrollments') / target, 4),
  };
  let peak: EvaluationRecord['peak'] = null;
  for (const d of daily) if (d.complaints !== null && d.complaints > 0 && (!peak || d.complaints > peak.complaints)) peak = { date: d.date, complaints: d.complaints, complaintsPer10k: d.complaintsPer10k };
  const cats = categoryTotals(values, from, w.end);
  const bySeverity: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  const byRule = new Map<string, number>();
  for (const ep of episodes) {
    bySeverity[ep.severity]++;
    byRule.set(ep.rule, (byRule.get(ep.rule) ?? 0) + 1);
  }
  const response = responseOf(episodes);
  const categories = categoryRows(cats, ctx);
  const lead = leadInfo(cats, ctx);
  const rec: Omit<EvaluationRecord, 'highlights'> = {
    v: 1,
    kind: 'evaluation',
    campaign: campaignInfo(e, ctx),
    generatedAt: ctx.calendar.formatLocal(ctx.now),
    window: { start: Calendar.isoDay(w.start), end: Calendar.isoDay(w.end), days: w.end - w.start + 1 },
    dataFrom: Calendar.isoDay(from),
    complete: from <= w.start,
    totals,
    peak,
    daily,
    categories,
    lead,
    alerts: {
      total: episodes.length,
      bySeverity,
      byRule: [...byRule].map(([rule, count]) => ({ rule, ruleName: ctx.ruleName(rule), count })).sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule)),
      episodes: episodes.map((ep) => alertRow(ep, ctx)),
    },
    response,
  };
  return { ...rec, highlights: highlights(rec, ctx.locale) };
}

function highlights(r: Omit<EvaluationRecord, 'highlights'>, locale: Locale): string[] {
  const t = r.totals;
  const out: string[] = [];
  const zh = locale === 'zh';
  out.push(
    zh
      ? `活动 ${r.window.days} 天，办理 ${t.enrollments}，投诉 ${t.complaints}（每万目标客户 ${fmt(t.complaintsPer10k)}），退订 ${t.unsubscribes}。`
      : `${r.window.days} days live: ${t.enrollments} enrollments, ${t.complaints} complaints (${fmt(t.complaintsPer10k)} per 10k target customers), ${t.unsubscribes} unsubscribes.`,
  );
  if (r.peak) {
    out.push(zh ? `投诉高峰 ${r.peak.date}：${r.peak.complaints} 件（每万目标客户 ${fmt(r.peak.complaintsPer10k)}）。` : `Complaint peak on ${r.peak.date}: ${r.peak.complaints} (${fmt(r.peak.complaintsPer10k)} per 10k).`);
  }
  if (r.lead) {
    const top = r.categories[0]!;
    out.push(zh ? `投诉以${top.title}为主（${pct(top.share)}），主责 ${r.lead.departmentName}。` : `Complaints were mostly ${top.title} (${pct(top.share)}); lead: ${r.lead.departmentName}.`);
  }
  const s = r.alerts.bySeverity;
  const resp = r.response;
  if (r.alerts.total === 0) {
    out.push(zh ? '活动期间未触发预警。' : 'No alerts were raised while live.');
  } else {
    out.push(
      zh
        ? `预警 ${r.alerts.total} 次（严重 ${s.critical}、警告 ${s.warning}、提示 ${s.info}），确认 ${resp.acknowledged}/${resp.raised}${resp.ackMinutes ? `，确认用时中位 ${fmt(resp.ackMinutes.median)} 分钟` : ''}，升级 ${resp.escalated} 次。`
        : `${r.alerts.total} alerts (critical ${s.critical}, warning ${s.warning}, info ${s.info}); ${resp.acknowledged}/${resp.raised} acknowledged${resp.ackMinutes ? `, median ${fmt(resp.ackMinutes.median)} min to acknowledge` : ''}; ${resp.escalated} escalated.`,
    );
  }
  if (!r.complete) out.push(zh ? `注意：${r.dataFrom} 之前的日数据已超出保留期，未计入。` : `Note: daily figures before ${r.dataFrom} were past the retention and are not counted.`);
  return out;
}
