// What each role opens in a process: the composition root wires only the roles asked for.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestLookout, type TestLookout } from '../support/lookout.js';

describe('roles', () => {
  let lk: TestLookout | undefined;
  afterEach(async () => {
    await lk?.cleanup();
    lk = undefined;
  });

  it('a scheduler-only process runs the day close and campaign reports, no sample worker, notifier or API', async () => {
    lk = await startTestLookout({ roles: ['scheduler'] });
    expect(lk.dayCloser).toBeDefined();
    expect(lk.feedGuard).toBeDefined();
    expect(lk.campaignReporter).toBeDefined();
    expect(lk.crons.list().sort()).toEqual([
      ['lookout-absence-pass', '*/10 * * * *'],
      ['lookout-campaign-reports', lk.config.reportCron],
      ['lookout-campaign-tick', '*/10 * * * *'],
      ['lookout-day-close', lk.config.dayCloseCron],
      ['lookout-halls-ranking', lk.config.rankingCron],
      ['lookout-intraday-pass', '2 * * * *'],
      ['lookout-reminders', '*/10 * * * *'],
    ]);
    expect(lk.evaluator).toBeDefined();
    expect(lk.drainer).toBeUndefined();
    expect(lk.relay).toBeUndefined();
    expect(lk.notifier).toBeUndefined();
    expect((await lk.get('/healthz')).status).toBe(200);
    expect((await lk.get('/api/v1/alerts')).status).toBe(404);
  });

  it("a worker and API process judges, relays and notifies, and runs none of the scheduler's crons", async () => {
    lk = await startTestLookout({ roles: ['worker', 'api'] });
    expect(lk.drainer).toBeDefined();
    expect(lk.relay).toBeDefined();
    expect(lk.notifier).toBeDefined();
    expect(lk.dayCloser).toBeUndefined();
    expect(lk.campaignReporter).toBeUndefined();
    // Only its notifier's periods: the digest tick and the reconciler (LOOKOUT_RECONCILE_INTERVAL_MS).
    expect(lk.crons.list().sort()).toEqual([
      ['lookout-digest-tick', 'every 5000 ms'],
      ['lookout-reconcile', `every ${lk.config.reconcileMs} ms`],
    ]);
    expect((await lk.get('/api/v1/alerts')).status).toBe(200);
  });

  it('an api-only process judges nothing', async () => {
    lk = await startTestLookout({ roles: ['api'] });
    expect(lk.evaluator).toBeUndefined();
    expect(lk.drainer).toBeUndefined();
    expect(lk.dayCloser).toBeUndefined();
    expect((await lk.get('/api/v1/alerts')).status).toBe(200);
  });
});
