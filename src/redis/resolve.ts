import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded.js';
import { findRunningEmbedded, forgetEmbeddedUrl, forgetPrefix, recordEmbeddedUrl, recordPrefix } from './locate.js';

export interface ResolvedRedis {
  readonly url: string;
  /** Set when this process started the embedded redis-server (and must stop it). */
  readonly embedded?: EmbeddedRedis;
  stop(): Promise<void>;
}

/**
 * REDIS_URL, else an embedded Redis another Lookout process started, else a new embedded one.
 * With `prefix`, it is recorded under dataDir so `lookout import` & co. default to it.
 */
export async function resolveRedis(redisUrl: string | undefined, dataDir: string, logger: Logger, prefix?: string): Promise<ResolvedRedis> {
  const note = (url: string) => {
    if (prefix !== undefined) recordPrefix(dataDir, url, prefix);
  };
  const unnote = async () => {
    if (prefix !== undefined) forgetPrefix(dataDir);
  };
  if (redisUrl) {
    note(redisUrl);
    return { url: redisUrl, stop: unnote };
  }
  const running = await findRunningEmbedded(dataDir);
  if (running) {
    logger.info({ url: running }, 'using the embedded Redis another Lookout process started');
    note(running);
    return { url: running, stop: unnote };
  }
  const embedded = await startEmbeddedRedis(dataDir);
  recordEmbeddedUrl(dataDir, embedded.url);
  note(embedded.url);
  logger.info({ url: embedded.url, dir: `${dataDir}/redis` }, 'started embedded redis-server (AOF on)');
  return {
    url: embedded.url,
    embedded,
    async stop() {
      await embedded.stop();
      forgetEmbeddedUrl(dataDir);
      await unnote();
    },
  };
}

/** Delete every key under `prefix:` (the demo's own namespace) on the Redis at `url`, over a connection of its own. */
export async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
