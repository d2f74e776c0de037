// The live evaluator keeps each entity's read plan while the registry and the rules stand still
// (one lookup per entity of every applied job), and plans again once either changes.

import { afterEach, describe, expect, it } from 'vitest';
import { nullObserver } from '../../src/observability/events.js';
import { EntityEvaluator } from '../../src/evaluate/live-evaluator.js';
import { SnapshotReader } from '../../src/state/judgement-snapshot.js';
import { RedisAlertStore } from '../../src/state/alert-store.js';
import { RegistryCache } from '../../src/state/registry-store.js';
import type { RuleSet } from '../../src/domain/rule.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { dealer, outlet } from '../integration/fixtures.js';

let lk: TestLookout | undefined;
afterEach(async () => {
  await lk?.stop();
  lk = undefined;
});

describe('EntityEvaluator.plan', () => {
  it('keeps a plan while nothing changes, and plans again after a registry change or new rules', async () => {
    lk = await startTestLookout({ roles: ['api'] });
    const t = lk;
    await t.registry.putMany([dealer('D1'), outlet('G1')]);
    const cache = new RegistryCache(t.redis, t.keys);
    await cache.refresh(true);
    let rules: RuleSet = t.ruleSet();
    const ev = new EntityEvaluator(new SnapshotReader(t.redis, t.keys, t.series), t.series, new RedisAlertStore(t.redis, t.keys), cache, () => rules, t.calendar, nullObserver);
    const ruleIds = (id: string) => ev.plan(id)?.rules.map((r) => r.id);

    const dealerPlan = ev.plan('D1');
    const outletRules = ruleIds('G1');
    expect(dealerPlan?.entity.kind).toBe('core_dealer');
    expect(ruleIds('D1')).not.toEqual(outletRules);
    expect(ev.plan('D1')).toBe(dealerPlan);
    expect(ev.plan('X9')).toBeNull();

    // D1 becomes a grassroots outlet and X9 is registered: read through the change log (refresh).
    await t.registry.putMany([outlet('D1'), dealer('X9')]);
    expect(await cache.refresh()).toBe(true);
    expect(ev.plan('D1')?.entity.kind).toBe('grassroots');
    expect(ruleIds('D1')).toEqual(outletRules);
    expect(ev.plan('X9')?.entity.kind).toBe('core_dealer');

    // New rules: only the outlets' rules are kept, and the dealer is planned under them (none in scope).
    const outletOnly = new Set(outletRules);
    rules = { ...rules, rules: rules.rules.filter((r) => outletOnly.has(r.id)), hash: `${rules.hash}-outlets` };
    expect(ruleIds('D1')).toEqual(outletRules);
    const x9 = ev.plan('X9');
    expect(x9 === null || x9.rules.every((r) => outletOnly.has(r.id))).toBe(true);
  });
});
