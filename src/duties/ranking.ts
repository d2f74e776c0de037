// Own halls' monthly SMS-satisfaction ranking (每月对营业厅进行综合排名, docs/duties.md; halls graded
// A/B/C): per grade (entity tier), every hall with scores that month ranked by its average
// score, the top 3 and the bottom 3. Pure ranking; the month's totals come from state/daily-reads.ts.

import { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import type { DailyReads, RangeTotals } from '../state/daily-reads.js';

export const RANKING_METRIC = 'satisfaction';
export const RANKING_KIND = 'own_hall';
/** How many halls the top and bottom lists hold. */
export const PODIUM = 3;

export interface HallScore {
  readonly id: string;
  readonly name: string;
  readonly region?: string;
  readonly district?: string;
  readonly manager?: string;
  /** 1-based; halls with the same average (to 2 decimals) share a rank. */
  readonly rank: number;
  /** Σ scores / number of scores in the month, 2 decimals. */
  readonly average: number;
  /** Scores (samples) counted. */
  readonly ratings: number;
  /** Days of the month with scores. */
  readonly days: number;
}

export interface GradeRanking {
  /** The halls' tier (A, B, C …); null for halls without one. */
  readonly grade: string | null;
  /** Halls of this grade in the registry. */
  readonly halls: number;
  /** Halls with scores that month, best first. */
  readonly ranked: readonly HallScore[];
  readonly top: readonly HallScore[];
  /** The lowest ranked, worst first; never a hall that is already in `top`. */
  readonly bottom: readonly HallScore[];
  /** Halls of this grade without a single score that month. */
  readonly unrated: readonly { readonly id: string; readonly name: string }[];
}

export interface HallRanking {
  /** `2026-11` */
  readonly month: string;
  readonly metric: string;
  /** Local days covered: the month, cut to the days kept (LOOKOUT_RETENTION_DAYS) and to today. */
  readonly from: string;
  readonly to: string;
  /** False while the month is running, or when some of its days are no longer kept. */
  readonly complete: boolean;
  readonly halls: number;
  readonly rated: number;
  readonly grades: readonly GradeRanking[];
  readonly generatedAt: string;
}

/** One hall's month: Σ scores (not thousandths), number of scores, days with scores. */
export type MonthTotals = RangeTotals;

/** `2026-11` → its first and last local day index; undefined when malformed. */
export function monthDays(month: string): { first: number; last: number } | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return undefined;
  const first = Date.UTC(y, mo - 1, 1) / 86_400_000;
  const last = Date.UTC(y, mo, 1) / 86_400_000 - 1;
  return { first, last };
}

/** The calendar month a local day falls in, `2026-11`. */
export function monthOf(day: number): string {
  return Calendar.isoDay(day).slice(0, 7);
}

/** The month before the one `day` falls in (what the report on the 1st covers). */
export function previousMonth(day: number): string {
  const first = monthDays(monthOf(day))!.first;
  return monthOf(first - 1);
}

const round2 = (n: number) => Math.round(n * 100) / 100;

function gradeOrder(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a.localeCompare(b);
}

/** Rank halls per grade from their month's totals. */
export function rankHalls(halls: readonly Entity[], totals: ReadonlyMap<string, MonthTotals>): GradeRanking[] {
  const byGrade = new Map<string | null, Entity[]>();
  for (const h of halls) {
    const g = h.tier ?? null;
    const list = byGrade.get(g);
    if (list) list.push(h);
    else byGrade.set(g, [h]);
  }
  const out: GradeRanking[] = [];
  for (const grade of [...byGrade.keys()].sort(gradeOrder)) {
    const members = byGrade.get(grade)!;
    const scored: Omit<HallScore, 'rank'>[] = [];
    const unrated: { id: string; name: string }[] = [];
    for (const h of members) {
      const t = totals.get(h.id);
      if (!t || t.count <= 0) {
        unrated.push({ id: h.id, name: h.name });
        continue;
      }
      scored.push({
        id: h.id,
        name: h.name,
        ...(h.region !== undefined && { region: h.region }),
        ...(h.district !== undefined && { district: h.district }),
        ...(h.manager !== undefined && { manager: h.manager }),
        average: round2(t.sum / t.count),
        ratings: t.count,
        days: t.days,
      });
    }
    // Best average first; on a tie, the hall with more scores, then by id (stable reports).
    scored.sort((a, b) => b.average - a.average || b.ratings - a.ratings || a.id.localeCompare(b.id));
    const ranked: HallScore[] = [];
    scored.forEach((s, i) => {
      const prev = ranked[i - 1];
      ranked.push({ ...s, rank: prev && prev.average === s.average ? prev.rank : i + 1 });
    });
    const top = ranked.slice(0, PODIUM);
    const bottom = ranked.slice(Math.max(top.length, ranked.length - PODIUM)).reverse();
    unrated.sort((a, b) => a.id.localeCompare(b.id));
    out.push({ grade, halls: members.length, ranked, top, bottom, unrated });
  }
  return out;
}

