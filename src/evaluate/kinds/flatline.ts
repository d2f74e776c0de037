// flatline: the same value reported for `days` consecutive days (a stuck export).

import type { FlatlineRule } from '../../domain/rule.js';
import type { DayJudge, Judgement, KindInput } from '../judge.js';
import { dailyAnchors, judgeAnchors, metricSeries } from '../judge.js';
import { fmtNum, metricTitle } from '../summary.js';

function same(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
}

export function evaluateFlatline({ rule, entity, series, ctx }: KindInput<FlatlineRule>): Judgement {
  const s = metricSeries(series, rule.metric);
  const title = metricTitle(rule.metric);
  const judge: DayJudge = (day) => {
    const v = s.get(day);
    if (v === undefined) return 'no_data';
    let run = 0;
    while (run < rule.days && s.has(day - run) && same(s.get(day - run)!, v)) run++;
    const flat = run >= rule.days && !(rule.ignoreZero && v === 0);
    return {
      severity: flat ? rule.severity : null,
      notify: true,
      value: v,
      measure: run,
      summary: flat ? `${title} 连续 ${run} 天均为 ${fmtNum(v)}，疑似数据停滞` : `${title} ${fmtNum(v)}，数据有变化`,
    };
  };
  return judgeAnchors(rule, entity, dailyAnchors(s, ctx, false), judge, ctx.today);
}
