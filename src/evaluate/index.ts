// Pure rule evaluation: (rules, entity, daily series, open alerts, injected time) → verdicts.

export { evaluateEntity, evaluateRule, rulesInScope } from './evaluate-entity.js';
export { inScope, isLiveOn, liveWindow, matchesAttr } from './scope.js';
export { baselineAt, dispersionBefore } from './baseline.js';
export type { Baseline } from './baseline.js';
export { changeTailP, countLowerTail, countUpperTail, mad, median, robustDispersion } from './stats.js';
export { latestDayWithData } from './judge.js';
export type { SkipReason } from './judge.js';
export type { EvalContext } from './types.js';
export type { DailySeries, EntityHourly, EntitySeries, HourlySeries } from '../domain/series.js';
export { HOURS_PER_DAY } from '../domain/series.js';
export { cumulative, expectedCumulative, profileDays, shapeDispersion } from './kinds/intraday.js';
export type { IntradayExpectation, ProfileDay, ProfileSource } from './kinds/intraday.js';
