// Hot reload (SIGHUP or a folder change): the whole new set validates before it swaps in; a broken
// file keeps the previous rules running and shows in metrics and logs.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metricValue, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { ROOT } from '../support/cli.js';
import { dealer, dealerSeries } from './fixtures.js';

const EXTRA_RULE = `rules:
  - id: dealer_basic_business_low
    name: 核心渠道基础业务量偏低
    kind: threshold
    metric: basic_business
    scope: {kind: core_dealer}
    window: 1
    agg: sum
    direction: below
    levels:
      - {severity: warning, at: 5}
`;

describe('hot reload of rules and policies', () => {
  let rulesDir: string;
  let lk: TestLookout;
  beforeEach(() => {
    rulesDir = mkdtempSync(join(tmpdir(), 'lookout-rules-'));
    for (const f of ['core-dealers.yaml', 'policies.yaml']) cpSync(join(ROOT, 'rules', f), join(rulesDir, f));
  });
  afterEach(async () => {
    await lk?.cleanup();
    rmSync(rulesDir, { recursive: true, force: true });
  });

  const metricsText = async () => (await lk.get<string>('/metrics')).body;

  it('a valid new rule file swaps in and entities are judged under it', async () => {
    lk = await startTestLookout({ env: { LOOKOUT_RULES_DIR: rulesDir } });
    const shipped = lk.ruleSet().rules.map((r) => r.id);
    expect(shipped).toContain('core_dealer_card_opening_drop');
    const before = /lookout_config_info\{rules="(\w+)"/.exec(await metricsText())?.[1];
    await lk.registry.putMany([dealer('D0001')]);
    await lk.post('/api/v1/samples', [{ metric: 'basic_business', entity: 'D0001', value: 2, ts: '2026-11-21T12:00:00+08:00' }]);
    await lk.idle();
    expect(await lk.alertsOf('D0001')).toEqual([]);

    writeFileSync(join(rulesDir, 'extra.yaml'), EXTRA_RULE);
    expect(await lk.reload()).toEqual({ ok: true, errors: [] });
    expect(lk.ruleSet().rules.map((r) => r.id).sort()).toEqual([...shipped, 'dealer_basic_business_low'].sort());
    await lk.idle();
    expect((await lk.alertsOf('D0001')).map((a) => [a.rule, a.state])).toEqual([['dealer_basic_business_low', 'firing']]);
    const text = await metricsText();
    expect(metricValue(text, 'lookout_config_reloads_total', { outcome: 'ok' })).toBe(1);
    expect(metricValue(text, 'lookout_rules_loaded')).toBe(shipped.length + 1);
    expect(/lookout_config_info\{rules="(\w+)"/.exec(text)?.[1]).not.toBe(before);
  });

  it('a broken file keeps the previous rules running, and says so in metrics', async () => {
    lk = await startTestLookout({ env: { LOOKOUT_RULES_DIR: rulesDir } });
    writeFileSync(join(rulesDir, 'broken.yaml'), 'rules:\n  - id: x\n    kind: change\n    metric: card_opening\n    levels: nope\n');
    writeFileSync(join(rulesDir, 'policies.yaml'), 'escalation:\n  - id: w\n    steps:\n      - {after: soon, notify: [manager]}\n');
    const res = await lk.reload();
    expect(res.ok).toBe(false);
    expect(res.errors.some((e) => e.includes('broken.yaml:'))).toBe(true);
    expect(res.errors.some((e) => e.includes('policies.yaml:') && e.endsWith('[bad_policy]'))).toBe(true);
    // The old rules still judge: a dealer's drop still fires.
    expect(lk.ruleSet().rules.map((r) => r.id)).not.toContain('x');
    expect(lk.ruleSet().rules.map((r) => r.id)).toContain('core_dealer_card_opening_drop');
    expect(lk.policies().escalation.map((p) => p.id)).toContain('warning');
    await lk.registry.putMany([dealer('D0002')]);
    await lk.post('/api/v1/samples', dealerSeries('D0002', 40));
    await lk.idle();
    expect((await lk.alertsOf('D0002'))[0]).toMatchObject({ rule: 'core_dealer_card_opening_drop', state: 'firing' });
    expect(metricValue(await metricsText(), 'lookout_config_reloads_total', { outcome: 'error' })).toBe(1);
  });

  it('watches the rules folder: an edit reloads by itself', async () => {
    lk = await startTestLookout({ env: { LOOKOUT_RULES_DIR: rulesDir }, watch: true });
    const before = lk.ruleSet().rules.length;
    writeFileSync(join(rulesDir, 'extra.yaml'), EXTRA_RULE);
    await waitFor('the reload after the edit', async () => lk.ruleSet().rules.length === before + 1, 5000);
  });
});
