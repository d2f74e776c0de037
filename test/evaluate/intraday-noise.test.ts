// Noise and sensitivity of the shipped intraday rule (core_dealer_card_opening_intraday) on the
// simulated branch (src/demo/simulate.ts), like noise.test.ts does for the daily rules. The
// simulator makes daily totals; the small generator below splits each dealer-day over the hours
// (morning-heavy, each dealer opening a little earlier or later, weekends an hour later, and the
// split itself wandering from day to day), so the rule is judged on hourly buckets as the worker
// reads them. Prints pages per 1,000 dealers per ordinary day and how often collapses are caught.
//
//   npx vitest run test/evaluate/intraday-noise.test.ts       (INTRADAY_NOISE_DEALERS=1000 for more)

import { beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../src/config/rules-loader.js';
import { dailyValue, mulberry32, simulateBranch } from '../../src/demo/simulate.js';
import type { Branch } from '../../src/demo/simulate.js';
import type { AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import type { Rule } from '../../src/domain/rule.js';
import { evaluateEntity } from '../../src/evaluate/index.js';
import type { HourlySeries } from '../../src/evaluate/index.js';
import { applyVerdict } from '../../src/domain/lifecycle.js';

const TODAY = Calendar.parseIsoDay('2026-11-21')!;
const JUDGED_DAYS = 35; // five weeks of ordinary days, each with four weeks of history before it
const HISTORY = JUDGED_DAYS + 28;
const DEALERS = Number(process.env.INTRADAY_NOISE_DEALERS ?? 300);
const HOUR = 3_600_000;
// Judged at midnight (an alert of yesterday ends) and every hour from from_hour on.
const LOOKS = [0, ...Array.from({ length: 14 }, (_, i) => 10 + i)];

// ---- hourly generator ------------------------------------------------------------------------

/** Share of a day's sales by local hour: shops open ~08:00, busiest 09:00–12:00, quiet after 21:00. */
const BASE = [0, 0, 0, 0, 0, 0, 0, 0.2, 2, 6, 9, 8, 6, 4, 4, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.3, 0];
/** Day-to-day wander of each hour's weight (log-normal σ). */
const WANDER = 0.18;

/** A collapse: from `fromHour` on, each sale happens with probability `keep`. */
interface Collapse {
  readonly day: number;
  readonly fromHour: number;
  readonly keep: number;
}

function hourWeights(dealer: number, day: number, rand: () => number): number[] {
  const weekend = Calendar.weekday(day) === 0 || Calendar.weekday(day) === 6;
  const shift = (dealer % 3) - 1 + (weekend ? 1 : 0); // opens an hour early, on time or late; weekends an hour later
  return BASE.map((_, h) => {
    const w = BASE[h - shift] ?? 0;
    if (w === 0) return 0;
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return w * Math.exp(WANDER * z - (WANDER * WANDER) / 2);
  });
}

/** One dealer-day's total split over the 24 hours (each sale placed by the day's weights). */
function splitDay(dealer: number, day: number, total: number, collapse?: Collapse): Float64Array {
  const rand = mulberry32(((dealer + 1) * 2_654_435_761 + day * 40_503) >>> 0);
  const w = hourWeights(dealer, day, rand);
  const cum: number[] = [];
  let acc = 0;
  for (const x of w) cum.push((acc += x));
  const row = new Float64Array(24);
  for (let k = 0; k < total; k++) {
    const u = rand() * acc;
    let h = 0;
    while (cum[h]! <= u) h++;
    if (collapse && collapse.day === day && h >= collapse.fromHour && rand() >= collapse.keep) continue;
    row[h]!++;
  }
  return row;
}

interface DealerData {
  readonly entity: Entity;
  readonly index: number;
  readonly mean: number;
  readonly daily: Map<number, number>;
  readonly hourly: Map<number, Float64Array>;
}

function dealerData(branch: Branch, entity: Entity, index: number, from: number, to: number, collapse?: Collapse): DealerData {
  const daily = new Map<number, number>();
  const hourly = new Map<number, Float64Array>();
  for (let d = from; d <= to; d++) {
    const total = dailyValue(branch, index, 0, d);
    if (total === undefined) continue;
    const row = splitDay(index, d, total, collapse);
    hourly.set(d, row);
    daily.set(d, row.reduce((a, b) => a + b, 0));
  }
  return { entity, index, mean: branch.profiles.get(entity.id)![0]!.mean, daily, hourly };
}

/** The hourly rows an evaluation on `today` reads with `retentionDays` of hourly buckets kept. */
function retained(hourly: Map<number, Float64Array>, today: number, retentionDays: number): HourlySeries {
  if (retentionDays >= 28) return hourly; // the rule reads at most 4 weeks back
  const out = new Map<number, Float64Array>();
  for (let d = today - retentionDays; d <= today; d++) {
    const row = hourly.get(d);
    if (row) out.set(d, row);
  }
  return out;
}

// ---- measurement -----------------------------------------------------------------------------

let rule: Rule;
let branch: Branch;
let dealers: { entity: Entity; index: number }[];

beforeAll(async () => {
  const res = await loadRuleSet('rules');
  if (!res.ok) throw new Error(res.errors.map((e) => e.format()).join('\n'));
  rule = res.ruleSet.rules.find((r) => r.id === 'core_dealer_card_opening_intraday')!;
  branch = simulateBranch({ seed: 20261121, today: TODAY, historyDays: HISTORY, dealers: DEALERS, outlets: 0, halls: 0, campaigns: 0 });
  dealers = branch.entities.flatMap((entity, index) => (entity.kind === 'core_dealer' ? [{ entity, index }] : []));
});

const walked = new Map<number, { pages: number; infos: number; byHour: number[] }>();

/** Walk the ordinary days hour by hour through the alert lifecycle; count alerts that start and page. */
function ordinaryDays(retentionDays: number): { pages: number; infos: number; byHour: number[] } {
  const done = walked.get(retentionDays);
  if (done) return done;
  let pages = 0;
  let infos = 0;
  const byHour = new Array<number>(24).fill(0);
  for (const { entity, index } of dealers) {
    const data = dealerData(branch, entity, index, TODAY - HISTORY, TODAY);
    const series = new Map([['card_opening', data.daily]]);
    const priors = new Map<string, AlertRecord>();
    for (let d = TODAY - JUDGED_DAYS + 1; d <= TODAY; d++) {
      const hourly = new Map([['card_opening', retained(data.hourly, d, retentionDays)]]);
      for (const h of LOOKS) {
        const now = branch.calendar.startOfDay(d) + h * HOUR;
        for (const v of evaluateEntity([rule], entity, series, priors, { now, today: d, calendar: branch.calendar }, hourly)) {
          const step = applyVerdict(priors.get(v.rule), v, now);
          if (step.record) priors.set(v.rule, step.record);
          const change = step.event?.change;
          if (change !== 'fire' && change !== 'upgrade') continue;
          if (step.record!.notify) {
            pages++;
            byHour[h]!++;
          } else infos++;
        }
      }
    }
  }
  walked.set(retentionDays, { pages, infos, byHour });
  return { pages, infos, byHour };
}

/** Share of dealer-days collapsing by `drop` from 08:00 that page by 11:00, by 14:00, by the day's end. */
function detection(drop: number): { by11: number; by14: number; byEnd: number; byVolume: string } {
  let n = 0;
  const caught = { by11: 0, by14: 0, byEnd: 0 };
  const bins = new Map<string, [number, number]>();
  for (const { entity, index } of dealers) {
    // One collapse per dealer on each weekday of the last week.
    for (let day = TODAY - 6; day <= TODAY; day++) {
      const data = dealerData(branch, entity, index, day - 31, day, { day, fromHour: 8, keep: 1 - drop });
      const series = new Map([['card_opening', data.daily]]);
      const hourly = new Map([['card_opening', data.hourly as HourlySeries]]);
      let first: number | undefined;
      for (let h = 10; h < 24 && first === undefined; h++) {
        const now = branch.calendar.startOfDay(day) + h * HOUR;
        const paged = evaluateEntity([rule], entity, series, new Map(), { now, today: day, calendar: branch.calendar }, hourly).some(
          (v) => v.severity !== null && v.notify,
        );
        if (paged) first = h;
      }
      n++;
      if (first !== undefined && first <= 11) caught.by11++;
      if (first !== undefined && first <= 14) caught.by14++;
      if (first !== undefined) caught.byEnd++;
      const bin = data.mean < 100 ? '50–100' : data.mean < 200 ? '100–200' : '200–300';
      const b = bins.get(bin) ?? [0, 0];
      bins.set(bin, [b[0] + (first !== undefined && first <= 11 ? 1 : 0), b[1] + 1]);
    }
  }
  const pct = (x: number, of = n) => Math.round((100 * x) / of);
  const byVolume = ['50–100', '100–200', '200–300']
    .filter((k) => bins.has(k))
    .map((k) => `${k}/day ${pct(bins.get(k)![0], bins.get(k)![1])}%`)
    .join(', ');
  return { by11: pct(caught.by11), by14: pct(caught.by14), byEnd: pct(caught.byEnd), byVolume };
}

describe('core_dealer_card_opening_intraday on a simulated branch with hourly samples', () => {
  it('pages rarely on ordinary days (4 weeks of hourly history: same-weekday shape)', () => {
    const { pages, infos, byHour } = ordinaryDays(28);
    const per1000 = (pages / JUDGED_DAYS / dealers.length) * 1000;
    console.log(
      `intraday noise (28-day hourly retention): ${pages} paging alerts in ${JUDGED_DAYS} ordinary days over ${dealers.length} dealers ` +
        `= ${per1000.toFixed(2)} per 1,000 dealers per day (${((per1000 * 40) / 1000).toFixed(2)}/day for 40 core dealers); ` +
        `info-only ${infos}; pages by hour ${byHour.map((c, h) => (c ? `${h}h:${c}` : '')).filter(Boolean).join(' ')}`,
    );
    expect(per1000).toBeLessThan(3);
  }, 120_000);

  it('with only 8 days of hourly history (all-days shape) the weekend hour shift makes it noisier', () => {
    const { pages } = ordinaryDays(8);
    const per1000 = (pages / JUDGED_DAYS / dealers.length) * 1000;
    console.log(`intraday noise (8-day hourly retention): ${pages} paging alerts = ${per1000.toFixed(2)} per 1,000 dealers per day`);
    expect(pages).toBeGreaterThan(ordinaryDays(28).pages);
  }, 120_000);

  it('catches collapses from 08:00: most −100 % days by 11:00, most −60 % days within the day', () => {
    const results = [0.6, 0.8, 1].map((drop) => ({ drop, ...detection(drop) }));
    for (const r of results) {
      console.log(
        `intraday detection of −${r.drop * 100}% from 08:00 (${dealers.length * 7} dealer-days): ` +
          `by 11:00 ${r.by11}%, by 14:00 ${r.by14}%, by the day's end ${r.byEnd}% (by 11:00 per volume: ${r.byVolume})`,
      );
    }
    const [sixty, , hundred] = results;
    expect(sixty!.by11).toBeGreaterThanOrEqual(10);
    expect(sixty!.byEnd).toBeGreaterThanOrEqual(70);
    expect(hundred!.by11).toBeGreaterThanOrEqual(70);
  }, 120_000);
});