export interface RankingSource {
  readonly days: Pick<DailyReads, 'totals'>;
  readonly calendar: Calendar;
  readonly retentionDays: number;
  /** Own halls in the registry. */
  readonly halls: () => Promise<Entity[]>;
}

export type RankingResult = { readonly ok: true; readonly ranking: HallRanking } | { readonly ok: false; readonly message: string };

/** The ranking of `month` (a calendar month in LOOKOUT_TZ) as of `now`. */
export async function hallRanking(src: RankingSource, month: string, now: number): Promise<RankingResult> {
  const span = monthDays(month);
  if (!span) return { ok: false, message: `month: expected YYYY-MM, got ${JSON.stringify(month)}` };
  const today = src.calendar.dayOf(now);
  if (span.first > today) return { ok: false, message: `month ${month} has not started yet (today is ${Calendar.isoDay(today)} in ${src.calendar.timeZone})` };
  // Daily buckets older than the retention are trimmed; today's partial day counts.
  const kept = today - src.retentionDays;
  const from = Math.max(span.first, kept);
  const to = Math.min(span.last, today);
  const halls = (await src.halls()).filter((e) => e.kind === RANKING_KIND);
  const totals = await src.days.totals(halls.map((h) => h.id), RANKING_METRIC, from, to);
  const grades = rankHalls(halls, totals);
  return {
    ok: true,
    ranking: {
      month,
      metric: RANKING_METRIC,
      from: Calendar.isoDay(from),
      to: Calendar.isoDay(Math.max(from, to)),
      complete: span.last < today && span.first >= kept,
      halls: halls.length,
      rated: grades.reduce((n, g) => n + g.ranked.length, 0),
      grades,
      generatedAt: src.calendar.formatLocal(now),
    },
  };
}

// ---- the view the email / HTML templates get -------------------------------------------------

const GRADE_TITLES = { zh: (g: string | null) => (g === null ? '未分级' : `${g} 级`), en: (g: string | null) => (g === null ? 'Ungraded' : `Grade ${g}`) };

function monthTitle(month: string, locale: 'zh' | 'en'): string {
  const [y, m] = month.split('-');
  return locale === 'zh' ? `${y}年${Number(m)}月` : month;
}

function scoreView(s: HallScore) {
  return { ...s, place: [s.region, s.district].filter(Boolean).join('/'), averageText: s.average.toFixed(2) };
}

/** Fields of halls-ranking.*.mustache (docs/duties.md). */
export function rankingView(r: HallRanking, locale: 'zh' | 'en', reportUrl: string) {
  return {
    month: r.month,
    monthTitle: monthTitle(r.month, locale),
    from: r.from,
    to: r.to,
    complete: r.complete,
    partial: !r.complete,
    halls: r.halls,
    rated: r.rated,
    generatedAt: r.generatedAt,
    reportUrl,
    grades: r.grades.map((g) => ({
      grade: g.grade ?? '',
      gradeTitle: GRADE_TITLES[locale](g.grade),
      halls: g.halls,
      rated: g.ranked.length,
      top: g.top.map(scoreView),
      bottom: g.bottom.map(scoreView),
      hasBottom: g.bottom.length > 0,
      ranked: g.ranked.map(scoreView),
      unrated: g.unrated,
      unratedCount: g.unrated.length,
    })),
    hasGrades: r.grades.length > 0,
  };
}
