// date: an attribute date (e.g. contract_end) within `withinDays` of today. Judged on today;
// once the date has passed, moved out of the window or been removed, the reminder resolves (the
// agreement is renewed or gone). `remind_every_days` re-notifies an open reminder (src/duties).

import { Calendar } from '../../domain/clock.js';
import type { DateRule } from '../../domain/rule.js';
import type { DayJudge, Judgement, KindInput } from '../judge.js';
import { judgeAnchors } from '../judge.js';
import { attrDay } from '../scope.js';
import { attrTitle } from '../summary.js';

export function evaluateDate({ rule, entity, ctx, open }: KindInput<DateRule>): Judgement {
  const date = attrDay(entity.attrs[rule.attribute]);
  const title = attrTitle(rule.attribute);
  const judge: DayJudge = (day) => {
    // The date was removed (or is no longer a date) while a reminder is open: it resolves, so
    // a renewal that clears the attribute ends the reminder (and its weekly repeats).
    if (date === undefined) return open ? { severity: null, notify: true, summary: `${title}已移除` } : 'no_data';
    const left = date - day;
    const iso = Calendar.isoDay(date);
    const due = left >= 0 && left <= rule.withinDays;
    const when = left > 0 ? `还剩 ${left} 天` : left === 0 ? '今天到期' : `已过 ${-left} 天`;
    return { severity: due ? rule.severity : null, notify: true, value: left, summary: `${title} ${iso}，${when}` };
  };
  return judgeAnchors(rule, entity, [{ day: ctx.today, partial: false }], judge, ctx.today);
}
