// The backtest raises the alerts the live daemon raises for the same data (issue 5: "backtest
// counts matching the live evaluator on the same data"). The same samples go through a real
// Lookout (HTTP ingest → Redis buckets → worker → alert state), day by day as the exports would
// arrive — each day's export just after midnight, then the scheduler's day close — and through
// `runBacktest`; the fired alerts (rule, entity, severity, period) must be the same.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/backtest/backtest.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import type { RuleSet } from '../../src/domain/rule.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { daily, dealer, fired, isoDays, outlet, shippedRules, writeCsv, type Row } from './fixtures.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';

let ruleSet: RuleSet;
beforeAll(async () => {
  ruleSet = await shippedRules();
});

const cal = new Calendar('Asia/Shanghai');
const localIso = (ms: number) => cal.formatLocal(ms);

/**
 * A small branch over 5 weeks: some noise, a dealer that drops, one that dips, outlets that fade,
 * fall silent, or first show weak evidence then page.
 */
function branch(): { entities: Entity[]; rows: Row[]; days: string[] } {
  const days = isoDays('2026-10-17', 36); // … 2026-11-21
  const wobble = (i: number, k: number) => ((i * 7 + k * 13) % 11) - 5; // deterministic ±5
  const entities = [dealer('D0001'), dealer('D0002'), dealer('D0003'), dealer('D0004', { monthly_fee: 900, contract_end: '2026-12-10' }), ...['G1', 'G2', 'G3', 'G4', 'G5', 'G6', 'G7'].map((id) => outlet(id))];
  const rows: Row[] = [
    // D0001: ~100 a day, 40 on 11-21 (critical).
    ...daily('D0001', 'card_opening', days, (d, i) => (d === '2026-11-21' ? 40 : 100 + wobble(i, 1))),
    // D0002: ~120 a day, 70 on 11-14 (−42 %: warning), then back.
    ...daily('D0002', 'card_opening', days, (d, i) => (d === '2026-11-14' ? 70 : 120 + wobble(i, 2))),
    // D0003: steady; D0004: tiny (under the minimum baseline) and contract ending in 19 days.
    ...daily('D0003', 'card_opening', days, (_d, i) => 80 + wobble(i, 3)),
    ...daily('D0004', 'card_opening', days, (_d, i) => 3 + (i % 3)),
    // Outlets ~20 a day; G1 silent from 11-20; G2 at 20 % for the last three days; G3 with gaps.
    ...['G1', 'G2', 'G3', 'G4', 'G5', 'G6'].flatMap((id, k) =>
      daily(id, 'air_recharge', days, (d, i) => {
        if (id === 'G1' && d >= '2026-11-20') return undefined;
        if (id === 'G2' && d >= '2026-11-19') return 4;
        if (id === 'G3' && i % 9 === 4) return undefined;
        return 20 + wobble(i, k + 4);
      }),
    ),
    // G7: a steady 20, then 7 on 11-20 (weak evidence: recorded) and 7 again on 11-21 (pages).
    ...daily('G7', 'air_recharge', days, (d) => (d >= '2026-11-20' ? 7 : 20)),
  ];
  return { entities, rows, days };
}

