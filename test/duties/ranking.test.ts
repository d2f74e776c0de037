// The halls' monthly ranking, pure part (docs/duties.md): grades, ranks and ties, top/bottom 3.
import { describe, expect, it } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import { monthDays, previousMonth, rankHalls, rankingView, type MonthTotals } from '../../src/duties/ranking.js';
import { Calendar } from '../../src/domain/clock.js';

const hall = (id: string, tier?: string): Entity => ({ id, kind: 'own_hall', name: `营业厅${id}`, region: 'R1', district: 'M1', manager: 'HM', ...(tier && { tier }), attrs: {} });
const t = (avg: number, count = 30, days = 30): MonthTotals => ({ sum: avg * count, count, days });

describe('rankHalls', () => {
  it('ranks each grade by average, A B C first, ungraded last; top 3 best first, bottom 3 worst first', () => {
    const halls = [hall('H1', 'B'), hall('H2', 'A'), hall('H3', 'A'), hall('H4', 'A'), hall('H5', 'A'), hall('H6', 'A'), hall('H7', 'A'), hall('H8', 'A'), hall('H9')];
    const totals = new Map([
      ['H1', t(90)],
      ['H2', t(95)],
      ['H3', t(80)],
      ['H4', t(99)],
      ['H5', t(85.333)],
      ['H6', t(70)],
      ['H7', t(88)],
      ['H9', t(60)],
    ]);
    const grades = rankHalls(halls, totals);
    expect(grades.map((g) => g.grade)).toEqual(['A', 'B', null]);
    const a = grades[0]!;
    expect(a.halls).toBe(7);
    expect(a.ranked.map((h) => [h.id, h.rank, h.average])).toEqual([
      ['H4', 1, 99],
      ['H2', 2, 95],
      ['H7', 3, 88],
      ['H5', 4, 85.33],
      ['H3', 5, 80],
      ['H6', 6, 70],
    ]);
    expect(a.top.map((h) => h.id)).toEqual(['H4', 'H2', 'H7']);
    expect(a.bottom.map((h) => h.id)).toEqual(['H6', 'H3', 'H5']);
    expect(a.unrated).toEqual([{ id: 'H8', name: '营业厅H8' }]);
    expect(grades[1]).toMatchObject({ grade: 'B', halls: 1, top: [{ id: 'H1', rank: 1 }], bottom: [] });
    expect(grades[2]!.ranked[0]).toMatchObject({ id: 'H9', average: 60, ratings: 30, days: 30, region: 'R1', district: 'M1', manager: 'HM' });
  });

  it('equal averages share a rank (more scores first); top and bottom never overlap', () => {
    const halls = ['H1', 'H2', 'H3', 'H4'].map((id) => hall(id, 'C'));
    const totals = new Map([
      ['H1', t(90, 10, 5)],
      ['H2', t(90, 40, 20)],
      ['H3', t(80)],
      ['H4', t(75)],
    ]);
    const [c] = rankHalls(halls, totals);
    expect(c!.ranked.map((h) => [h.id, h.rank])).toEqual([
      ['H2', 1],
      ['H1', 1],
      ['H3', 3],
      ['H4', 4],
    ]);
    expect(c!.top.map((h) => h.id)).toEqual(['H2', 'H1', 'H3']);
    expect(c!.bottom.map((h) => h.id)).toEqual(['H4']);
  });

  it('the average is weighted by scores (Σ scores / number of scores), not by days', () => {
    // Day 1: 10 scores averaging 100; day 2: 1 score of 0 → 1000 / 11 = 90.91 (not 50).
    const [g] = rankHalls([hall('H1', 'A')], new Map([['H1', { sum: 1000, count: 11, days: 2 }]]));
    expect(g!.ranked[0]).toMatchObject({ average: 90.91, ratings: 11, days: 2 });
  });

  it('no halls: no grades', () => {
    expect(rankHalls([], new Map())).toEqual([]);
  });
});

describe('months', () => {
  it('monthDays spans the calendar month; malformed months are refused', () => {
    const nov = monthDays('2026-11')!;
    expect([Calendar.isoDay(nov.first), Calendar.isoDay(nov.last)]).toEqual(['2026-11-01', '2026-11-30']);
    const feb = monthDays('2028-02')!;
    expect(Calendar.isoDay(feb.last)).toBe('2028-02-29');
    for (const bad of ['2026-13', '2026-1', '202611', 'nov']) expect(monthDays(bad)).toBeUndefined();
  });

  it('previousMonth is the month before the day’s month (January → December)', () => {
    expect(previousMonth(Calendar.parseIsoDay('2026-12-01')!)).toBe('2026-11');
    expect(previousMonth(Calendar.parseIsoDay('2027-01-15')!)).toBe('2026-12');
  });

  it('the view has titles per locale', () => {
    const ranking = { month: '2026-11', metric: 'satisfaction', from: '2026-11-01', to: '2026-11-30', complete: true, halls: 1, rated: 0, grades: rankHalls([hall('H1')], new Map()), generatedAt: 'x' };
    expect(rankingView(ranking, 'zh', 'u')).toMatchObject({ monthTitle: '2026年11月', partial: false, grades: [{ gradeTitle: '未分级', unratedCount: 1 }] });
    expect(rankingView(ranking, 'en', 'u').grades[0]!.gradeTitle).toBe('Ungraded');
  });
});
