// LOOKOUT_NOW: the injected "now" any Lookout process honours (tests pin child processes with it).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { appClock } from '../../src/config/now.js';
import { systemClock } from '../../src/domain/clock.js';
import { ConfigError } from '../../src/errors/catalogue.js';

describe('LOOKOUT_NOW', () => {
  it('is parsed in LOOKOUT_TZ and makes the app clock start there and run on', async () => {
    const config = loadConfig({ LOOKOUT_NOW: '2026-12-31T23:59:59', LOOKOUT_TZ: 'Asia/Shanghai' });
    expect(new Date(config.now!).toISOString()).toBe('2026-12-31T15:59:59.000Z');
    const clock = appClock(config);
    const first = clock.now();
    expect(Math.abs(first - config.now!)).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 30));
    expect(clock.now() - first).toBeGreaterThanOrEqual(25);
  });

  it('unset or blank leaves the wall clock', () => {
    expect(appClock(loadConfig({}))).toBe(systemClock);
    expect(loadConfig({ LOOKOUT_NOW: '  ' }).now).toBeUndefined();
  });

  it('refuses a value that is not a date with bad_env naming the variable', () => {
    let err: unknown;
    try {
      loadConfig({ LOOKOUT_NOW: 'yesterday' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('bad_env');
    expect((err as ConfigError).message).toContain('LOOKOUT_NOW "yesterday"');
  });
});
