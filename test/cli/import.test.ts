// `lookout import FILE` against a running Lookout (a worker on the same Redis prefix).
import { mkdtemp, writeFile } from 'node:fs/promises';
import iconv from 'iconv-lite';
import pino from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { ensureBuilt, PINNED_NOW, runCli } from '../support/cli.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { keyspace } from '../../src/state/keys.js';
import { resolveRedis } from '../../src/redis/resolve.js';
import { freshPrefix, testRedisUrl } from '../support/redis.js';
import { batchSamples } from '../../src/queues/sample-payload.js';

beforeAll(ensureBuilt, 180_000);

describe('lookout import', () => {
  let lk: TestLookout;
  let dir: string;
  // The import validates against its clock, pinned by LOOKOUT_NOW; this worker starts at the same moment.
  beforeEach(async () => {
    lk = await startTestLookout({ now: PINNED_NOW, roles: ['api', 'worker'] });
    dir = await mkdtemp(join(tmpdir(), 'lookout-import-'));
  });
  afterEach(async () => lk.cleanup());

  const importEnv = () => ({ REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: lk.prefix, LOOKOUT_DATA_DIR: dir, LOOKOUT_NOW: PINNED_NOW });
  const localDay = (daysAgo: number) => Calendar.isoDay(lk.calendar.dayOf(lk.clock.now()) - daysAgo);

  it('imports a samples CSV, reporting broken rows by file line and code, and keeps the rest (exit 1)', async () => {
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
    // Numbered by the file's line: the header is line 1.
    const lineOf = (needle: string) => rows.findIndex((r) => r.includes(needle)) + 2;
    expect(res.stderr).toMatch(new RegExp(`^\\s*line ${lineOf('lots')}: bad_value: `, 'm'));
    expect(res.stderr).toMatch(new RegExp(`^\\s*line ${lineOf('extra-cell')}: bad_row: `, 'm'));
    expect(res.stderr).toMatch(/2 row\(s\) rejected, the rest imported/);
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

  it('an import where every row is rejected says nothing was imported (exit 1)', async () => {
    const file = join(dir, 'samples.csv');
    await writeFile(file, `metric,entity,value,ts\ncard_opening,D0001,lots,${localDay(1)}\n\ncard_opening,D0001,-3,${localDay(1)}\n`);
    const res = await runCli(['import', file], { env: importEnv() });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^all 2 row\(s\) rejected, nothing imported:$/m);
    expect(res.stderr).not.toMatch(/the rest imported/);
    // The blank line 3 counts: the second bad row is line 4.
    expect(res.stderr).toMatch(/^\s+line 2: bad_value: /m);
    expect(res.stderr).toMatch(/^\s+line 4: negative_value: /m);
    expect(res.stdout).toBe('');
  });

  it('reports every bad field of an entity row on one line numbered by the file line, and imports nothing', async () => {
    const cfg = await mkdtemp(join(tmpdir(), 'lookout-import-cfg-'));
    await writeFile(join(cfg, 'contacts.csv'), 'id,name,phone,email,role,scope\nC001,张伟,13800000001,,channel_manager,\n');
    const file = join(dir, 'entities.csv');
    await writeFile(
      file,
      [
        'id,kind,name,region,district,manager,attr.start,attr.monthly_fee',
        'D0001,core_dealer,新乡红旗区核心渠道,R-east,X-hongqi,C001,,120',
        'D0002,spaceship,,R-east,X-hongqi,CM99,2026-13-01,-5',
        '',
      ].join('\n'),
    );
    const res = await runCli(['import', file], { env: { ...importEnv(), LOOKOUT_CONFIG_DIR: cfg } });
    expect(res.code).toBe(1);
    const line = res.stderr.split('\n').find((l) => l.startsWith(`${file} line 3: `));
    expect(line, res.stderr).toBeDefined();
    for (const field of ['kind', 'name', 'attr.start', 'attr.monthly_fee']) expect(line).toContain(`${field}: `);
    expect(line).toContain('manager: manager "CM99" is not a contact in contacts.csv');
    expect(line).toMatch(/ \[bad_entity, unknown_contact\]$/);
    expect(res.stderr).toMatch(/^5 error\(s\); nothing imported$/m);
    expect(await lk.registry.get('D0001')).toBeUndefined();
  });

  it('refuses a GBK entities.csv without --encoding, naming the encoding and the flag; imports it with --encoding gbk', async () => {
    const file = join(dir, 'entities.csv');
    const text = ['id,kind,name,region,district,manager', 'D0001,core_dealer,新乡红旗区核心渠道,R-east,X-hongqi,C001', 'G0001,grassroots,卫滨便民店,R-east,X-weibin,C002', ''].join('\r\n');
    await writeFile(file, iconv.encode(text, 'gbk'));

    const refused = await runCli(['import', file], { env: importEnv() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file} line 2: entities.csv is not UTF-8 (looks like GB18030; pass --encoding gb18030) [csv_encoding]\n1 error(s); nothing imported\n`);
    expect(await lk.registry.get('D0001')).toBeUndefined();

    const res = await runCli(['import', file, '--encoding', 'gbk'], { env: importEnv() });
    expect(res.code, res.stderr).toBe(0);
    expect(await lk.registry.get('D0001')).toMatchObject({ name: '新乡红旗区核心渠道' });
    expect(await lk.registry.get('G0001')).toMatchObject({ name: '卫滨便民店' });
  });

  it('refuses a GB18030 samples CSV without --encoding before queueing anything; reads it with --encoding gb18030', async () => {
    const file = join(dir, 'samples.csv');
    const d1 = localDay(1);
    await writeFile(file, iconv.encode(`\uFEFFmetric,entity,value,ts,label.category\ncard_opening,D0001,37,${d1},校园卡\n`, 'gb18030'));
    const refused = await runCli(['import', file], { env: importEnv() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/samples\.csv is not UTF-8 \(looks like GB18030; pass --encoding gb18030\) \[csv_encoding\]/);
    expect(refused.stderr).toMatch(/^nothing imported$/m);
    expect(await lk.queues.samples.getJobCounts('waiting', 'completed')).toEqual({ waiting: 0, completed: 0 });

    const res = await runCli(['import', file, '--encoding', 'gb18030'], { env: importEnv() });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/imported 1 samples/);
    await lk.idle();
    expect((await lk.daily('D0001', 'card_opening')).get(Calendar.parseIsoDay(d1)!)).toBe(37);
  });

  it('accepts a UTF-8 file with a BOM', async () => {
    const file = join(dir, 'entities.csv');
    await writeFile(file, '\uFEFFid,kind,name,region,district,manager\nD0001,core_dealer,新乡红旗区核心渠道,R-east,X-hongqi,C001\n');
    const res = await runCli(['import', file], { env: importEnv() });
    expect(res.code, res.stderr).toBe(0);
    expect(await lk.registry.get('D0001')).toMatchObject({ name: '新乡红旗区核心渠道' });
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

describe.each(['compact', 'buckets'] as const)('lookout import of an hourly export sorted by time (%s layout)', (layout) => {
  let lk: TestLookout;
  let dir: string;
  beforeEach(async () => {
    lk = await startTestLookout({ now: PINNED_NOW, roles: ['api', 'worker'], env: { LOOKOUT_SERIES_LAYOUT: layout } });
    dir = await mkdtemp(join(tmpdir(), 'lookout-import-'));
  });
  afterEach(async () => lk.cleanup());

  it(layout === 'compact' ? "queues each entity's hours together, so a job holds whole series; stores every value" : "keeps the file's order (an id may move across entities); stores every value", async () => {
    // 300 outlets × 24 hours of yesterday, hour by hour as exports come: 7,200 rows, 4 jobs of 2,000.
    const day = lk.calendar.dayOf(lk.clock.now()) - 1;
    const iso = Calendar.isoDay(day);
    const outlets = Array.from({ length: 300 }, (_, i) => `G${String(i).padStart(4, '0')}`);
    const rows: string[] = [];
    for (let h = 0; h < 24; h++) for (const [i, g] of outlets.entries()) rows.push(`air_recharge,${g},${(i % 7) + h},${iso}T${String(h).padStart(2, '0')}:30:00+08:00,${g}/${iso}T${h}`);
    const file = join(dir, 'hourly.csv');
    await writeFile(file, ['metric,entity,value,ts,id', ...rows, ''].join('\n'));

    const res = await runCli(['import', file], { env: { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: lk.prefix, LOOKOUT_DATA_DIR: dir, LOOKOUT_NOW: PINNED_NOW } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/imported 7200 samples from .* in 4 job\(s\)/);
    await lk.idle();

    // Jobs of one read share a MULTI (flow jobs: ids are not in order); the outlets in each job:
    const entitiesOf = (await lk.queues.samples.getJobs(['completed'])).map((j) => new Set(batchSamples(j.data).map((x) => x.entity)));
    const jobsHolding = outlets.map((g) => entitiesOf.filter((e) => e.has(g)).length);
    if (layout === 'compact') {
      // 2,000 samples are 83⅓ outlets' whole days: an outlet is split between two jobs only at a
      // boundary (outlets 83 and 166), the last job holds the last 50.
      expect(entitiesOf.map((e) => e.size).sort((a, b) => a - b)).toEqual([50, 84, 84, 84]);
      expect(outlets.filter((_, i) => jobsHolding[i] === 2)).toEqual(['G0083', 'G0166']);
    } else {
      // 2,000 rows in file order are 6⅔ hours of all 300 outlets.
      expect(entitiesOf.map((e) => e.size)).toEqual([300, 300, 300, 300]);
    }
    for (const [i, g] of outlets.entries()) {
      if (i % 50) continue;
      expect((await lk.daily(g, 'air_recharge')).get(day), g).toBe(24 * (i % 7) + (23 * 24) / 2);
    }
  });
});

describe('lookout import of a file that is not there', () => {
  it('says so in one line and exits 2, without a stack trace', async () => {
    const res = await runCli(['import', '/nonexistent/samples.csv'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('lookout import: /nonexistent/samples.csv: no such file\n');
  });
});

describe('lookout import beside a running demo', () => {
  it("uses the running deployment's embedded Redis and prefix, and says so; LOOKOUT_PREFIX overrides", async () => {
    const data = await mkdtemp(join(tmpdir(), 'lookout-beside-'));
    const prefix = freshPrefix('lk-demo');
    // What `lookout demo` does at start: embedded Redis under the data dir, its prefix recorded.
    const running = await resolveRedis(undefined, data, pino({ level: 'silent' }), prefix);
    const file = join(data, 'entities.csv');
    await writeFile(file, 'id,kind,name,region,district,manager\nD0001,core_dealer,新乡红旗区核心渠道,R-east,X-hongqi,C001\n');
    const { Redis } = await import('ioredis');
    const redis = new Redis(running.url);
    try {
      const res = await runCli(['import', file], { env: { LOOKOUT_DATA_DIR: data } });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(new RegExp(`^lookout import: using Redis redis://127\\.0\\.0\\.1:\\d+ \\(embedded, recorded in .*\\), prefix "${prefix}" \\(of the Lookout running as pid ${process.pid}; set LOOKOUT_PREFIX to choose another\\)\n$`));
      expect(await redis.hexists(keyspace(prefix).entities, 'D0001')).toBe(1);

      const other = freshPrefix('lk-other');
      const explicit = await runCli(['import', file], { env: { LOOKOUT_DATA_DIR: data, LOOKOUT_PREFIX: other } });
      expect(explicit.code, explicit.stderr).toBe(0);
      expect(explicit.stderr).toContain(`prefix "${other}" (LOOKOUT_PREFIX)`);
      expect(await redis.hexists(keyspace(other).entities, 'D0001')).toBe(1);
    } finally {
      redis.disconnect();
      await running.stop();
    }
    // Once it stops, nothing points at it any more.
    const after = await runCli(['import', file], { env: { LOOKOUT_DATA_DIR: data } });
    expect(after.code).toBe(3);
  });
});
