// The demo's injected "now": accepted forms, and a clear coded error for anything else.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTruth, parseDemoNow } from '../../src/demo/run.js';
import { Calendar } from '../../src/domain/clock.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { ensureBuilt, runCli } from '../support/cli.js';

const shanghai = new Calendar('Asia/Shanghai');

describe('parseDemoNow', () => {
  it.each([
    ['2026-11-23T10:00:00+08:00', '2026-11-23T02:00:00.000Z'],
    ['2026-11-23T02:00:00Z', '2026-11-23T02:00:00.000Z'],
    ['2026-11-23T23:30', '2026-11-23T15:30:00.000Z'], // no offset: local to LOOKOUT_TZ
    ['2026-11-23', '2026-11-23T02:00:00.000Z'], // a bare date: 10:00 local
    ['2027-01-01T00:00:00.500+0800', '2026-12-31T16:00:00.500Z'],
  ])('%s → %s', (raw, iso) => {
    expect(new Date(parseDemoNow(raw, shanghai, '--now')).toISOString()).toBe(iso);
  });

  it.each(['yesterday', '2026-02-30', '2026-11-23T25:00', '1700000000000', '23/11/2026', ''])('refuses %j with bad_env', (raw) => {
    let err: unknown;
    try {
      parseDemoNow(raw, shanghai, '--now');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('bad_env');
    expect((err as ConfigError).message).toContain(`--now "${raw}"`);
  });
});

describe('compareTruth', () => {
  it('names what was injected without paging and what paged without being injected', () => {
    expect(compareTruth(['D1', 'G2', 'C3'], ['D1', 'C3', 'C3'])).toEqual({ missed: ['G2'], extra: [] });
    expect(compareTruth(['D1'], ['D1', 'D9', 'G0'])).toEqual({ missed: [], extra: ['D9', 'G0'] });
    expect(compareTruth(['D1', 'D2'], ['D2', 'D1'])).toEqual({ missed: [], extra: [] });
  });
});

describe('lookout demo --now with a bad value', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lookout-demo-now-'));
  beforeAll(async () => {
    await ensureBuilt();
  }, 130_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('exits 2 with one coded line and no stack, before starting anything', async () => {
    const res = await runCli(['demo', '--fast', '--now', 'next tuesday'], { env: { LOOKOUT_DATA_DIR: dataDir, NO_COLOR: '1' } });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe('lookout demo: --now "next tuesday" is not an ISO-8601 date or date-time (e.g. 2026-11-23T10:00:00+08:00) [bad_env]\n');
  });

  it('names LOOKOUT_DEMO_NOW when the environment carries the bad value', async () => {
    const res = await runCli(['demo', '--fast'], { env: { LOOKOUT_DATA_DIR: dataDir, LOOKOUT_DEMO_NOW: '2026-13-01', NO_COLOR: '1' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^lookout demo: LOOKOUT_DEMO_NOW "2026-13-01" is not an ISO-8601 .+ \[bad_env\]\n$/);
  });
});
