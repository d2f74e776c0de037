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
