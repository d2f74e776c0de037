import { Redis } from 'ioredis';
import { ConfigError } from '../errors/catalogue.js';

/** A connection suitable for BullMQ workers (blocking commands need maxRetriesPerRequest null). */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, enableAutoPipelining: false });
}

/**
 * Refuse to run on a Redis that may evict keys: an evicted sample or alert is lost silently.
 * A Redis that does not answer within `timeoutMs` fails start-up (connections made by
 * connectRedis retry forever, so the ping alone would wait forever).
 */
export async function checkRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
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
  let policy: string | undefined;
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = res[1];
  } catch {
    // Managed Redis often forbids CONFIG; INFO still tells the policy.
    const info = await redis.info('memory');
    policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
  if (policy && policy !== 'noeviction') {
    throw new ConfigError(
      'redis_policy',
      `Redis maxmemory-policy is "${policy}"; Lookout needs "noeviction" (redis-cli CONFIG SET maxmemory-policy noeviction)`,
    );
  }
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
export async function waitReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
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
  watch(redis: Redis): void {
    redis.on('close', () => this.failed());
    redis.on('ready', () => this.succeeded());
    // ioredis logs unhandled 'error' events to the console; the tracker and metrics report them.
    redis.on('error', () => undefined);
  }
}
