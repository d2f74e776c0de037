// `lookout backtest` in-process: the walk through the shipped rules on small histories.
import { beforeAll, describe, expect, it } from 'vitest';
import { runBacktest, type BacktestOptions, type BacktestReport } from '../../src/backtest/backtest.js';
import type { RuleSet } from '../../src/domain/rule.js';
import { daily, dealer, isoDays, outlet, shippedRules, writeCsv, type Row } from './fixtures.js';

const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const FOUR_WEEKS = isoDays('2026-10-24', 29); // … 2026-11-21, the four same-weekday weeks before it
const LAST = '2026-11-21';

let ruleSet: RuleSet;
beforeAll(async () => {
  ruleSet = await shippedRules();
});

function run(file: string, opts: Partial<BacktestOptions> = {}): Promise<BacktestReport> {
  return runBacktest({
    data: file,
    ruleSet,
    entities: [dealer('D0001'), dealer('D0002')],
    timeZone: 'Asia/Shanghai',
    retentionDays: 35,
    now: NOW,
    threads: 1,
    ...opts,
  });
}

const ruleRow = (r: BacktestReport, id: string) => r.rules.find((x) => x.rule === id)!;

/** D0001 sells 100 a day and 40 on the last day; D0002 a steady 100. */
function dealerDrop(extra: Row[] = []): Row[] {
  return [
    ...daily('D0001', 'card_opening', FOUR_WEEKS, (d) => (d === LAST ? 40 : 100)),
    ...daily('D0002', 'card_opening', FOUR_WEEKS, () => 100),
    ...extra,
  ];
}

