import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set (vitest globalSetup starts a redis-server)');
  return url;
}

/** A fresh key prefix per test, so tests never see each other's keys. */
export function freshPrefix(name = 't'): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

export function connect(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}

/** Delete every key under a prefix (queues and state). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** One connection for the test file and a fresh prefix per test, its keys dropped after it. */
export function redisPerTest(name: string): { readonly redis: Redis; readonly prefix: string } {
  let redis: Redis | undefined;
  let prefix = '';
  beforeAll(() => {
    redis = connect();
  });
  afterAll(() => redis?.disconnect());
  beforeEach(() => {
    prefix = freshPrefix(name);
  });
  afterEach(() => dropPrefix(redis!, prefix));
  return {
    get redis() {
      return redis!;
    },
    get prefix() {
      return prefix;
    },
  };
}
