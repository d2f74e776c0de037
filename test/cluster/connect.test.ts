// Issue 11: REDIS_URL may name any node of a Redis Cluster, or list several; the connection
// module detects cluster mode itself and hands out an ioredis Cluster. Standalone and Sentinel
// URLs get what they got before.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/catalogue.js';
import { checkRedis, connectCluster, connectDeployment, detectRedisMode, locateRedis, redisUrls, waitReady } from '../../src/redis/connect.js';
import { freePort, redisServerEnv } from '../../src/redis/embedded.js';
import { ensureBuilt, runCli } from '../support/cli.js';
import { testRedisUrl } from '../support/redis.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
const opened: (Redis | Cluster)[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  for (const c of opened) c.disconnect();
  await cluster?.stop();
});

/** What `lookout start` opens for REDIS_URL: locateRedis, then connectDeployment. */
async function openRedis(url: string, name: string, kind: 'worker' | 'request' = 'worker'): Promise<Redis | Cluster> {
  return connectDeployment(await locateRedis(url), name, kind);
}

async function open(url: string, kind: 'worker' | 'request' = 'worker'): Promise<Redis | Cluster> {
  const c = await openRedis(url, 'lookout-test', kind);
  opened.push(c);
  return c;
}

/** A Redis Sentinel (redis-server --sentinel) watching nothing: it answers PING and INFO. */
async function startSentinel(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-sentinel-'));
  const port = await freePort();
  writeFileSync(join(dir, 'sentinel.conf'), `port ${port}\nbind 127.0.0.1\ndir ${dir}\n`);
  const env = redisServerEnv();
  const child: ChildProcess = spawn('redis-server', [join(dir, 'sentinel.conf'), '--sentinel'], { env, stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    const up = await r.connect().then(() => r.ping()).then(() => true, () => false);
    r.disconnect();
    if (up) break;
    if (Date.now() > deadline) throw new Error('redis-server --sentinel did not start');
    await new Promise((res) => setTimeout(res, 50));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((res) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          res();
        });
        child.kill('SIGTERM');
      }),
  };
}

describe('redisUrls', () => {
  it('splits a comma-separated REDIS_URL into node URLs, ignoring spaces and empty items', () => {
    expect(redisUrls('redis://a:7000')).toEqual(['redis://a:7000']);
    expect(redisUrls('redis://a:7000, redis://b:7001,,redis://:pw@c:7002 ')).toEqual(['redis://a:7000', 'redis://b:7001', 'redis://:pw@c:7002']);
  });
});

describe('detectRedisMode', () => {
  it('says cluster for any one node of the cluster, and for the list of all of them', async () => {
    for (const node of cluster.nodes) expect(await detectRedisMode(node.url)).toEqual({ mode: 'cluster', node: node.url });
    expect(await detectRedisMode(cluster.urls)).toEqual({ mode: 'cluster', node: cluster.nodes[0]!.url });
  });

  it('asks the first node that answers: dead nodes before a live one are skipped', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const live = cluster.nodes[2]!.url;
    expect(await detectRedisMode(`${dead},${live}`)).toEqual({ mode: 'cluster', node: live });
  });

  it('says standalone for a standalone Redis and for a Sentinel, and nothing when no node answers', async () => {
    expect(await detectRedisMode(testRedisUrl())).toEqual({ mode: 'standalone', node: testRedisUrl() });
    const sentinel = await startSentinel();
    try {
      expect(await detectRedisMode(sentinel.url)).toEqual({ mode: 'standalone', node: sentinel.url });
    } finally {
      await sentinel.stop();
    }
    expect(await detectRedisMode(`redis://127.0.0.1:${await freePort()}`)).toBeUndefined();
  });
});

