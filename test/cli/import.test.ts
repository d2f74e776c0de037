// `lookout import FILE` against a running Lookout (a worker on the same Redis prefix).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { ensureBuilt, runCli } from '../support/cli.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { testRedisUrl } from '../support/redis.js';

beforeAll(ensureBuilt, 180_000);

describe('lookout import', () => {
  let lk: TestLookout;
  let dir: string;
  // The import validates against the system clock; so does this worker, started at the real now.
  beforeEach(async () => {
    lk = await startTestLookout({ now: new Date().toISOString(), roles: ['api', 'worker'] });
    dir = await mkdtemp(join(tmpdir(), 'lookout-import-'));
  });
  afterEach(async () => lk.cleanup());

  const importEnv = () => ({ REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: lk.prefix, LOOKOUT_DATA_DIR: dir });
  const localDay = (daysAgo: number) => Calendar.isoDay(lk.calendar.dayOf(lk.clock.now()) - daysAgo);

  it('imports a samples CSV, reporting broken rows by row number and code, and keeps the rest (exit 1)', async () => {
    const [d2, d1] = [localDay(2), localDay(1)];
    const rows = [
      `card_opening,D0001,37,${d2},D0001/card_opening/${d2}`,
      `card_opening,D0001,41,${d1},D0001/card_opening/${d1}`,
      `card_opening,D0002,lots,${d1},`,
      `air_recharge,G0001,6,${d2}T10:00:00+08:00,`,
      `air_recharge,G0001,6,${d1},G0001/x,extra-cell`,
      `air_recharge,G0001,5,${d1}T10:00:00+08:00,`,
    ];
    const file = join(dir, 'samples.csv');
    await writeFile(file, ['metric,entity,value,ts,id', ...rows, ''].join('\n'));

    const res = await runCli(['import', file], { env: importEnv() });
    expect(res.code, res.stderr).toBe(1);
    const rowOf = (needle: string) => rows.findIndex((r) => r.includes(needle)) + 1;
    expect(res.stderr).toMatch(new RegExp(`^\\s*row ${rowOf('lots')}: bad_value: `, 'm'));
    expect(res.stderr).toMatch(new RegExp(`^\\s*row ${rowOf('extra-cell')}: bad_row: `, 'm'));
    expect(res.stdout).toMatch(/imported 4 samples/);

    await lk.idle();
    const day = (iso: string) => Calendar.parseIsoDay(iso)!;
    const cards = await lk.daily('D0001', 'card_opening');
    expect([cards.get(day(d2)), cards.get(day(d1))]).toEqual([37, 41]);
    const recharges = await lk.daily('G0001', 'air_recharge');
    expect([recharges.get(day(d2)), recharges.get(day(d1))]).toEqual([6, 5]);
    expect((await lk.daily('D0002', 'card_opening')).size).toBe(0);
  });

  it('imports an entities CSV into the registry (exit 0)', async () => {
    const file = join(dir, 'entities.csv');
    await writeFile(
      file,
      [
        'id,kind,name,region,district,manager,attr.monthly_fee,attr.contract_end',
        'D0001,core_dealer,新乡红旗区核心渠道,R-east,X-hongqi,C001,120,2027-01-15',
        'G0001,grassroots,卫滨便民店,R-east,X-weibin,C002,80,',
        '',
      ].join('\n'),
    );
    const res = await runCli(['import', file], { env: importEnv() });
    expect(res.code, res.stderr).toBe(0);
    expect(await lk.registry.get('D0001')).toMatchObject({ kind: 'core_dealer', manager: 'C001', attrs: { monthly_fee: 120, contract_end: '2027-01-15' } });
    expect(await lk.registry.get('G0001')).toMatchObject({ kind: 'grassroots', attrs: { monthly_fee: 80 } });
  });

  it('stops at a bad header before importing anything (exit 1)', async () => {
    const file = join(dir, 'samples.csv');
    await writeFile(file, `metric,entity,amount,ts\ncard_opening,D0001,3,${localDay(1)}\n`);
    const res = await runCli(['import', file], { env: importEnv() });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/\[bad_csv_header\]/);
    expect(await lk.queues.samples.getJobCounts('waiting', 'completed')).toEqual({ waiting: 0, completed: 0 });
  });
});

describe('lookout import of a file that is not there', () => {
  it('says so in one line and exits 2, without a stack trace', async () => {
    const res = await runCli(['import', '/nonexistent/samples.csv'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('lookout import: /nonexistent/samples.csv: no such file\n');
  });
});
