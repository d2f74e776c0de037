// ratio: a metric per `scale` units of an entity attribute (complaints per 10k target customers).

import type { RatioRule } from '../../domain/rule.js';
import type { DayJudge, Judgement, KindInput } from '../judge.js';
import { dailyAnchors, judgeAnchors, metricSeries } from '../judge.js';
import { levelFor, mildestLevel } from '../levels.js';
import { attrTitle, fmtNum, metricTitle, perScale } from '../summary.js';
import { aggPrefix, windowValues } from './threshold.js';

function denominator(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function evaluateRatio({ rule, entity, series, ctx, open }: KindInput<RatioRule>): Judgement {
  const s = metricSeries(series, rule.metric);
  const per = denominator(entity.attrs[rule.per]);
  const dir = rule.direction === 'above' ? 'ge' : 'le';
  const title = metricTitle(rule.metric);
  const judge: DayJudge = (day, partial) => {
    const values = windowValues(s, day, rule.window);
    if (values.length === 0 || per === undefined) return 'no_data';
    const count = values.reduce((a, b) => a + b, 0);
    const value = (count * rule.scale) / per; // multiply first: 30 per 100k is exactly 3
    const level = levelFor(rule.levels, value, dir, rule.hysteresis, open);
    const head = `${title} ${aggPrefix('sum', rule.window, partial)}${fmtNum(count)}，${perScale(rule.scale)}${attrTitle(rule.per)} ${fmtNum(value)}`;
    const summary = level ? `${head}（阈值 ${fmtNum(level.at)}）` : `${head}，正常（阈值 ${fmtNum(mildestLevel(rule.levels).at)}）`;
    return { severity: level?.severity ?? null, notify: true, value: count, measure: value, summary };
  };
  return judgeAnchors(rule, entity, dailyAnchors(s, ctx, rule.direction === 'above'), judge, ctx.today);
}