describe('backtest', () => {
  it('a dealer dropping 60 % on one day raises exactly one critical alert, on that day', async () => {
    const r = await run(writeCsv(dealerDrop()));
    expect(r.alerts.map((a) => [a.rule, a.entity, a.change, a.severity, a.notify, a.period, a.at])).toEqual([
      ['core_dealer_card_opening_drop', 'D0001', 'fire', 'critical', true, LAST, '2026-11-22T00:05:00+08:00'],
    ]);
    expect(r.alerts[0]).toMatchObject({ value: 40, baseline: 100, measure: 60 });
    expect(ruleRow(r, 'core_dealer_card_opening_drop')).toMatchObject({
      inScope: 2,
      alerts: 1,
      critical: 1,
      warning: 0,
      entities: 1,
      openAtEnd: 1,
      perDay: Number((1 / 29).toFixed(3)),
      per1000PerDay: Number(((1 / 29 / 2) * 1000).toFixed(3)),
    });
    expect(r).toMatchObject({ from: '2026-10-24', to: LAST, days: 29, rows: 58, samples: { accepted: 58, rejected: 0, replaced: 0 } });
    expect(r.entities).toMatchObject({ registered: 2, judged: 2, unknown: 0 });
    expect(r.totals).toMatchObject({ alerts: 1, recorded: 0 });
  });

  it('a corrected export (same id) replaces the value: no alert', async () => {
    const r = await run(writeCsv(dealerDrop([{ metric: 'card_opening', entity: 'D0001', value: 98, ts: `${LAST}T12:00:00+08:00`, id: `D0001/card_opening/${LAST}` }])));
    expect(r.alerts).toEqual([]);
    expect(r.samples).toMatchObject({ accepted: 59, replaced: 1 });
  });

  it('--from/--to count only those days; state from the days before is carried, not counted again', async () => {
    const file = writeCsv([...dealerDrop(), ...daily('D0001', 'card_opening', ['2026-11-22', '2026-11-23'], () => 45)]);
    const all = await run(file, { now: Date.parse('2026-11-24T09:00:00+08:00') });
    expect(all.alerts.map((a) => `${a.change} ${a.period}`)).toEqual([`fire ${LAST}`]);
    // The alert fired on the 21st and stays open: not counted in a window after it.
    const after = await run(file, { now: Date.parse('2026-11-24T09:00:00+08:00'), from: '2026-11-22', to: '2026-11-23' });
    expect(after).toMatchObject({ from: '2026-11-22', to: '2026-11-23', days: 2, replayedFrom: '2026-10-24' });
    expect(ruleRow(after, 'core_dealer_card_opening_drop')).toMatchObject({ alerts: 0, openAtEnd: 1 });
    // A window ending before the drop sees nothing (the data after --to is not read).
    const before = await run(file, { now: Date.parse('2026-11-24T09:00:00+08:00'), to: '2026-11-20' });
    expect([before.to, before.days, before.alerts.length]).toEqual(['2026-11-20', 28, 0]);
    await expect(run(file, { from: '2026-11-23', to: '2026-11-22' })).rejects.toThrow(/--from 2026-11-23 is after --to 2026-11-22/);
    await expect(run(file, { from: '2026-13-01' })).rejects.toThrow(/--from: expected a date YYYY-MM-DD/);
  });

  it('samples for unknown entities are counted and reported, never judged', async () => {
    const r = await run(writeCsv([...dealerDrop(), ...daily('X0009', 'card_opening', FOUR_WEEKS.slice(0, 3), () => 1), ...daily('X0001', 'air_recharge', FOUR_WEEKS, () => 0)]));
    expect(r.entities).toMatchObject({
      registered: 2,
      judged: 2,
      unknown: 2,
      unknownSamples: 32,
      unknownTop: [
        { id: 'X0001', samples: 29 },
        { id: 'X0009', samples: 3 },
      ],
    });
    expect(r.alerts).toHaveLength(1);
  });

  it('bad rows are reported with row numbers and codes, and skipped', async () => {
    const file = writeCsv(dealerDrop(), ['card_opening,D0001,lots,2026-11-21,', 'card_opening,D0001,5,2026-11-21,,extra-cell', 'visits,D0001,5,2026-11-21,']);
    const r = await run(file);
    expect(r.samples).toMatchObject({ accepted: 58, rejected: 3 });
    expect(r.rejected.map((x) => [x.row, x.code])).toEqual([
      [59, 'bad_value'],
      [60, 'bad_row'],
      [61, 'unknown_metric'],
    ]);
    expect(r.rejected[0]!.message).toMatch(/value: expected a finite number/);
    expect(r.alerts).toHaveLength(1);
  });

  it('absence: an outlet silent for two days while the others report', async () => {
    const outlets = ['G1', 'G2', 'G3', 'G4'];
    const days = isoDays('2026-11-01', 21); // … 11-21
    const rows = outlets.flatMap((id) => daily(id, 'air_recharge', days, (d) => (id === 'G1' && d >= '2026-11-20' ? undefined : 10)));
    const r = await run(writeCsv(rows), { entities: outlets.map((id) => outlet(id)) });
    expect(r.alerts.map((a) => [a.rule, a.entity, a.severity, a.period, a.value])).toEqual([['grassroots_air_recharge_absent', 'G1', 'warning', '2026-11-21', 2]]);
  });

  it('a stalled feed (everyone silent) raises no absence', async () => {
    const outlets = ['G1', 'G2', 'G3'];
    const rows = outlets.flatMap((id) => daily(id, 'air_recharge', isoDays('2026-11-01', 19), () => 10));
    const r = await run(writeCsv(rows), { entities: outlets.map((id) => outlet(id)), to: '2026-11-21' });
    expect(r.alerts).toEqual([]);
  });

  it('weak evidence is recorded separately (info, notify: false), not counted as an alert', async () => {
    // A small outlet: 6 a day, then 2 2 2 — info under the shipped rule (docs/rules.md).
    const days = isoDays('2026-10-20', 33);
    const rows = daily('G1', 'air_recharge', days, (_d, i) => (i >= 30 ? 2 : 6));
    const r = await run(writeCsv(rows), { entities: [outlet('G1')] });
    const row = ruleRow(r, 'grassroots_air_recharge_drop');
    expect([row.alerts, row.recorded, row.recordedEntities]).toEqual([0, 1, 1]);
    expect(r.alerts.map((a) => [a.severity, a.notify])).toEqual([['info', false]]);
  });

  it('intraday: an hourly-fed dealer collapsing at 08:00 is flagged by 11:00, then the complete day by the daily rule', async () => {
    const days = isoDays('2026-10-24', 28); // … 11-20
    const hours = Array.from({ length: 12 }, (_, k) => 8 + k); // 08:00–19:00, 10 cards an hour
    const hourly = (day: string, h: number, v: number): Row => ({ metric: 'card_opening', entity: 'D0001', value: v, ts: `${day}T${String(h).padStart(2, '0')}:30:00+08:00` });
    // The hourly feed goes on reporting, with nothing sold after 08:00.
    const rows = [...days.flatMap((d) => hours.map((h) => hourly(d, h, 10))), ...hours.map((h) => hourly(LAST, h, h === 8 ? 10 : 0))];
    const r = await run(writeCsv(rows), { entities: [dealer('D0001')] });
    expect(r.alerts.map((a) => [a.rule, a.severity, a.period, a.at])).toEqual([
      // At the scheduler's hourly pass (:02) and its day close (00:05).
      ['core_dealer_card_opening_intraday', 'warning', LAST, '2026-11-21T11:02:00+08:00'],
      ['core_dealer_card_opening_drop', 'critical', LAST, '2026-11-22T00:05:00+08:00'],
    ]);
    expect(ruleRow(r, 'core_dealer_card_opening_intraday')).toMatchObject({ alerts: 1, resolved: 1, openAtEnd: 0 });
    // Every transition is listed, so how long the intraday warning stayed open can be read: it
    // ends with its day, at the day close.
    expect(r.transitions.filter((t) => t.rule === 'core_dealer_card_opening_intraday').map((t) => [t.change, t.severity, t.at, t.firingSince, t.openHours])).toEqual([
      ['fire', 'warning', '2026-11-21T11:02:00+08:00', undefined, undefined],
      ['resolve', 'warning', '2026-11-22T00:05:00+08:00', '2026-11-21T11:02:00+08:00', 13.1],
    ]);
  });

  it('follows LOOKOUT_DAY_CLOSE_CRON: a later close judges the day when the scheduler would', async () => {
    const r = await run(writeCsv(dealerDrop()), { dayCloseCron: '30 6 * * *' });
    expect(r.alerts.map((a) => [a.rule, a.period, a.at])).toEqual([['core_dealer_card_opening_drop', LAST, '2026-11-22T06:30:00+08:00']]);
  });

  it('daily exports are not seen during their day: intraday rules stay silent on them', async () => {
    const r = await run(writeCsv(dealerDrop()));
    expect(ruleRow(r, 'core_dealer_card_opening_intraday').alerts).toBe(0);
  });

  it('the JSON form is one object with the report fields', async () => {
    const r = JSON.parse(JSON.stringify(await run(writeCsv(dealerDrop(), ['card_opening,D0001,x,2026-11-21,'])))) as Record<string, unknown>;
    expect(Object.keys(r).sort()).toEqual(
      ['alerts', 'days', 'entities', 'file', 'from', 'notes', 'rejected', 'replayedFrom', 'rows', 'rules', 'samples', 'seconds', 'threads', 'timeZone', 'to', 'totals', 'transitions'].sort(),
    );
    expect(Object.keys((r.rules as object[])[0]!).sort()).toEqual(
      ['alerts', 'cancelled', 'critical', 'entities', 'info', 'inScope', 'kind', 'openAtEnd', 'pending', 'per1000PerDay', 'perDay', 'recorded', 'recordedEntities', 'resolved', 'rule', 'upgrades', 'warning'].sort(),
    );
    expect(r.rejected).toEqual([{ row: 59, code: 'bad_value', message: expect.stringMatching(/value/) as unknown }]);
  });
});
