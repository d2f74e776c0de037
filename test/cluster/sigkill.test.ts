// A worker killed with SIGKILL in the middle of applying batches, on a real 3-master Redis
// Cluster: every sample whose request got 202 is applied exactly once after another worker takes
// over (the killed worker's active job waits out its short lock and is run again; its chunks
// already applied are skipped).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobType } from 'bullmq';
import { dealer, FOUR_WEEKS } from '../integration/fixtures.js';
import { collect, ensureBuilt, spawnCli } from '../support/cli.js';
import { dailySamples, DEFAULT_NOW, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { freshPrefix } from '../support/redis.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

const DEALERS = 300;
/** Day i of the four weeks carries i + 1: a sample applied twice or lost changes the sum. */
const EXPECTED_SUM = (FOUR_WEEKS.length * (FOUR_WEEKS.length + 1)) / 2;

/** Jobs in the given states, together. */
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

let cluster: RedisCluster;
let lk: TestLookout | undefined;
const workers: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startRedisCluster();
}, 240_000);

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await lk?.cleanup();
  await cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Jobs of both sample queues (`samples`, and `samples-backfill` for jobs with no live sample) in these states. */
async function sampleJobs(lk: TestLookout, ...states: JobType[]): Promise<Record<string, number>> {
  const [a, b] = await Promise.all([lk.queues.samples.getJobCounts(...states), lk.queues.backfill.getJobCounts(...states)]);
  return Object.fromEntries(states.map((st) => [st, (a[st] ?? 0) + (b[st] ?? 0)]));
}

describe('a worker killed mid-batch on a Redis Cluster', () => {
  it('loses nothing and applies nothing twice', async () => {
    const prefix = freshPrefix('kill');
    const env = { REDIS_URL: cluster.nodes[1]!.url, LOOKOUT_PREFIX: prefix, LOOKOUT_BATCH_SIZE: '100' };
    // The API alone: samples wait in the queue until a worker starts.
    lk = await startTestLookout({ prefix, roles: ['api'], env, keepKeys: true });
    const dealers = Array.from({ length: DEALERS }, (_, i) => dealer(`K${String(i).padStart(4, '0')}`));
    expect((await lk.put('/api/v1/entities', dealers)).status).toBe(200);
    let sent = 0;
    for (const d of dealers) {
      const samples = dailySamples(d.id, 'card_opening', FOUR_WEEKS, (_, i) => i + 1);
      const res = await lk.post('/api/v1/samples', samples);
      expect(res.status).toBe(202);
      sent += samples.length;
    }
    expect(total(await sampleJobs(lk, 'waiting', 'prioritized'))).toBeGreaterThan(20);

    const dataDir = mkdtempSync(join(tmpdir(), 'lookout-kill-'));
    dirs.push(dataDir);
    const workerEnv = { ...env, LOOKOUT_HTTP_PORT: '0', LOOKOUT_DATA_DIR: dataDir, LOOKOUT_NOW: DEFAULT_NOW, LOOKOUT_EVAL_DEBOUNCE_MS: '0' };
    const first = spawnCli(['start', '--role', 'worker'], { env: workerEnv });
    workers.push(first);
    const firstExit = collect(first, 120_000);
    // Kill it once it has applied some jobs and is working on more.
    await waitFor('the first worker under way', async () => {
      const done = total(await sampleJobs(lk!, 'completed'));
      return done >= 3 && total(await sampleJobs(lk!, 'active', 'waiting', 'prioritized')) > 0;
    }, 60_000);
    first.kill('SIGKILL');
    expect((await firstExit).signal).toBe('SIGKILL');
    expect(total(await sampleJobs(lk, 'active', 'waiting', 'prioritized'))).toBeGreaterThan(0);

    const second = spawnCli(['start', '--role', 'worker'], { env: workerEnv });
    workers.push(second);
    // The killed worker's active job is taken up once its lock (10 s) expires.
    await waitFor('every job applied', async () => {
      return total(await sampleJobs(lk!, 'active', 'waiting', 'prioritized', 'delayed', 'failed')) === 0;
    }, 90_000);

    let applied = 0;
    const wrong: string[] = [];
    for (const d of dealers) {
      const daily = await lk.daily(d.id, 'card_opening');
      const sum = [...daily.values()].reduce((a, b) => a + b, 0);
      applied += daily.size;
      if (sum !== EXPECTED_SUM) wrong.push(`${d.id}: ${sum}`);
    }
    expect(wrong).toEqual([]);
    expect(applied).toBe(sent);
  }, 200_000);
});
