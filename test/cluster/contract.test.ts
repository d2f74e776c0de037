// SPEC §4 on a real 3-master Redis Cluster: the contract's cases (replace-by-id included) as on a
// standalone Redis, and bad samples rejected one by one with their codes while the rest is kept.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONTRACT_NOW, contractCases, DEALER } from '../integration/contract-cases.js';
import { startTestLookout, type IngestBody, type TestLookout } from '../support/lookout.js';
import { clusterPerFile } from '../support/cluster-per-file.js';

const cluster = clusterPerFile();

describe('contract on a Redis Cluster: a dealer at 100 for four weeks and 40 for a day', () => {
  let lk: TestLookout;
  beforeEach(async () => {
    // keepKeys: cleanup's key drop talks to the standalone test Redis; each case has its own prefix.
    lk = await startTestLookout({ now: CONTRACT_NOW, env: { REDIS_URL: cluster().nodes[2]!.url }, keepKeys: true });
    expect(lk.keys.cluster).toBe(true);
  });
  afterEach(async () => lk.cleanup());

  contractCases(() => lk);

  it('rejects bad samples one by one with their codes and keeps the good ones', async () => {
    expect((await lk.put('/api/v1/entities', [DEALER])).status).toBe(200);
    const res = await lk.post<IngestBody & { rejected_by_code: Record<string, number> }>('/api/v1/samples', [
      { metric: 'card_opening', entity: 'D0001', value: 7, ts: '2026-11-21T12:00:00+08:00', id: 'a' },
      { metric: 'card_opening', entity: 'D0001', value: -3, ts: '2026-11-21T13:00:00+08:00' },
      { metric: 'no_such_metric', entity: 'D0001', value: 1, ts: '2026-11-21T13:00:00+08:00' },
      { metric: 'card_opening', entity: 'D0001', value: 5, ts: '2026-11-20T12:00:00+08:00', id: 'b' },
    ]);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(2);
    expect(res.body.rejected_by_code).toEqual({ negative_value: 1, unknown_metric: 1 });
    await lk.idle(30_000);
    const daily = await lk.daily('D0001', 'card_opening');
    expect([...daily.values()].sort()).toEqual([5, 7]);
  }, 60_000);
});