describe('locateRedis and connectDeployment', () => {
  it('returns a Cluster for one node of a cluster, whose keys land on all three masters', async () => {
    const c = await open(cluster.nodes[1]!.url);
    expect(c).toBeInstanceOf(Cluster);
    const cl = c as Cluster;
    await Promise.all(Array.from({ length: 600 }, (_, i) => cl.set(`open:k:${i}`, String(i))));
    expect(await cl.get('open:k:599')).toBe('599');
    const masters = cl.nodes('master');
    expect(masters.map((m) => m.options.port).sort()).toEqual(cluster.nodes.map((n) => n.port).sort());
    const counts = await Promise.all(masters.map((m) => m.keys('open:k:*').then((k) => k.length)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(600);
    for (const n of counts) expect(n).toBeGreaterThan(100);
    // Every node connection carries the name Lookout gave it.
    for (const m of masters) expect(await m.client('GETNAME')).toBe('lookout-test');
  });

  it('returns a Cluster for a comma-separated list, and the noeviction check covers every master', async () => {
    const c = await open(cluster.urls);
    expect(c).toBeInstanceOf(Cluster);
    await expect(checkRedis(c)).resolves.toBeUndefined();
    const third = new Redis(cluster.nodes[2]!.url);
    try {
      await third.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const err = await checkRedis(c).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('redis_policy');
      expect((err as Error).message).toContain(`cluster node 127.0.0.1:${cluster.nodes[2]!.port}`);
    } finally {
      await third.config('SET', 'maxmemory-policy', 'noeviction');
      third.disconnect();
    }
  });

  it('a request connection on a cluster fails fast instead of queueing while offline', async () => {
    const c = await open(cluster.nodes[0]!.url, 'request');
    expect(c).toBeInstanceOf(Cluster);
    const cl = c as Cluster;
    expect(cl.options.enableOfflineQueue).toBe(false);
    expect(cl.options.redisOptions?.maxRetriesPerRequest).toBe(0);
    await waitReady(cl);
    expect(await cl.ping()).toBe('PONG');
  });

  it('returns a plain Redis for a standalone URL, as connectRedis / connectRequestRedis did', async () => {
    const worker = await open(testRedisUrl());
    expect(worker).toBeInstanceOf(Redis);
    expect(worker).not.toBeInstanceOf(Cluster);
    expect((worker as Redis).options.maxRetriesPerRequest).toBeNull();
    const request = await open(testRedisUrl(), 'request');
    expect(request).toBeInstanceOf(Redis);
    expect((request as Redis).options.enableOfflineQueue).toBe(false);
    await waitReady(request);
    expect(await request.ping()).toBe('PONG');
  });

  it('a single URL that does not answer yet still gets its waiting connection; a list of which no node answers is redis_unreachable', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const lonely = await open(dead);
    expect(lonely).toBeInstanceOf(Redis);
    lonely.disconnect();
    const err = await openRedis(`${dead},redis://127.0.0.1:${await freePort()}`, 'lookout-test').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('redis_unreachable');
  });

  it('several standalone URLs are refused: a list names a cluster only', async () => {
    await expect(openRedis(`${testRedisUrl()},${testRedisUrl()}`, 'lookout-test')).rejects.toThrow(/not in cluster mode/);
  });
});

describe('connectCluster', () => {
  it('takes credentials and TLS from the URLs, never from the host list alone', () => {
    const c = connectCluster(['redis://127.0.0.1:7000', 'rediss://user:p%40ss@127.0.0.1:7001'], 'lookout-test');
    try {
      expect(c.options.redisOptions).toMatchObject({ username: 'user', password: 'p@ss', tls: {}, connectionName: 'lookout-test', maxRetriesPerRequest: null });
    } finally {
      c.disconnect();
    }
  });
});

describe('lookout start on a cluster', () => {
  beforeAll(ensureBuilt, 180_000);

  it('refuses LOOKOUT_SERIES_LAYOUT=buckets on a cluster with cluster_needs_compact (exit 2, one line), not left to fail key by key with MOVED', async () => {
    const res = await runCli(['start'], {
      env: { REDIS_URL: cluster.nodes[1]!.url, LOOKOUT_SERIES_LAYOUT: 'buckets', LOOKOUT_HTTP_PORT: '0', LOOKOUT_DATA_DIR: mkdtempSync(join(tmpdir(), 'lookout-cluster-start-')) },
      timeoutMs: 60_000,
    });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/^lookout: REDIS_URL names a Redis Cluster and LOOKOUT_SERIES_LAYOUT=buckets/m);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).not.toMatch(/\n\s+at /); // one line, no stack trace
  }, 90_000);
});
