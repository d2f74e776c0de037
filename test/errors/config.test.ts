// SPEC §3.23: configuration errors fail fast with one clear line naming the variable; the CLI
// exits 2 with that line.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { ensureBuilt, runCli } from '../support/cli.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from '../support/redis.js';

const BAD: readonly (readonly [name: string, value: string])[] = [
  ['LOOKOUT_HTTP_PORT', 'abc'],
  ['LOOKOUT_HTTP_PORT', '70000'],
  ['LOOKOUT_TZ', 'Mars/Base'],
  ['REDIS_URL', 'ftp://x'],
  ['LOOKOUT_RETENTION_DAYS', '3'],
  ['LOOKOUT_PREFIX', 'has spaces'],
  ['LOG_LEVEL', 'loud'],
  ['LOOKOUT_SMS_URL', 'carrier-pigeon://coop'],
  ['LOOKOUT_API_TOKENS', 'operator:short'],
  ['LOOKOUT_APPLY_IN', 'lua'],
];

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it.each(BAD)('%s=%s → one-line ConfigError naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('bad_env');
    expect(err.field).toBe(name);
    expect(err.message.startsWith(`${name}: `)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('never echoes credentials of a bad URL or token', () => {
    expect(configError({ REDIS_URL: 'ftp://admin:hunter2@db:6379' }).message).not.toContain('hunter2');
    expect(configError({ LOOKOUT_API_TOKENS: 'operator:s3cr3t' }).message).not.toContain('s3cr3t');
  });

  it('accepts the documented defaults and returns a frozen config', () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({ httpPort: 8080, timeZone: 'Asia/Shanghai', prefix: 'lookout', retentionDays: 35, smsUrl: 'outbox:', smtpUrl: 'outbox:', applyIn: 'worker' });
    expect(cfg.redisUrl).toBeUndefined();
    expect(Object.isFrozen(cfg)).toBe(true);
  });
});

describe('lookout start with a bad environment', () => {
  beforeAll(ensureBuilt, 180_000);

  it.each(BAD.filter(([n]) => ['LOOKOUT_HTTP_PORT', 'LOOKOUT_TZ', 'REDIS_URL'].includes(n)))('%s=%s exits 2 with that one line', async (name, value) => {
    const res = await runCli(['start'], { env: { [name]: value } });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(`lookout: ${configError({ [name]: value }).message}\n`);
    expect(res.stdout).toBe('');
  });

  it('a bad LOOKOUT_DAY_CLOSE_CRON stops start-up with exit 2 naming it', async () => {
    const prefix = freshPrefix('lk-cron');
    try {
      const res = await runCli(['start', '--role', 'scheduler'], {
        env: { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: prefix, LOOKOUT_DAY_CLOSE_CRON: 'at midnight', LOOKOUT_HTTP_PORT: '0' },
      });
      expect(res.code, res.stderr).toBe(2);
      // Caught by loadConfig, before anything connects to Redis.
      expect(res.stderr).toBe('lookout: LOOKOUT_DAY_CLOSE_CRON: expected a cron expression such as "5 0 * * *", got "at midnight"\n');
    } finally {
      const r = connect();
      await dropPrefix(r, prefix);
      r.disconnect();
    }
  });
});
