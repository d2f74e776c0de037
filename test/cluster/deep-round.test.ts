// A deep round of group commit on a real 3-master Redis Cluster (docs/ingest.md "Group commit"): a
// worker holding a backfill applies its jobs together, so one round may mark well over 100,000
// entities dirty. Passed as one spread call that overflowed the stack on a cluster ("Maximum call
// stack size exceeded"): every job of the round failed, was retried, and went job by job.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sample } from '../../src/domain/sample.js';
import { clusterPerFile } from '../support/cluster-per-file.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';

const cluster = clusterPerFile();
const ENTITIES = 130_000;

describe('a deep round on a Redis Cluster', () => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout({ env: { REDIS_URL: cluster().urls, LOOKOUT_SERIES_LAYOUT: 'compact' }, roles: ['api'] });
    expect(lk.keys.cluster).toBe(true);
  });
  afterEach(async () => lk.cleanup());

  it('applies two jobs of 130,000 entities together: every value stored once, every entity marked dirty once', async () => {
    const ts = Date.parse('2026-11-10T12:00:00+08:00');
    const job = (from: number, to: number): Sample[] =>
      Array.from({ length: to - from }, (_, i) => ({ metric: 'card_opening', entity: `E${from + i}`, value: 3, ts, id: `E${from + i}/d` }));
    expect(lk.series.joinsJobs).toBe(true);
    const [a, b] = await lk.series.applyJobs([{ jobId: 'backfill:a', samples: job(0, ENTITIES / 2) }, { jobId: 'backfill:b', samples: job(ENTITIES / 2, ENTITIES) }], lk.clock.now());
    expect([a!.chunks, b!.chunks]).toEqual([a!.chunks + a!.skippedChunks, b!.chunks + b!.skippedChunks]);
    expect(a!.chunks).toBeGreaterThan(0);
    expect(await lk.redis.zcard(lk.keys.dirty)).toBe(ENTITIES);
    for (const e of ['E0', `E${ENTITIES / 2}`, `E${ENTITIES - 1}`]) expect([...(await lk.daily(e, 'card_opening')).values()]).toEqual([3]);
  }, 120_000);
});
