// `lookout backtest` from outside: node bin/lookout.js backtest … as a user runs it.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runBacktest, type BacktestReport } from '../../src/backtest/backtest.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import { ensureBuilt, PINNED_NOW, PINNED_NOW_MS, ROOT, runCli } from '../support/cli.js';
import { daily, dealer, isoDays, shippedRules, writeCsv, type Row } from './fixtures.js';

beforeAll(ensureBuilt, 180_000);

const cal = new Calendar('Asia/Shanghai');
// The CLI validates ts against its clock, pinned by LOOKOUT_NOW: the history ends the day before.
const yesterday = cal.dayOf(PINNED_NOW_MS) - 1;
const DAYS = isoDays(Calendar.isoDay(yesterday - 28), 29);
const LAST = DAYS[DAYS.length - 1]!;

function entitiesCsv(dir: string, entities: readonly Entity[]): string {
  const file = join(dir, 'entities.csv');
  const lines = ['id,kind,name,region,district,manager,attr.monthly_fee,attr.contract_end', ...entities.map((e) => `${e.id},${e.kind},${e.name},${e.region},${e.district},${e.manager},${e.attrs.monthly_fee},${e.attrs.contract_end}`)];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function history(dealers: number, dropped: readonly string[]): Row[] {
  const rows: Row[] = [];
  for (let i = 1; i <= dealers; i++) {
    const id = `D${String(i).padStart(4, '0')}`;
    rows.push(...daily(id, 'card_opening', DAYS, (d) => (d === LAST && dropped.includes(id) ? 40 : 100)));
  }
  return rows;
}

const env = (extra: Record<string, string> = {}) => ({ LOOKOUT_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'lookout-cfg-')), LOOKOUT_NOW: PINNED_NOW, ...extra });