describe.each(SERIES_LAYOUTS)('backtest vs the live daemon on the same data (%s series layout)', (layout) => {
  let lk: TestLookout | undefined;
  afterEach(async () => {
    await lk?.cleanup();
    lk = undefined;
  });

  it('fires the same alerts: rule, entity, severity and period', async () => {
    const { entities, rows, days } = branch();

    // Live: each day's export arrives at 00:05 the next day, then the scheduler closes the day.
    const first = Calendar.parseIsoDay(days[0]!)!;
    lk = await startTestLookout({ now: localIso(cal.startOfDay(first + 1) + 5 * 60_000), roles: ['api', 'worker', 'scheduler'], env: { LOOKOUT_SERIES_LAYOUT: layout } });
    await lk.registry.putMany(entities);
    await lk.idle();
    for (const d of days) {
      const day = Calendar.parseIsoDay(d)!;
      lk.manualClock.set(cal.startOfDay(day + 1) + 5 * 60_000);
      const res = await lk.post('/api/v1/samples', rows.filter((r) => r.ts.startsWith(d)));
      expect(res.status).toBe(202);
      await lk.idle();
      await lk.dayCloser!.close(day);
      await lk.idle();
    }
    const ruleIds = new Set(ruleSet.rules.map((r) => r.id));
    const live = lk.transitions
      .filter((e) => (e.change === 'fire' || e.change === 'upgrade') && ruleIds.has(e.alert.rule))
      .map((e) => `${e.change} ${fired(e.alert)} notify=${e.alert.notify}`)
      .sort();

    // Backtest: the same rows as a CSV.
    const report = await runBacktest({
      data: writeCsv(rows),
      ruleSet,
      entities,
      timeZone: 'Asia/Shanghai',
      retentionDays: 35,
      now: lk.manualClock.now(),
      threads: 1,
    });
    const replayed = report.alerts.map((a) => `${a.change} ${fired(a)} notify=${a.notify}`).sort();

    expect(replayed).toEqual(live);
    // The data has something for every kind of outcome, so the comparison means something.
    expect(live.join('\n')).toMatch(/fire core_dealer_card_opening_drop D0001 critical 2026-11-21 notify=true/);
    expect(live.join('\n')).toMatch(/fire core_dealer_card_opening_drop D0002 warning 2026-11-14/);
    expect(live.join('\n')).toMatch(/fire grassroots_air_recharge_absent G1 warning 2026-11-21/);
    expect(live.join('\n')).toMatch(/fire grassroots_air_recharge_drop G2 warning/);
    expect(live.join('\n')).toMatch(/fire contract_end_reminder D0004 info/);
    expect(live.join('\n')).toMatch(/fire grassroots_air_recharge_drop G7 info 2026-11-20 notify=false\nupgrade grassroots_air_recharge_drop G7 warning 2026-11-21 notify=true/);
    // And the per-rule counts are those transitions: alerts raised that page (fired, or a recorded
    // weak-evidence alert upgraded to paging), and upgrades of alerts that already paged.
    const raised = new Map<string, number>();
    const upgrades = new Map<string, number>();
    const last = new Map<string, { notify: boolean; state: string }>();
    for (const e of lk.transitions) {
      const prior = last.get(e.alert.fingerprint);
      last.set(e.alert.fingerprint, e.alert);
      if (!ruleIds.has(e.alert.rule) || !e.alert.notify) continue;
      const paging = prior !== undefined && prior.notify && prior.state !== 'resolved';
      if (e.change === 'fire' || (e.change === 'upgrade' && !paging)) raised.set(e.alert.rule, (raised.get(e.alert.rule) ?? 0) + 1);
      else if (e.change === 'upgrade') upgrades.set(e.alert.rule, (upgrades.get(e.alert.rule) ?? 0) + 1);
    }
    for (const r of report.rules) expect([r.rule, r.alerts, r.upgrades]).toEqual([r.rule, raised.get(r.rule) ?? 0, upgrades.get(r.rule) ?? 0]);

    // Every transition the kernel made, live and replayed, at the same instant: fire, upgrade,
    // downgrade, resolve, and pending starts and cancels.
    const key = (change: string, a: { rule: string; entity: string; severity: string; period: string }, at: string) => `${at} ${change} ${a.rule} ${a.entity} ${a.severity} ${a.period}`;
    const liveAll = lk.transitions.filter((e) => ruleIds.has(e.alert.rule)).map((e) => key(e.change, e.alert, localIso(e.at))).sort();
    const replayedAll = report.transitions.map((t) => key(t.change, t, t.at)).sort();
    expect(replayedAll).toEqual(liveAll);
    expect(liveAll.join('\n')).toMatch(/ resolve /);
  }, 60_000);

  it('intraday: the same hourly feed raises the same intraday alert at the same hour', async () => {
    const history = isoDays('2026-10-24', 28); // … 11-20
    const last = '2026-11-21';
    const hours = Array.from({ length: 12 }, (_, k) => 8 + k);
    const row = (day: string, h: number, v: number): Row => ({ metric: 'card_opening', entity: 'D0001', value: v, ts: `${day}T${String(h).padStart(2, '0')}:30:00+08:00`, id: `D0001/${day}T${h}` });
    const past = history.flatMap((d) => hours.map((h) => row(d, h, 10)));
    const today = hours.filter((h) => h <= 13).map((h) => row(last, h, h === 8 ? 10 : 0));
    const entities = [dealer('D0001')];

    // Live: the history as a backfill at 00:05 on the 21st, then each hour's samples by the next
    // hour's :02, when the scheduler's hourly pass judges intraday rules (feed or no feed).
    lk = await startTestLookout({ now: `${last}T00:05:00+08:00`, roles: ['api', 'worker', 'scheduler'], env: { LOOKOUT_SERIES_LAYOUT: layout } });
    await lk.registry.putMany(entities);
    expect((await lk.post('/api/v1/samples', past)).status).toBe(202);
    await lk.idle();
    for (const r of today) {
      const h = Number(r.ts.slice(11, 13));
      lk.manualClock.set(`${last}T${String(h + 1).padStart(2, '0')}:02:00+08:00`);
      expect((await lk.post('/api/v1/samples', [r])).status).toBe(202);
      await lk.dayCloser!.intradayPass();
      await lk.idle();
    }
    const live = lk.transitions.filter((e) => e.change === 'fire').map((e) => `${fired(e.alert)} at ${localIso(e.at)}`);

    const report = await runBacktest({
      data: writeCsv([...past, ...today]),
      ruleSet,
      entities,
      timeZone: 'Asia/Shanghai',
      retentionDays: 35,
      now: lk.manualClock.now(),
      threads: 1,
      to: '2026-11-20', // the days closed live; the 21st's hours are judged on their own below
    });
    expect(report.alerts).toEqual([]);
    const withToday = await runBacktest({
      data: writeCsv([...past, ...today]),
      ruleSet,
      entities,
      timeZone: 'Asia/Shanghai',
      retentionDays: 35,
      now: lk.manualClock.now(),
      threads: 1,
    });
    const intraday = withToday.alerts.filter((a) => a.rule === 'core_dealer_card_opening_intraday').map((a) => `${fired(a)} at ${a.at}`);
    expect(intraday).toEqual(live);
    expect(live).toEqual(['core_dealer_card_opening_intraday D0001 warning 2026-11-21 at 2026-11-21T11:02:00+08:00']);
  }, 60_000);
});
