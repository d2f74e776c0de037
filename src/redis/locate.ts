// Where this deployment's Redis is: REDIS_URL, or the embedded one recorded under the data dir
// (so `lookout import` and a second `lookout start --role …` find the first one's Redis).

import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function embeddedUrlFile(dataDir: string): string {
  return join(dataDir, 'redis', 'url');
}

export function recordEmbeddedUrl(dataDir: string, url: string): void {
  mkdirSync(join(dataDir, 'redis'), { recursive: true });
  writeFileSync(embeddedUrlFile(dataDir), `${url}\n`);
}

export function forgetEmbeddedUrl(dataDir: string): void {
  rmSync(embeddedUrlFile(dataDir), { force: true });
}

/** The URL of a live embedded Redis under dataDir, if one answers. */
export async function findRunningEmbedded(dataDir: string): Promise<string | undefined> {
  const file = embeddedUrlFile(dataDir);
  if (!existsSync(file)) return undefined;
  const url = readFileSync(file, 'utf8').trim();
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return url;
  } catch {
    return undefined;
  } finally {
    r.disconnect();
  }
}