describe('lookout backtest (CLI)', () => {
  it('prints a table per rule, reports bad rows and unknown entities, and exits 0 (no progress bar on a pipe)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-cli-'));
    const file = writeCsv([...history(2, ['D0001']), ...daily('X0042', 'card_opening', DAYS.slice(0, 2), () => 5)], [`card_opening,D0002,lots,${LAST},`], dir);
    const ents = entitiesCsv(dir, [dealer('D0001'), dealer('D0002')]);
    const res = await runCli(['backtest', '--data', file, '--entities', ents], { env: env() });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^lookout backtest — .*history\.csv \(Asia\/Shanghai\)$/m);
    expect(res.stdout).toMatch(new RegExp(`judged +2 of 2 registered entities at each day close, ${DAYS[0]} … ${LAST} \\(29 days\\)`));
    expect(res.stdout).toMatch(/^core_dealer_card_opening_drop +change +2 +1 +1 +0 +0 +0 +1 /m);
    expect(res.stdout).toMatch(/unknown +1 entity is not in the registry \(2 samples, counted, never judged\): X0042 \(2\)/);
    expect(res.stdout).toMatch(/1 bad row skipped:\n {2}row 61: bad_value: value: expected a finite number/);
  });

  it('--json prints one JSON object, the same report as the in-process backtest (threads and all)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-cli-'));
    const dealers = Array.from({ length: 120 }, (_, i) => dealer(`D${String(i + 1).padStart(4, '0')}`));
    const file = writeCsv(history(120, ['D0007', 'D0099']), [], dir);
    const res = await runCli(['backtest', '--data', file, '--entities', entitiesCsv(dir, dealers), '--json', '--threads', '2'], { env: env() });
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const got = JSON.parse(lines[0]!) as BacktestReport;
    const want = await runBacktest({ data: file, ruleSet: await shippedRules(), entities: dealers, timeZone: 'Asia/Shanghai', retentionDays: 35, threads: 1, now: PINNED_NOW_MS });
    expect(got.threads).toEqual({ read: 1, judge: 2 });
    expect({ ...got, seconds: 0, threads: 0 }).toEqual(JSON.parse(JSON.stringify({ ...want, seconds: 0, threads: 0 })));
    expect(got.alerts.map((a) => `${a.entity} ${a.severity} ${a.period}`)).toEqual([`D0007 critical ${LAST}`, `D0099 critical ${LAST}`]);
    expect(got.rules.find((r) => r.rule === 'core_dealer_card_opening_drop')).toMatchObject({ inScope: 120, alerts: 2, critical: 2, entities: 2 });
  });

  it('a large JSON report reaches a pipe whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-cli-'));
    const bad = Array.from({ length: 1500 }, (_, i) => `card_opening,D0001,not-a-number-${i},${LAST},`);
    const file = writeCsv(history(1, []), bad, dir);
    const res = await runCli(['backtest', '--data', file, '--entities', entitiesCsv(dir, [dealer('D0001')]), '--json'], { env: env() });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.length).toBeGreaterThan(100_000);
    const got = JSON.parse(res.stdout) as BacktestReport;
    expect([got.samples.rejected, got.rejected.length, got.rejected[999]!.row]).toEqual([1500, 1000, 1029]);
  });

  it('reads the registry from LOOKOUT_CONFIG_DIR when --entities is not given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-cli-'));
    const cfg = join(dir, 'config');
    mkdirSync(cfg);
    entitiesCsv(cfg, [dealer('D0001')]);
    const res = await runCli(['backtest', '--data', writeCsv(history(1, ['D0001']), [], dir), '--json'], { env: { LOOKOUT_CONFIG_DIR: cfg, LOOKOUT_NOW: PINNED_NOW } });
    expect(res.code, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as BacktestReport).totals.alerts).toBe(1);
  });

  it('usage and configuration errors exit 2 with the coded message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-cli-'));
    const file = writeCsv(history(1, []), [], dir);
    const badRules = join(dir, 'rules');
    mkdirSync(badRules);
    writeFileSync(join(badRules, 'broken.yaml'), 'rules:\n  - id: x\n    kind: [\n');
    const badEntities = join(dir, 'entities.csv');
    writeFileSync(badEntities, 'id,kind,name,region,district,manager\nD1,spaceship,x,R,X,C\n');
    const badHeader = join(dir, 'bad-header.csv');
    writeFileSync(badHeader, 'metric,entity,amount,ts\ncard_opening,D1,3,2026-11-20\n');

    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], {}, /^lookout: required option '--data <file>' not specified \(see lookout backtest --help\)\n$/],
      [['--data', join(dir, 'nope.csv')], {}, /--data .*nope\.csv: no such file/],
      [['--data', file, '--from', '2026-02-30'], {}, /--from: expected a date YYYY-MM-DD, got "2026-02-30"/],
      [['--data', file, '--colour'], {}, /^lookout: unknown option '--colour' \(see lookout backtest --help\)\n$/],
      [['--data', file, '--rules', badRules], {}, /broken\.yaml:\d+: .*\[yaml_syntax\]/],
      [['--data', file, '--entities', badEntities], {}, /entities\.csv:2: kind: entity D1: expected one of .*\[bad_entity\]/],
      [['--data', badHeader], {}, /bad-header\.csv:1: value: missing required column value.*\[bad_csv_header\]/],
      [['--data', file], { LOOKOUT_TZ: 'Mars/Olympus' }, /LOOKOUT_TZ: expected an IANA time zone.*\[bad_env\]/],
    ];
    for (const [args, extra, message] of cases) {
      const res = await runCli(['backtest', ...args], { env: env(extra) });
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stdout).toBe('');
    }
  });

  it('a large file is read on several threads with the same result as one pass', async () => {
    // Parts are cut at line ends; a repeated id across the cut, bad rows and unknown entities in
    // both halves must come out exactly as in one pass (row numbers included).
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bt-cli-'));
    const dealers = Array.from({ length: 60 }, (_, i) => dealer(`D${String(i + 1).padStart(4, '0')}`));
    const rows = history(60, ['D0003', 'D0050']);
    const mid = Math.floor(rows.length / 2);
    const messy = [...rows.slice(0, mid), { metric: 'card_opening', entity: 'D0001', value: 'lots', ts: `${LAST}T12:00:00+08:00` }, ...rows.slice(mid)];
    const file = writeCsv(
      messy,
      [`card_opening,D0050,100,${LAST}T12:00:00+08:00,D0050/card_opening/${LAST}`, `card_opening,X0001,1,${LAST},`, 'card_opening,D0002,1,2026-11-20,,extra'],
      dir,
    );
    const script = join(dir, 'run.mjs');
    writeFileSync(
      script,
      `import { runBacktest } from ${JSON.stringify(join(ROOT, 'dist/src/backtest/backtest.js'))};
import { loadRuleSet } from ${JSON.stringify(join(ROOT, 'dist/src/config/rules-loader.js'))};
const rules = await loadRuleSet(${JSON.stringify(join(ROOT, 'rules'))});
const r = await runBacktest({ data: process.argv[2], ruleSet: rules.ruleSet, entities: JSON.parse(process.argv[3]), timeZone: 'Asia/Shanghai', retentionDays: 35, threads: 3, parallelReadBytes: 0, now: ${PINNED_NOW_MS} });
process.stdout.write(JSON.stringify(r));
`,
    );
    const { spawnSync } = await import('node:child_process');
    const out = spawnSync(process.execPath, [script, file, JSON.stringify(dealers)], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const got = JSON.parse(out.stdout) as BacktestReport;
    const want = await runBacktest({ data: file, ruleSet: await shippedRules(), entities: dealers, timeZone: 'Asia/Shanghai', retentionDays: 35, threads: 1, now: PINNED_NOW_MS });
    expect(got.threads).toEqual({ read: 3, judge: 2 });
    expect({ ...got, seconds: 0, threads: 0 }).toEqual(JSON.parse(JSON.stringify({ ...want, seconds: 0, threads: 0 })));
    expect(want.samples).toMatchObject({ rejected: 2, replaced: 1 });
    expect(want.alerts.map((a) => a.entity)).toEqual(['D0003']);
  });
});
