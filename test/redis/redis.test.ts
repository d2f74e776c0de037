// SPEC §3.20: the embedded redis-server (AOF on, under the data dir), the noeviction check, and
// clear errors when Redis is missing or does not answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/catalogue.js';
import { checkRedis, connectRedis } from '../../src/redis/connect.js';
import { AOF_REWRITE_PERCENTAGE, redisServerEnv, startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { ensureBuilt, freePort, runCli } from '../support/cli.js';
import { testRedisUrl } from '../support/redis.js';

const tempDir = (name: string) => mkdtempSync(join(tmpdir(), `lookout-${name}-`));

async function configGet(r: Redis, name: string): Promise<string | undefined> {
  return ((await r.config('GET', name)) as string[])[1];
}

/** A ConfigError's code, or the error itself when it is something else. */
async function errorCode(work: Promise<unknown>): Promise<string | unknown> {
  try {
    await work;
  } catch (err) {
    return err instanceof ConfigError ? err.code : err;
  }
  return 'no error';
}

describe('startEmbeddedRedis', () => {
  let embedded: EmbeddedRedis | undefined;
  afterEach(async () => embedded?.stop());

  it('runs redis-server with AOF and noeviction under <dir>/redis, and stops it', async () => {
    const dir = tempDir('embedded');
    embedded = await startEmbeddedRedis(dir);
    const r = new Redis(embedded.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    r.on('error', () => undefined);
    await r.connect();
    expect(await configGet(r, 'appendonly')).toBe('yes');
    // Rewritten once grown 4 times its base, not at each doubling (a backfill writes about the dataset's size).
    expect(await configGet(r, 'auto-aof-rewrite-percentage')).toBe(String(AOF_REWRITE_PERCENTAGE));
    expect(await configGet(r, 'auto-aof-rewrite-min-size')).toBe(String(256 * 1024 * 1024));
    expect(await configGet(r, 'dir')).toBe(resolve(dir, 'redis'));
    expect(await configGet(r, 'maxmemory-policy')).toBe('noeviction');
    await r.set('lookout-test', '1');
    await checkRedis(r);
    // The append-only files live under the data dir (Redis 7: appendonlydir/, older: *.aof).
    const files = readdirSync(join(dir, 'redis'));
    expect(files.some((f) => f === 'appendonlydir' || f.endsWith('.aof')), files.join(', ')).toBe(true);

    await embedded.stop();
    embedded = undefined;
    await expect(r.ping()).rejects.toThrow();
    r.disconnect();
  });

  it('without a redis-server binary: redis_missing, with the install hint', async () => {
    const path = process.env.PATH;
    process.env.PATH = tempDir('empty-path');
    try {
      const err = await startEmbeddedRedis(tempDir('embedded')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('redis_missing');
      expect((err as ConfigError).message).toMatch(/apt-get install -y redis-server/);
      expect((err as ConfigError).message).toMatch(/REDIS_URL/);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('checkRedis', () => {
  let lru: ChildProcess | undefined;
  afterEach(() => {
    lru?.kill('SIGKILL');
    lru = undefined;
  });

  it('accepts the test Redis (noeviction)', async () => {
    const r = connectRedis(testRedisUrl(), 'lookout-test');
    await expect(checkRedis(r)).resolves.toBeUndefined();
    r.disconnect();
  });

  it('refuses a Redis whose maxmemory-policy is allkeys-lru (redis_policy)', async () => {
    const port = await freePort();
    lru = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore', env: redisServerEnv() });
    const r = connectRedis(`redis://127.0.0.1:${port}`, 'lookout-test');
    try {
      // Retrying connections wait for the server to come up.
      expect(await errorCode(checkRedis(r))).toBe('redis_policy');
      await expect(checkRedis(r)).rejects.toThrow(/"allkeys-lru".*noeviction/);
    } finally {
      r.disconnect();
    }
  });

  it('gives up on a Redis that does not answer (redis_unreachable) instead of waiting forever', async () => {
    const port = await freePort(); // nothing listens there
    const r = connectRedis(`redis://127.0.0.1:${port}`, 'lookout-test');
    try {
      const started = performance.now();
      const err = await checkRedis(r, 500).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe('redis_unreachable');
      expect((err as ConfigError).message).toMatch(/ECONNREFUSED/);
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      r.disconnect();
    }
  });
});

describe('lookout start without Redis', () => {
  beforeAll(ensureBuilt, 180_000);

  it('exits 2 with the install hint when no redis-server is on PATH and REDIS_URL is unset', async () => {
    const data = tempDir('data');
    const res = await runCli(['start'], {
      exactEnv: { PATH: tempDir('empty-path'), HOME: tmpdir(), LOOKOUT_DATA_DIR: data, LOOKOUT_CONFIG_DIR: tempDir('cfg'), LOOKOUT_HTTP_PORT: '0', LOG_LEVEL: 'warn' },
    });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/^lookout: no redis-server found and REDIS_URL is not set: .*apt-get install -y redis-server/);
    expect(existsSync(join(data, 'redis', 'url'))).toBe(false);
  });
});
