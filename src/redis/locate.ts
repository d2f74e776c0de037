// Where this deployment's Redis is: REDIS_URL, or the embedded one recorded under the data dir
// (so `lookout import` and a second `lookout start --role …` find the first one's Redis), and
// which key prefix the running deployment uses (so commands beside `lookout demo` see its data).

import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { clusterPrefix } from '../state/keys.js';
import { detectRedisMode, redactUrl } from './connect.js';


export function embeddedUrlFile(dataDir: string): string {
  return join(dataDir, 'redis', 'url');
}

export function prefixFile(dataDir: string): string {
  return join(dataDir, 'redis', 'prefix.json');
}

export function recordEmbeddedUrl(dataDir: string, url: string): void {
  mkdirSync(join(dataDir, 'redis'), { recursive: true });
  writeFileSync(embeddedUrlFile(dataDir), `${url}\n`);
}

export function forgetEmbeddedUrl(dataDir: string): void {
  rmSync(embeddedUrlFile(dataDir), { force: true });
}

interface PrefixRecord {
  readonly prefix: string;
  readonly url: string;
  readonly pid: number;
}

/** Note the prefix a running process uses on `url`; other commands default to it. */
export function recordPrefix(dataDir: string, url: string, prefix: string): void {
  mkdirSync(join(dataDir, 'redis'), { recursive: true });
  writeFileSync(prefixFile(dataDir), `${JSON.stringify({ prefix, url, pid: process.pid } satisfies PrefixRecord)}\n`);
}

/** Remove this process's prefix record (another process's record stays). */
export function forgetPrefix(dataDir: string): void {
  const rec = readPrefix(dataDir);
  if (rec?.pid === process.pid) rmSync(prefixFile(dataDir), { force: true });
}

function readPrefix(dataDir: string): PrefixRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(prefixFile(dataDir), 'utf8')) as Partial<PrefixRecord>;
    if (typeof rec.prefix === 'string' && typeof rec.url === 'string' && typeof rec.pid === 'number') return rec as PrefixRecord;
  } catch {
    // No record, or a torn one: no running deployment to follow.
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Does a Redis answer at `url` within a second? */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** The URL of a live embedded Redis under dataDir, if one answers. */
export async function findRunningEmbedded(dataDir: string): Promise<string | undefined> {
  const file = embeddedUrlFile(dataDir);
  if (!existsSync(file)) return undefined;
  const url = readFileSync(file, 'utf8').trim();
  return (await redisAnswers(url)) ? url : undefined;
}

export interface Deployment {
  readonly url: string;
  /** The prefix its keys and queues begin with: LOOKOUT_PREFIX, hash-tagged on a cluster (clusterPrefix). */
  readonly prefix: string;
  /** REDIS_URL names a Redis Cluster (connectDeployment opens an ioredis Cluster). */
  readonly cluster: boolean;
  /** One line for the user: which Redis and prefix, and why (credentials redacted). */
  readonly describe: string;
}

export type DeploymentLookup = { readonly ok: true; readonly deployment: Deployment } | { readonly ok: false; readonly message: string };

/**
 * The Redis and prefix a command beside a running Lookout should use: REDIS_URL or the recorded
 * embedded Redis; LOOKOUT_PREFIX when set, else the prefix a live process on that Redis recorded
 * (`lookout demo` uses "demo"), else the configured default.
 */
export async function locateDeployment(cfg: { readonly redisUrl?: string; readonly dataDir: string; readonly prefix: string }, env: Readonly<Record<string, string | undefined>>): Promise<DeploymentLookup> {
  const url = cfg.redisUrl ?? (await findRunningEmbedded(cfg.dataDir));
  if (!url) {
    return { ok: false, message: `no Lookout Redis found: set REDIS_URL, or start Lookout first (lookout start or lookout demo) so its embedded Redis is recorded under ${join(cfg.dataDir, 'redis')}` };
  }
  const mode = cfg.redisUrl ? await detectRedisMode(url, 3000) : { mode: 'standalone' };
  if (!mode) return { ok: false, message: `Redis at ${redactUrl(url)} (REDIS_URL) does not answer` };
  const cluster = mode.mode === 'cluster';
  const where = cfg.redisUrl ? 'REDIS_URL' : `embedded, recorded in ${embeddedUrlFile(cfg.dataDir)}`;
  let prefix = cfg.prefix;
  let why = env.LOOKOUT_PREFIX ? 'LOOKOUT_PREFIX' : 'default';
  if (!env.LOOKOUT_PREFIX) {
    const rec = readPrefix(cfg.dataDir);
    if (rec && rec.url === url && alive(rec.pid)) {
      prefix = rec.prefix;
      why = `of the Lookout running as pid ${rec.pid}; set LOOKOUT_PREFIX to choose another`;
    }
  }
  const describe = `using ${cluster ? 'the Redis Cluster of' : 'Redis'} ${redactUrl(url)} (${where}), prefix "${prefix}" (${why})`;
  return { ok: true, deployment: { url, prefix: cluster ? clusterPrefix(prefix) : prefix, cluster, describe } };
}
