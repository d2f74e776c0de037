// SPEC §3.21: several workers sharing one Redis give the same results as one; per-entity
// evaluation is atomic (optimistic concurrency on the entity version, src/state/lua.ts).
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord, Verdict } from '../../src/domain/alert.js';
import { partitionsShared } from '../support/partitions.js';
import { nullObserver, type PipelineObserver } from '../../src/observability/events.js';
import { EntityEvaluator, type EvaluationOutcome } from '../../src/evaluate/live-evaluator.js';
import { SnapshotReader } from '../../src/state/judgement-snapshot.js';
import { RedisAlertStore } from '../../src/state/alert-store.js';
import { applyVerdict } from '../../src/domain/lifecycle.js';
import { RegistryCache } from '../../src/state/registry-store.js';
import { metricValue, startTestLookout, type TestLookout } from '../support/lookout.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';
import { dealer, dealerSeries, FOUR_WEEKS } from './fixtures.js';

const DEALERS = Array.from({ length: 30 }, (_, i) => `D${String(i).padStart(4, '0')}`);
/** Critical (40), warning (65) or normal (100) on the last day. */
const lastValue = (i: number) => [40, 65, 100][i % 3]!;

/** Every dealer's 29 days, one batch per day, each batch sent twice (a re-sent export), all at once. */
async function ingestConcurrently(api: TestLookout): Promise<void> {
  const all = DEALERS.flatMap((id, i) => dealerSeries(id, lastValue(i)));
  const batches = FOUR_WEEKS.map((d) => all.filter((s) => s.ts.startsWith(d)));
  const responses = await Promise.all([...batches, ...batches.slice().reverse()].map((b) => api.post('/api/v1/samples', b)));
  expect(responses.map((r) => r.status)).toEqual(responses.map(() => 202));
}

/** What must not depend on how many workers judged: the open alerts and their facts. */
function openState(alerts: readonly AlertRecord[]) {
  return alerts
    .filter((a) => a.state !== 'resolved')
    .map((a) => ({ rule: a.rule, entity: a.entity, state: a.state, severity: a.severity, period: a.period, value: a.value, baseline: a.baseline, notify: a.notify }))
    .sort((a, b) => a.entity.localeCompare(b.entity) || a.rule.localeCompare(b.rule));
}

async function metric(lk: TestLookout, name: string): Promise<number> {
  return metricValue(await lk.metrics.registry.metrics(), name) ?? 0;
}

describe('several workers on one Redis', () => {
  const running: TestLookout[] = [];
  const shared: string[] = [];
  afterEach(async () => {
    // Stop every instance first, then drop the shared prefix (cleanup() of the others keeps it).
    for (const lk of running.splice(0).reverse()) await lk.cleanup();
    const r = connect();
    for (const p of shared.splice(0)) await dropPrefix(r, p);
    r.disconnect();
  });

  async function start(opts: Parameters<typeof startTestLookout>[0]): Promise<TestLookout> {
    const lk = await startTestLookout(opts);
    running.push(lk);
    return lk;
  }

  it('two worker processes reach the single-process result, with each transition published once', async () => {
    // The reference: one process with every role.
    const single = await start({});
    await single.registry.putMany(DEALERS.map((id) => dealer(id)));
    await ingestConcurrently(single);
    await single.idle();
    const expected = openState(await single.alerts.list({}));
    expect(expected.map((a) => [a.entity, a.severity])).toEqual(
      DEALERS.flatMap((id, i) => (lastValue(i) === 40 ? [[id, 'critical']] : lastValue(i) === 65 ? [[id, 'warning']] : [])),
    );

    // The same traffic through an api process and two worker processes sharing a prefix.
    const prefix = freshPrefix('lk-multi');
    shared.push(prefix);
    const api = await start({ roles: ['api'], prefix, keepKeys: true });
    const workers = [await start({ roles: ['worker'], prefix, keepKeys: true }), await start({ roles: ['worker'], prefix, keepKeys: true })];
    // Once they share the backfill partitions (as workers that run before the traffic do): the
    // first one, alone for a tick, would otherwise take every partition's jobs.
    expect(await partitionsShared(api.redis, api.keys, api.config.backfillPartitions, 2)).toBe(true);
    await api.registry.putMany(DEALERS.map((id) => dealer(id)));
    await ingestConcurrently(api);
    await api.idle();
    // The api process does not consume alert events; the workers do.
    for (const w of workers) await w.idle();

    const records = await api.alerts.list({});
    expect(openState(records)).toEqual(expected);

    // Both workers took part.
    for (const w of workers) expect(await metric(w, 'lookout_samples_applied_total')).toBeGreaterThan(0);

    // Every transition of every alert was committed once and consumed once: seq 1..n, no repeats.
    const consumed = workers.flatMap((w) => w.transitions);
    for (const r of records) {
      const seqs = consumed.filter((e) => e.alert.fingerprint === r.fingerprint).map((e) => e.alert.seq);
      expect([r.entity, seqs.sort((a, b) => a - b)]).toEqual([r.entity, Array.from({ length: r.seq }, (_, k) => k + 1)]);
    }
    const jobs = await api.queues.alertEvents.getJobs(['completed', 'waiting', 'active', 'failed']);
    expect(jobs.map((j) => j.id).sort()).toEqual(consumed.map((e) => e.id).sort());
    expect(jobs.every((j) => j.id === `${j.data.alert.fingerprint}-${j.data.alert.seq}`)).toBe(true);
    // A transition committed twice (two workers judging one entity from the same read) would be
    // counted twice here, though the queue's job id dedup would hide it from the notifier.
    let committed = 0;
    for (const w of workers) committed += await metric(w, 'lookout_alert_transitions_total');
    expect(committed).toBe(consumed.length);
  });
});

