// threshold: a metric aggregated over a window of days vs fixed levels.

import type { Aggregator, ThresholdRule } from '../../domain/rule.js';
import type { DayJudge, Judgement, KindInput } from '../judge.js';
import { dailyAnchors, judgeAnchors, metricSeries } from '../judge.js';
import { levelFor, mildestLevel } from '../levels.js';
import { fmtNum, metricTitle } from '../summary.js';
import type { DailySeries } from '../../domain/series.js';

/** Values of the `window` days ending at `day` (inclusive) that have data. */
export function windowValues(s: DailySeries, day: number, window: number): number[] {
  const out: number[] = [];
  for (let d = day - window + 1; d <= day; d++) {
    const v = s.get(d);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Aggregate a window; `count` is the number of days with data. */
export function aggregate(agg: Aggregator, values: readonly number[]): number {
  switch (agg) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
    case 'count':
      return values.length;
  }
}

const AGG_WORDS: Readonly<Record<Aggregator, string>> = {
  sum: '合计',
  avg: '日均',
  max: '最高',
  min: '最低',
  count: '有数据天数',
};

/** 近7天合计, 今日累计, 含今日近7天合计, or nothing for a single complete day. */
export function aggPrefix(agg: Aggregator, window: number, partial: boolean): string {
  if (window === 1 && agg !== 'count') return partial ? '今日累计 ' : '';
  return `${partial ? '含今日' : ''}近${window}天${AGG_WORDS[agg]} `;
}

export function evaluateThreshold({ rule, entity, series, ctx, open }: KindInput<ThresholdRule>): Judgement {
  const s = metricSeries(series, rule.metric);
  const dir = rule.direction === 'above' ? 'ge' : 'le';
  const title = metricTitle(rule.metric);
  const judge: DayJudge = (day, partial) => {
    const values = windowValues(s, day, rule.window);
    if (values.length === 0) return 'no_data';
    const value = aggregate(rule.agg, values);
    const level = levelFor(rule.levels, value, dir, rule.hysteresis, open);
    const head = `${title} ${aggPrefix(rule.agg, rule.window, partial)}${fmtNum(value)}`;
    const word = rule.direction === 'above' ? '达到' : '低于';
    const summary = level
      ? `${head}，${word}阈值 ${fmtNum(level.at)}`
      : `${head}，正常（阈值 ${fmtNum(mildestLevel(rule.levels).at)}）`;
    return { severity: level?.severity ?? null, notify: true, value, summary };
  };
  return judgeAnchors(rule, entity, dailyAnchors(s, ctx, rule.direction === 'above'), judge, ctx.today);
}
