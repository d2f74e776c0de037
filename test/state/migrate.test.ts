// `lookout migrate` on a Redis filled through the real buckets path: every series read, the live
// judgement and replace-by-id hold under the compact layout afterwards; a killed run resumes; a
// second run changes no byte; Lookout refuses to start compact before the migration.
import { afterEach, describe, expect, it } from 'vitest';
import { metricCatalogue } from '../../src/domain/metric.js';
import { markDirty } from '../../src/state/dirty.js';
import { migrate, migrateKeys, type MigrateOptions } from '../../src/state/migrate.js';
import { runMigrate } from '../../src/migrate/cli.js';
import { isoDays, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { testRedisUrl } from '../support/redis.js';

const NOW = '2026-11-22T09:00:00+08:00';
const DAYS = isoDays('2026-10-24', 29); // … 2026-11-21
const DEALERS = ['D0001', 'D0002', 'D0003', 'D0004', 'D0005'];
const dealer = (id: string) => ({ id, kind: 'core_dealer', name: `核心渠道${id}`, region: 'R-east', district: 'X-hongqi', manager: 'C001', attrs: { monthly_fee: 120, contract_end: '2027-06-30' } });
// complaints without a category are also counted as complaints.other.
const METRICS = ['card_opening', 'complaints', 'complaints.other', 'satisfaction'];

function samples(): unknown[] {
  const out: unknown[] = [];
  for (const [k, e] of DEALERS.entries()) {
    for (const d of DAYS) {
      // Daily export with ids; D0001 drops on the last day (the shipped rule fires).
      out.push({ metric: 'card_opening', entity: e, value: e === 'D0001' && d === '2026-11-21' ? 40 : 100 + k, ts: `${d}T12:00:00+08:00`, id: `${e}/card_opening/${d}` });
      // A gauge with two samples a day, no ids.
      out.push({ metric: 'satisfaction', entity: e, value: 90, ts: `${d}T10:00:00+08:00` }, { metric: 'satisfaction', entity: e, value: 80.5 + k, ts: `${d}T16:00:00+08:00` });
    }
    // An hourly feed over the last three days: ids in some hours, two samples in others.
    for (const d of DAYS.slice(-3)) {
      for (let h = 8; h < 20; h++) {
        const hh = String(h).padStart(2, '0');
        out.push({ metric: 'complaints', entity: e, value: h % 3, ts: `${d}T${hh}:15:00+08:00`, ...(h % 2 ? { id: `${e}/c/${d}/${h}` } : {}) });
        if (h % 4 === 0) out.push({ metric: 'complaints', entity: e, value: 1.25, ts: `${d}T${hh}:45:00+08:00` });
      }
    }
  }
  return out;
}

async function post(lk: TestLookout, body: unknown[]): Promise<void> {
  const res = await lk.post('/api/v1/samples', body);
  expect(res.status).toBe(202);
}

interface Snapshot {
  daily: Record<string, [number, number][]>;
  hourly: Record<string, [number, number][]>;
  alerts: unknown[];
}

async function snapshot(lk: TestLookout): Promise<Snapshot> {
  const out: Snapshot = { daily: {}, hourly: {}, alerts: [] };
  const today = lk.calendar.dayOf(lk.clock.now());
  for (const e of DEALERS) {
    const series = await lk.series.readDailyRange(e, METRICS, { fromDay: today - 40, toDay: today });
    for (const m of METRICS) {
      out.daily[`${e}/${m}`] = [...(series.get(m) ?? [])].sort((a, b) => a[0] - b[0]);
      out.hourly[`${e}/${m}`] = [...(await lk.series.readHourRange(e, m, (today - 10) * 24, today * 24 + 23))];
    }
    for (const a of await lk.alertsOf(e)) out.alerts.push({ rule: a.rule, entity: a.entity, state: a.state, severity: a.severity, value: a.value, baseline: a.baseline, period: a.period });
  }
  return out;
}

/** Every compact key of the prefix and its bytes. */
async function compactBytes(lk: TestLookout): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await lk.redis.scan(cursor, 'MATCH', `${lk.prefix}:{s*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) out.set(k, ((await lk.redis.getBuffer(k)) ?? Buffer.alloc(0)).toString('hex'));
  } while (cursor !== '0');
  return new Map([...out].sort());
}

const opts = (lk: TestLookout, more: Partial<MigrateOptions> = {}): MigrateOptions => ({
  redis: lk.redis,
  keys: lk.keys,
  calendar: lk.calendar,
  metrics: () => metricCatalogue(),
  settings: lk.config,
  now: lk.clock.now(),
  ...more,
});

describe('lookout migrate: buckets → compact', () => {
  const started: TestLookout[] = [];
  afterEach(async () => {
    for (const lk of started.reverse()) await lk.cleanup();
    started.length = 0;
  });

  it('copies every series; the compact Lookout reads, judges and replaces as the buckets one did; resumable; a second run changes nothing', async () => {
    const old = await startTestLookout({ now: NOW, keepKeys: true, env: { LOOKOUT_SERIES_LAYOUT: 'buckets' } });
    started.push(old);
    expect((await old.put('/api/v1/entities', DEALERS.map(dealer))).status).toBe(200);
    await post(old, samples());
    // The export is applied before its correction is sent (two jobs in flight at once may be applied
    // in either order: docs/ingest.md, "Order").
    await old.idle();
    // A corrected export replaces under buckets: the migration copies the replaced value.
    await post(old, [{ metric: 'card_opening', entity: 'D0002', value: 77, ts: '2026-11-20T12:00:00+08:00', id: 'D0002/card_opening/2026-11-20' }]);
    await old.idle();
    const before = await snapshot(old);
    expect(before.alerts).toEqual([expect.objectContaining({ rule: 'core_dealer_card_opening_drop', entity: 'D0001', state: 'firing', value: 40 })]);
    expect(before.daily['D0002/card_opening']!.find(([, v]) => v === 77)).toBeDefined();
    expect(before.hourly['D0003/complaints']!.length).toBe(36);

    // Compact on this Redis before any migration: refused, naming the command.
    await expect(startTestLookout({ now: NOW, prefix: old.prefix, keepKeys: true, env: { LOOKOUT_SERIES_LAYOUT: 'compact' } })).rejects.toThrow(/lookout migrate.*\[migration_needed\]/);

    // Dry run: counts, writes nothing.
    const dry = await migrate(opts(old, { dryRun: true }));
    expect(dry).toMatchObject({ dryRun: true, alreadyDone: false, entities: 5, series: 20 });
    expect((await compactBytes(old)).size).toBe(0);

    // Killed after 2 entities (one per batch), then resumed.
    await expect(migrate(opts(old, { batchSize: 1, failAfterEntities: 2 }))).rejects.toThrow('test hook');
    expect(await old.redis.hget(migrateKeys(old.prefix).progress, 'done')).toBe('2');
    expect(await old.redis.exists(migrateKeys(old.prefix).done)).toBe(0);
    // The list of entities changed since the kill (buckets written meanwhile): the run starts over.
    await old.redis.hset(migrateKeys(old.prefix).progress, 'list', 'another list');
    await expect(migrate(opts(old, { batchSize: 1, failAfterEntities: 1 }))).rejects.toThrow('test hook');
    expect(await old.redis.hget(migrateKeys(old.prefix).progress, 'done')).toBe('1');
    // The same list: it resumes.
    const done = await migrate(opts(old, { batchSize: 1 }));
    expect(done).toMatchObject({ alreadyDone: false, entities: 5, series: 16, resumedFrom: 1, deleted: 0 });
    const bytes = await compactBytes(old);
    expect(bytes.size).toBeGreaterThan(20);

    // Run again: nothing copied, the same bytes. Run again from scratch (marker removed): the same bytes.
    expect(await migrate(opts(old))).toMatchObject({ alreadyDone: true, samples: 0 });
    expect(await compactBytes(old)).toEqual(bytes);
    await old.redis.del(migrateKeys(old.prefix).done);
    expect(await migrate(opts(old))).toMatchObject({ alreadyDone: false, resumedFrom: 0, samples: dry.samples });
    expect(await compactBytes(old)).toEqual(bytes);
    // The old keys are kept (rollback) until --delete-old.
    expect(await old.redis.exists(old.keys.daily('card_opening', old.calendar.dayOf(old.clock.now()) - 1))).toBe(1);
    // Stop the buckets Lookout (keys kept), start a compact one on the same keys.
    started.pop();
    await old.cleanup();
    const oldPrefix = old.prefix;

    const lk = await startTestLookout({ now: NOW, prefix: oldPrefix, env: { LOOKOUT_SERIES_LAYOUT: 'compact' } });
    started.push(lk);
    expect(lk.series.layout).toBe('compact');
    // Every read the same; judged again, the same alerts and no transition.
    expect(await snapshot(lk)).toEqual(before);
    await markDirty(lk.redis, lk.keys, DEALERS);
    await lk.idle();
    expect(await snapshot(lk)).toEqual(before);
    expect(lk.transitions).toEqual([]);

    // A re-sent id within the window replaces (not double counts) and resolves the alert.
    await post(lk, [{ metric: 'card_opening', entity: 'D0001', value: 98, ts: '2026-11-21T12:00:00+08:00', id: 'D0001/card_opening/2026-11-21' }]);
    await lk.idle();
    const today = lk.calendar.dayOf(lk.clock.now());
    expect((await lk.daily('D0001', 'card_opening')).get(today - 1)).toBe(98);
    await waitFor('resolved', async () => (await lk.alertsOf('D0001'))[0]?.state === 'resolved');
    // An hourly id re-sent within the window replaces its hour.
    await post(lk, [{ metric: 'complaints', entity: 'D0003', value: 7, ts: '2026-11-21T09:15:00+08:00', id: 'D0003/c/2026-11-21/9' }]);
    // An id older than the window is refused (id_window_passed), never counted twice.
    await post(lk, [{ metric: 'card_opening', entity: 'D0004', value: 500, ts: '2026-10-30T12:00:00+08:00', id: 'D0004/card_opening/2026-10-30' }]);
    await lk.idle();
    const hours = await lk.series.readHourRange('D0003', 'complaints', (today - 1) * 24, today * 24 - 1);
    expect(hours.get((today - 1) * 24 + 9)).toBe(7);
    expect(hours.get((today - 1) * 24 + 8)).toBe(new Map(before.hourly['D0003/complaints']).get((today - 1) * 24 + 8));
    expect((await lk.daily('D0004', 'card_opening')).get(lk.calendar.dayOf(Date.parse('2026-10-30T12:00:00+08:00')))).toBe(103);

    // --delete-old after the migration: the bucket keys go, the compact ones stay.
    const del = await migrate(opts(lk, { deleteOld: true }));
    expect(del.alreadyDone).toBe(true);
    expect(del.deleted).toBeGreaterThan(0);
    expect(await lk.redis.exists(lk.keys.daily('card_opening', today - 1))).toBe(0);
    expect((await lk.daily('D0001', 'card_opening')).get(today - 1)).toBe(98);
  });

  it('lookout migrate: a summary line, --dry-run writes nothing, a second run says it is done; exit 0', async () => {
    const lk = await startTestLookout({ now: NOW, env: { LOOKOUT_SERIES_LAYOUT: 'buckets' } });
    started.push(lk);
    await post(lk, [{ metric: 'card_opening', entity: 'D0001', value: 5, ts: '2026-11-21T12:00:00+08:00', id: 'x1' }]);
    await lk.idle();
    const run = async (flags: { dryRun?: boolean; deleteOld?: boolean }) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runMigrate({ config: { ...lk.config, now: lk.manualClock.now() }, ...flags, env: { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: lk.prefix }, out: (l) => out.push(l), err: { write: (x: string) => err.push(x) } });
      return { code, out, err: err.join('') };
    };
    const dry = await run({ dryRun: true });
    expect(dry).toMatchObject({ code: 0, out: ['lookout migrate: would copy 1 entities, 1 series, 1 samples into the compact layout'] });
    expect(await lk.redis.exists(migrateKeys(lk.prefix).done)).toBe(0);
    expect(await run({})).toMatchObject({ code: 0, out: ['lookout migrate: copied 1 entities, 1 series, 1 samples into the compact layout; old bucket keys kept (--delete-old removes them)'] });
    const again = await run({ deleteOld: true });
    expect(again.code).toBe(0);
    expect(again.out[0]).toMatch(/^lookout migrate: already migrated \(nothing copied\); deleted \d+ old bucket keys$/);
  });

  it('lookout migrate on a TTY: a progress line; a sample the compact layout refuses stops it with migrate_refused, exit 1, nothing marked done', async () => {
    const lk = await startTestLookout({ now: NOW, env: { LOOKOUT_SERIES_LAYOUT: 'buckets' } });
    started.push(lk);
    // 3,000,000 in one hour: a buckets hour holds it, a compact hourly cell (≤ 2,147,483.647) does not.
    await post(lk, [
      { metric: 'card_opening', entity: 'D0001', value: 5, ts: '2026-11-21T12:00:00+08:00' },
      { metric: 'card_opening', entity: 'D0002', value: 3_000_000, ts: '2026-11-21T12:00:00+08:00' },
    ]);
    await lk.idle();
    const err: string[] = [];
    const out: string[] = [];
    const code = await runMigrate({ config: { ...lk.config, now: lk.manualClock.now() }, batchSize: 1, env: { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: lk.prefix }, out: (l) => out.push(l), err: { isTTY: true, write: (x: string) => err.push(x) } });
    expect(code).toBe(1);
    expect(out).toEqual([]);
    const text = err.join('');
    expect(text).toContain('\rlookout migrate: 1/2 entities');
    expect(text).toMatch(/lookout migrate: the compact layout refused a sample of entity D0002, metric card_opening \(local hour \d+\): value_out_of_range \[migrate_refused\] \(run it again to resume\)\n$/);
    expect(await lk.redis.exists(migrateKeys(lk.prefix).done)).toBe(0);
    expect(await lk.redis.hget(migrateKeys(lk.prefix).progress, 'done')).toBe('1');
  });
});