describe('optimistic concurrency on the entity version', () => {
  let lk: TestLookout;
  afterEach(async () => lk.cleanup());

  const verdict = (severity: Verdict['severity']): Verdict => ({
    rule: 'core_dealer_card_opening_drop',
    entity: 'D0001',
    severity,
    confirmed: true,
    period: '2026-11-21',
    value: 40,
    baseline: 100,
    notify: true,
    summary: '开卡量 40，同期基线 100，下降 60%',
  });

  it('a commit read at a stale version is refused and changes nothing', async () => {
    lk = await startTestLookout({ roles: ['api'] });
    const store = new RedisAlertStore(lk.redis, lk.keys);
    const now = lk.clock.now();
    const fire = applyVerdict(undefined, verdict('critical'), now);
    const read = (await lk.redis.get(lk.keys.version('D0001'))) ?? '0';

    expect(await store.commit([{ entity: 'D0001', version: read, steps: [fire] }], now)).toEqual({ conflicts: [], events: [fire.event] });
    expect(await lk.redis.get(lk.keys.version('D0001'))).not.toBe(read);

    // A second writer that read the same version loses, and its step is not applied.
    const stale = applyVerdict(undefined, verdict('warning'), now + 1);
    expect(await store.commit([{ entity: 'D0001', version: read, steps: [stale] }], now + 1)).toEqual({ conflicts: ['D0001'], events: [] });
    expect(await store.get(fire.record!.id)).toEqual(fire.record);
    expect(await lk.redis.xlen(lk.keys.events)).toBe(1);
  });

  it('two evaluators judging one entity from the same read commit one transition', async () => {
    lk = await startTestLookout({ roles: ['api'] });
    await lk.registry.putMany([dealer('D0001')]);
    await lk.series.apply('job-1', dealerSeries('D0001', 40).map((s) => ({ ...s, ts: Date.parse(s.ts) })), lk.clock.now());
    const cache = new RegistryCache(lk.redis, lk.keys);
    await cache.refresh(true);
    let conflicts = 0;
    const observer: PipelineObserver = { ...nullObserver, entitiesEvaluated: (_n, _s, c) => void (conflicts += c) };
    const evaluator = () => new EntityEvaluator(new SnapshotReader(lk.redis, lk.keys, lk.series), lk.series, new RedisAlertStore(lk.redis, lk.keys), cache, lk.ruleSet, lk.calendar, observer);
    // One connection: both reads are queued before either commit, so the second commit is stale.
    const outcomes: EvaluationOutcome[] = await Promise.all([evaluator().evaluate(['D0001'], lk.clock.now()), evaluator().evaluate(['D0001'], lk.clock.now())]);
    const events = outcomes.flatMap((o) => o.events);
    expect(events.map((e) => [e.change, e.id])).toEqual([['fire', `${events[0]!.alert.fingerprint}-1`]]);
    expect(conflicts).toBe(1);
    expect((await lk.alertsOf('D0001')).map((a) => [a.state, a.seq])).toEqual([['firing', 1]]);
  });
});
