// /metrics of a real Lookout passes `promtool check metrics` (promtool ships with prometheus).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLookout, type TestLookout } from '../support/lookout.js';

describe('promtool check metrics', () => {
  let lk: TestLookout;
  beforeAll(async () => {
    lk = await startTestLookout();
  });
  afterAll(async () => lk.cleanup());

  it('accepts the exposition served at /metrics, default Node.js metrics included', async () => {
    const res = await lk.get<string>('/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^lookout_nodejs_eventloop_lag_seconds /m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
    expect(check.error, 'promtool missing: scripts/ensure.sh prometheus').toBeUndefined();
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });
});
