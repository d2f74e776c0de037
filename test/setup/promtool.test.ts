// /metrics of a real Lookout passes `promtool check metrics` (promtool ships with prometheus).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { ingest } from '../support/notify.js';
import { dealer, dealerSeries } from '../integration/fixtures.js';

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

  it('the series of a firing alert carry the entity name and district, still pass promtool, and go when it resolves', async () => {
    await lk.registry.putMany([{ ...dealer('D0001'), name: '红旗区 "旗舰" 店\\一', region: '新乡', district: '红旗区' }]);
    await ingest(lk, dealerSeries('D0001', 40));
    const firing = /^lookout_alert_firing\{[^}]*entity="D0001"[^}]*\} 1$/m;
    const body = await waitFor('the firing series', async () => {
      const text = (await lk.get<string>('/metrics')).body;
      return firing.test(text) && text;
    });
    const line = firing.exec(body)![0];
    expect(line).toContain('entity_name="红旗区 \\"旗舰\\" 店\\\\一"');
    expect(line).toContain('district="红旗区"');
    expect(line).toContain('region="新乡"');
    expect(body).toMatch(/^lookout_alert_measure\{[^}]*entity_name="红旗区 [^}]*district="红旗区"[^}]*\} 60$/m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);

    await ingest(lk, dealerSeries('D0001', 100));
    await waitFor('the series gone', async () => !/entity="D0001"/.test((await lk.get<string>('/metrics')).body));
  });
});
