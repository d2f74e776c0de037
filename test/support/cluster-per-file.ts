// One real 3-master Redis Cluster per test file (test/support/redis-cluster.ts starts it; that
// module stays free of vitest so the benches can start a cluster too).
import { afterAll, beforeAll } from 'vitest';
import { startRedisCluster, type ClusterOptions, type RedisCluster } from './redis-cluster.js';

/** One real cluster for the test file: started before its tests, stopped after them. */
export function clusterPerFile(opts: ClusterOptions = {}): () => RedisCluster {
  let cluster: RedisCluster | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster(opts);
  }, 120_000);
  afterAll(async () => cluster?.stop());
  return () => {
    if (!cluster) throw new Error('the cluster is not started yet (use it inside tests or hooks)');
    return cluster;
  };
}
