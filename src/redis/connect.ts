import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../errors/catalogue.js';

/** A Redis URL fit to print: its credentials replaced by ***. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** A connection suitable for BullMQ workers (blocking commands need maxRetriesPerRequest null). */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, enableAutoPipelining: false });
}

/**
 * Refuse to run on a Redis that may evict keys: an evicted sample or alert is lost silently.
 * A Redis that does not answer within `timeoutMs` fails start-up (connections made by
 * connectRedis retry forever, so the ping alone would wait forever).
 */
export async function checkRedis(redis: Redis | Cluster, timeoutMs = 10_000): Promise<void> {
  let lastError: Error | undefined;
  const onError = (err: Error) => (lastError = err);
  redis.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    const ping = redis.ping();
    ping.catch(() => undefined);
    await Promise.race([
      ping,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(lastError ?? new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new ConfigError('redis_unreachable', `Redis did not answer: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    redis.off('error', onError);
  }
  // On a cluster every master holds a share of the keys: each must refuse to evict.
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    const policy = await evictionPolicy(node);
    if (policy && policy !== 'noeviction') {
      const where = redis instanceof Cluster ? ` on cluster node ${node.options.host}:${node.options.port}` : '';
      throw new ConfigError(
        'redis_policy',
        `Redis maxmemory-policy is "${policy}"${where}; Lookout needs "noeviction" (redis-cli CONFIG SET maxmemory-policy noeviction)`,
      );
    }
  }
}

async function evictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    return res[1];
  } catch {
    // Managed Redis often forbids CONFIG; INFO still tells the policy.
    const info = await redis.info('memory');
    return /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
}

/**
 * REDIS_URL's node URLs: one URL (a standalone Redis, a Sentinel, or any node of a cluster), or
 * several nodes of one cluster, comma-separated.
 */
export function redisUrls(url: string): string[] {
  return url
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

export type RedisMode = 'standalone' | 'cluster';

/** Which kind of Redis a URL names, and which node of REDIS_URL said so. */
export interface RedisModeAnswer {
  readonly mode: RedisMode;
  readonly node: string;
}

/**
 * Ask the nodes of REDIS_URL in turn, until one answers, whether it runs in cluster mode
 * (`INFO cluster`: cluster_enabled:1; where INFO is forbidden, `CLUSTER INFO` answers only on a
 * cluster). Undefined when no node answers within `timeoutMs` each.
 */
export async function detectRedisMode(url: string, timeoutMs = 2000): Promise<RedisModeAnswer | undefined> {
  for (const node of redisUrls(url)) {
    const r = new Redis(node, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, commandTimeout: timeoutMs, enableOfflineQueue: false });
    r.on('error', () => undefined);
    try {
      await r.connect();
    } catch {
      r.disconnect();
      continue;
    }
    try {
      return { mode: (await clusterEnabled(r)) ? 'cluster' : 'standalone', node };
    } catch {
      continue;
    } finally {
      r.disconnect();
    }
  }
  return undefined;
}

async function clusterEnabled(r: Redis): Promise<boolean> {
  try {
    return /^cluster_enabled:1\b/m.test(await r.info('cluster'));
  } catch (err) {
    if (!/NOPERM|unknown command/i.test((err as Error).message)) throw err;
  }
  try {
    await r.cluster('INFO');
    return true;
  } catch {
    // "ERR This instance has cluster support disabled" (or CLUSTER forbidden too): not a cluster.
    return false;
  }
}

export type RedisConnectionKind = 'worker' | 'request';

/**
 * What REDIS_URL names: a Redis Cluster (any node of it, or several comma-separated), or one
 * Redis (also when it does not answer yet: workers wait for it, checkRedis reports). A list of
 * nodes that is not a cluster is refused (redis_unreachable): there is nothing to fall back to.
 */
export async function locateRedis(url: string, timeoutMs?: number): Promise<{ readonly url: string; readonly cluster: boolean }> {
  const urls = redisUrls(url);
  const found = await detectRedisMode(url, timeoutMs);
  if (found?.mode === 'cluster') return { url, cluster: true };
  if (urls.length > 1) {
    throw new ConfigError(
      'redis_unreachable',
      found
        ? `REDIS_URL lists ${urls.length} nodes but ${redactUrl(found.node)} is not in cluster mode: list several nodes only for a Redis Cluster`
        : `no node of REDIS_URL answered (${urls.map(redactUrl).join(', ')})`,
    );
  }
  return { url, cluster: false };
}

/** A connection to a located deployment (locate.ts): an ioredis Cluster when it is one. */
export function connectDeployment(d: { readonly url: string; readonly cluster: boolean }, name: string, kind: RedisConnectionKind = 'worker'): Redis | Cluster {
  if (d.cluster) return connectCluster(redisUrls(d.url), name, kind);
  return kind === 'worker' ? connectRedis(d.url, name) : connectRequestRedis(d.url, name);
}

/** An ioredis Cluster over `urls` (credentials and TLS from the first URL that has them). */
export function connectCluster(urls: readonly string[], name: string, kind: RedisConnectionKind = 'worker', timeoutMs = REQUEST_TIMEOUT_MS): Cluster {
  const parsed = urls.map((u) => new URL(u));
  const auth = parsed.find((u) => u.username || u.password);
  const redisOptions: RedisOptions = {
    connectionName: name,
    ...(auth?.username ? { username: decodeURIComponent(auth.username) } : {}),
    ...(auth?.password ? { password: decodeURIComponent(auth.password) } : {}),
    ...(parsed.some((u) => u.protocol === 'rediss:') ? { tls: {} } : {}),
    ...(kind === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 0, commandTimeout: timeoutMs, connectTimeout: 1000 }),
  };
  const nodes = parsed.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 6379) }));
  return new Cluster(nodes, {
    redisOptions,
    enableAutoPipelining: false,
    ...(kind === 'worker'
      ? {}
      : { enableOfflineQueue: false, clusterRetryStrategy: (times: number) => Math.min(100 * times, 500) }),
  });
}

/** How long a request may wait for Redis before it answers 503 (readiness uses READY_TIMEOUT_MS). */
export const REQUEST_TIMEOUT_MS = 2000;
export const READY_TIMEOUT_MS = 800;

/**
 * A connection for the request path (API reads, ingest, readiness, scrapes): commands fail at
 * once while disconnected and after `commandTimeout` while Redis is silent, so no request waits
 * for Redis to come back. BullMQ workers keep connectRedis (they must wait, not fail).
 */
export function connectRequestRedis(url: string, name: string, timeoutMs = REQUEST_TIMEOUT_MS): Redis {
  return new Redis(url, {
    connectionName: name,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    connectTimeout: 1000,
    // Reconnect quickly so readiness turns green soon after Redis is back.
    retryStrategy: (times) => Math.min(100 * times, 500),
  });
}

/** Wait for a lazily reachable connection to be ready (enableOfflineQueue false refuses commands before). */
export async function waitReady(redis: Redis | Cluster, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new ConfigError('redis_unreachable', `Redis did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** `work`, or a rejection after `ms` (the work may still complete later). */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: Redis did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface OutageEvents {
  /** Redis went away (first failure since it was last up). */
  down(): void;
  /** Redis is back after `seconds` away. */
  up(seconds: number): void;
}

/**
 * Tracks whether Redis is reachable, from connection events and from request-path outcomes (a
 * stopped Redis keeps its socket open, so only failed commands tell).
 */
export class OutageTracker {
  private downSince: number | undefined;
  private stopped = false;
  constructor(
    private readonly events: OutageEvents,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  failed(): void {
    if (this.stopped || this.downSince !== undefined) return;
    this.downSince = this.now();
    this.events.down();
  }

  succeeded(): void {
    if (this.downSince === undefined) return;
    const seconds = (this.now() - this.downSince) / 1000;
    this.downSince = undefined;
    this.events.up(seconds);
  }

  /** Shutting down: closed connections are no outage. */
  stop(): void {
    this.stopped = true;
  }

  /** Follow a connection's events: closed or reconnecting means down, ready means up. */
  watch(redis: Redis | Cluster): void {
    redis.on('close', () => this.failed());
    redis.on('ready', () => this.succeeded());
    // ioredis logs unhandled 'error' events to the console; the tracker and metrics report them.
    redis.on('error', () => undefined);
  }
}
