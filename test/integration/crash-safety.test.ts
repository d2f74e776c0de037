// A worker that dies between applying samples and judging them loses nothing: the dirty mark is
// written with the samples, and a claimed entity carries a lease that runs out.
import { afterEach, describe, expect, it } from 'vitest';
import { nullObserver } from '../../src/observability/events.js';
import { EntityEvaluator } from '../../src/evaluate/live-evaluator.js';
import { SnapshotReader } from '../../src/state/judgement-snapshot.js';
import { EvaluationDrainer } from '../../src/evaluate/drainer.js';
import { DirtySet } from '../../src/state/dirty.js';
import { RegistryCache } from '../../src/state/registry-store.js';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { connect, dropPrefix } from '../support/redis.js';
import { dealer, dealerSeries, LAST_DAY } from './fixtures.js';

const RULE = 'core_dealer_card_opening_drop';

/** An evaluator whose process "dies" mid-evaluation: the claim is taken, the work never finishes. */
class DyingEvaluator extends EntityEvaluator {
  override async evaluate(): Promise<never> {
    throw new Error('worker died mid-evaluation');
  }
}

describe('crash safety', () => {
  const running: TestLookout[] = [];
  const prefixes = new Set<string>();
  afterEach(async () => {
    for (const lk of running.splice(0).reverse()) await lk.cleanup();
    const r = connect();
    for (const p of prefixes) await dropPrefix(r, p);
    r.disconnect();
    prefixes.clear();
  });

  it('an entity marked dirty by a worker that stopped before judging it is judged by the next worker', async () => {
    const first = await startTestLookout({ roles: ['api', 'worker'], keepKeys: true });
    running.push(first);
    prefixes.add(first.prefix);
    await first.registry.putMany([dealer('D0001')]);
    await first.idle();
    // The drainer stops (the process is about to die) while the sample worker still applies.
    await first.drainer!.stop();
    expect((await first.post('/api/v1/samples', dealerSeries('D0001', 40))).status).toBe(202);
    await waitFor('the samples to be applied and D0001 marked dirty', async () => {
      const counts = await first.queues.samples.getJobCounts('waiting', 'active', 'delayed');
      return Object.values(counts).every((n) => n === 0) && (await first.redis.zscore(first.keys.dirty, 'D0001')) !== null;
    });
    expect(await first.alerts.list({})).toEqual([]);
    await first.stop();
    running.pop();

    const second = await startTestLookout({ roles: ['worker'], prefix: first.prefix });
    running.push(second);
    await second.idle();
    const alerts = await second.alertsOf('D0001');
    expect(alerts.map((a) => [a.rule, a.state, a.severity, a.period])).toEqual([[RULE, 'firing', 'critical', LAST_DAY]]);
    expect(second.transitions.map((e) => e.change)).toEqual(['fire']);
  });

  it('a claimed evaluation that never finished is taken again once its lease expires', async () => {
    const lk = await startTestLookout({ roles: ['api'] });
    running.push(lk);
    await lk.registry.putMany([dealer('D0001')]);
    const samples = dealerSeries('D0001', 40).map((s) => ({ ...s, ts: Date.parse(s.ts) }));
    await lk.series.apply('job-1', samples, lk.clock.now());
    expect(await lk.redis.zscore(lk.keys.dirty, 'D0001')).not.toBeNull();

    const cache = new RegistryCache(lk.redis, lk.keys);
    await cache.refresh(true);
    const errors: Error[] = [];
    const drainer = (evaluator: EntityEvaluator, leaseMs: number) =>
      new EvaluationDrainer(new DirtySet(lk.redis, lk.keys), evaluator, cache, lk.clock, (e) => errors.push(e), { leaseMs, debounceMs: 0, loops: 1 });
    const args = [new SnapshotReader(lk.redis, lk.keys, lk.series), lk.series, lk.alerts, cache, lk.ruleSet, lk.calendar, nullObserver] as const;

    const leaseMs = 500;
    const dying = drainer(new DyingEvaluator(...args), leaseMs);
    const claimedAt = performance.now();
    await expect(dying.drainOnce()).rejects.toThrow('worker died');
    expect(await lk.redis.zscore(lk.keys.dirty, 'D0001')).toBeNull();
    expect(await lk.redis.zscore(lk.keys.evaluating, 'D0001')).not.toBeNull();

    // Another worker cannot take it while the lease runs…
    const healthy = drainer(new EntityEvaluator(...args), 60_000);
    expect(await healthy.drainOnce()).toBe(0);
    expect(await lk.alerts.list({})).toEqual([]);

    // …and takes it once the lease has expired.
    await waitFor('the expired lease to be claimed', async () => (await healthy.drainOnce()) > 0, 5_000);
    expect(performance.now() - claimedAt).toBeGreaterThanOrEqual(leaseMs - 50);
    expect(await lk.redis.zcard(lk.keys.evaluating)).toBe(0);
    const alerts = await lk.alertsOf('D0001');
    expect(alerts.map((a) => [a.rule, a.state, a.severity])).toEqual([[RULE, 'firing', 'critical']]);
    expect(errors).toEqual([]);
  });
});
