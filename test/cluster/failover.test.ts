// A master failing over mid-ingest, on a real Redis Cluster of 3 masters with a replica each:
// the master holding the control plane (queues, alerts, dirty set) hands over to its replica
// (CLUSTER FAILOVER) while batches of samples are being posted and applied. Every sample whose
// batch got 202 is applied exactly once; a batch refused while the slot moved (503) is re-sent,
// as a client does, and its ids replace rather than add.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dealer, FOUR_WEEKS } from '../integration/fixtures.js';
import { dailySamples, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { startRedisCluster, type ClusterNode, type RedisCluster } from '../support/redis-cluster.js';

const DEALERS = 120;
const EXPECTED_SUM = (FOUR_WEEKS.length * (FOUR_WEEKS.length + 1)) / 2;

let cluster: RedisCluster;
let lk: TestLookout | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster({ replicas: 1, readyTimeoutMs: 40_000 });
}, 120_000);
afterAll(async () => {
  await lk?.cleanup();
  await cluster?.stop();
});

/** The node serving `slot` as master, and a replica of it (by CLUSTER NODES of any node). */
async function masterAndReplica(slot: number): Promise<{ master: ClusterNode; replica: ClusterNode }> {
  const r = new Redis(cluster.nodes[0]!.url);
  try {
    const lines = ((await r.cluster('NODES')) as string).trim().split('\n').map((l) => l.split(' '));
    const byPort = (addr: string) => cluster.nodes.find((n) => addr.startsWith(`${n.host}:${n.port}@`))!;
    const master = lines.find(
      (f) => f[2]!.includes('master') && f.slice(8).some((range) => {
        const [a, b] = range.split('-').map(Number);
        return slot >= a! && slot <= (b ?? a!);
      }),
    )!;
    const replica = lines.find((f) => f[2]!.includes('slave') && f[3] === master[0]);
    if (!replica) throw new Error(`no replica of ${master[1]} yet`);
    return { master: byPort(master[1]!), replica: byPort(replica[1]!) };
  } finally {
    r.disconnect();
  }
}

describe('a master failing over mid-ingest', () => {
  it('applies every accepted sample exactly once after its replica takes over', async () => {
    lk = await startTestLookout({ env: { REDIS_URL: cluster.nodes[0]!.url, LOOKOUT_BATCH_SIZE: '200' }, keepKeys: true });
    expect(lk.keys.cluster).toBe(true);
    const probe = new Redis(cluster.nodes[0]!.url);
    const slot = (await probe.cluster('KEYSLOT', lk.keys.alerts)) as number;
    probe.disconnect();
    // Replicas attach to their masters shortly after the cluster is created.
    const { master, replica } = await waitFor('a replica of the control master', () => masterAndReplica(slot).catch(() => undefined), 20_000);
    const replicaConn = new Redis(replica.url);
    await waitFor('the replica in sync', async () => /master_link_status:up/.test(await replicaConn.info('replication')), 20_000);

    const dealers = Array.from({ length: DEALERS }, (_, i) => dealer(`F${String(i).padStart(4, '0')}`));
    expect((await lk.put('/api/v1/entities', dealers)).status).toBe(200);
    let refused = 0;
    let failedOver = false;
    for (const [k, d] of dealers.entries()) {
      if (k === DEALERS / 3) {
        // Hand the control plane's master over to its replica while ingest and apply go on.
        await replicaConn.cluster('FAILOVER');
        failedOver = true;
      }
      const samples = dailySamples(d.id, 'card_opening', FOUR_WEEKS, (_, i) => i + 1);
      // A client re-sends a batch that was not accepted (503 while the slot moved).
      await waitFor(`batch of ${d.id} accepted`, async () => {
        const res = await lk!.post('/api/v1/samples', samples);
        if (res.status !== 202) refused++;
        return res.status === 202;
      }, 30_000);
    }
    expect(failedOver).toBe(true);
    await waitFor('the replica promoted', async () => /role:master/.test(await replicaConn.info('replication')), 20_000);
    replicaConn.disconnect();
    await lk.idle(60_000);

    const wrong: string[] = [];
    for (const d of dealers) {
      const daily = await lk.daily(d.id, 'card_opening');
      const sum = [...daily.values()].reduce((a, b) => a + b, 0);
      if (sum !== EXPECTED_SUM || daily.size !== FOUR_WEEKS.length) wrong.push(`${d.id}: ${daily.size} days, Σ ${sum}`);
    }
    expect(wrong, `${refused} batch(es) refused during the failover and re-sent`).toEqual([]);
    // The old master is a replica now; the deployment kept going.
    const old = new Redis(master.url);
    expect(await old.info('replication')).toMatch(/role:slave/);
    old.disconnect();
  }, 180_000);
});
