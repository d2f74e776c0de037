// Lookout on a real 3-master Redis Cluster, unchanged: REDIS_URL names one node, Lookout finds
// the rest, keeps its control plane (alerts, queues, dirty set…) in one slot and spreads the
// series over the masters by entity shard.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { Calendar } from '../../src/domain/clock.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { startLookout } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { dealer, dealerSeries } from '../integration/fixtures.js';
import { ensureBuilt, runCli } from '../support/cli.js';
import { startTestLookout, testEnv, type IngestBody, type TestLookout } from '../support/lookout.js';
import { freshPrefix } from '../support/redis.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
let lk: TestLookout | undefined;

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startRedisCluster();
}, 240_000);

afterAll(async () => {
  await lk?.cleanup();
  await cluster?.stop();
});

/** Keys under `prefix` on each master (SCAN of that node alone). */
async function keysPerMaster(prefix: string): Promise<string[][]> {
  const out: string[][] = [];
  for (const node of cluster.nodes) {
    const r = new Redis(node.url);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await r.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    r.disconnect();
    out.push(keys);
  }
  return out;
}

describe('Lookout on a Redis Cluster', () => {
  it('ingests over HTTP, raises the drop alert, keeps the control plane in one slot and the series on every master', async () => {
    lk = await startTestLookout({ env: { REDIS_URL: cluster.nodes[1]!.url }, keepKeys: true });
    expect(lk.keys.cluster).toBe(true);
    expect(lk.config.seriesLayout).toBe('compact');
    const dealers = Array.from({ length: 30 }, (_, i) => dealer(`D${String(i).padStart(4, '0')}`));
    expect((await lk.put('/api/v1/entities', dealers)).status).toBe(200);
    // D0000 drops to 40 on the last day; the others stay at 100.
    const samples = dealers.flatMap((d) => dealerSeries(d.id, d.id === 'D0000' ? 40 : 100));
    const res = await lk.post<IngestBody>('/api/v1/samples', samples);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(samples.length);
    await lk.idle(60_000);

    const firing = (await lk.alerts.list({ state: 'firing' })).map((a) => `${a.rule}:${a.entity}`);
    expect(firing).toEqual(['core_dealer_card_opening_drop:D0000']);
    expect([...(await lk.daily('D0001', 'card_opening')).values()].reduce((a, b) => a + b, 0)).toBe(100 * 29);
    // The door found its worker on the cluster (CLIENT LIST of the queues' master) and queued columns.
    const live = await lk.queues.samples.getJobs(['completed']);
    expect(live.length).toBeGreaterThan(0);
    expect(live.map((j) => j.data.v)).toEqual(live.map(() => 2));

    const perMaster = await keysPerMaster(lk.prefix);
    const series = perMaster.map((keys) => keys.filter((k) => k.startsWith(`${lk!.prefix}:{s`)).length);
    // 30 dealers over 64 shards: every master holds some of their series.
    for (const n of series) expect(n).toBeGreaterThan(0);
    // Everything else (alerts, queues, dirty set, feed counters) sits under the one control tag.
    const control = perMaster.map((keys) => keys.filter((k) => k.startsWith(`{${lk!.prefix}}`)).length);
    expect(control.filter((n) => n > 0)).toHaveLength(1);
    const stray = perMaster.flat().filter((k) => !k.startsWith(`{${lk!.prefix}}`) && !k.startsWith(`${lk!.prefix}:{s`));
    expect(stray).toEqual([]);
  }, 120_000);

  it('`lookout import` finds the cluster from REDIS_URL (a comma list) and feeds the same deployment', async () => {
    const running = lk!;
    const dir = mkdtempSync(join(tmpdir(), 'lookout-cluster-import-'));
    const file = join(dir, 'samples.csv');
    // And 4,800 hourly rows of 200 outlets sorted by time: a read of several jobs, queued in one MULTI.
    const hourly: string[] = [];
    for (let h = 0; h < 24; h++) for (let g = 0; g < 200; g++) hourly.push(`air_recharge,G${g},${g % 5},2026-11-21T${String(h).padStart(2, '0')}:10:00+08:00,G${g}/2026-11-21T${h}`);
    writeFileSync(file, ['metric,entity,value,ts,id', 'card_opening,D0005,55,2026-11-20,D0005/card_opening/2026-11-20', ...hourly, ''].join('\n'));
    const env = { REDIS_URL: `${cluster.nodes[2]!.url},${cluster.nodes[0]!.url}`, LOOKOUT_PREFIX: running.prefix, LOOKOUT_DATA_DIR: dir, LOOKOUT_NOW: '2026-11-22T09:00:00+08:00' };
    const res = await runCli(['import', file], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/using the Redis Cluster of/);
    await running.idle(30_000);
    // The re-sent id replaced the day's 100 (replace-by-id across the CLI and the HTTP API).
    expect((await running.daily('D0005', 'card_opening')).get(Calendar.parseIsoDay('2026-11-20')!)).toBe(55);
    expect(res.stdout).toMatch(/imported 4801 samples .* in 3 job\(s\)/);
    for (const g of [0, 1, 199]) expect((await running.daily(`G${g}`, 'air_recharge')).get(Calendar.parseIsoDay('2026-11-21')!)).toBe(24 * (g % 5));
  }, 120_000);

  it('refuses LOOKOUT_SERIES_LAYOUT=buckets on a cluster with cluster_needs_compact', async () => {
    const config = loadConfig(testEnv(freshPrefix('lkb'), { REDIS_URL: cluster.nodes[0]!.url, LOOKOUT_SERIES_LAYOUT: 'buckets' }));
    const started = startLookout({ config, roles: ['worker'], logger: createLogger({ level: 'silent' }) });
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toMatchObject({ code: 'cluster_needs_compact' });
  }, 60_000);
});
