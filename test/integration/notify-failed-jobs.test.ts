// A job BullMQ gives up on is a promise broken to a person: it must show as a failed notification
// (API, /metrics), never only as a log line.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies } from '../support/org.js';
import { alertId, ingest, metric, notifications, sleep, waitForRecords } from '../support/notify.js';
import { dealer, dealerSeries } from './fixtures.js';

describe('finally failed notify jobs', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;
  beforeEach(async () => {
    smsc = await startSmppPeer();
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir(ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=300`, LOOKOUT_RECONCILE_INTERVAL_MS: '0' },
      policies: policies(FAST_POLICIES),
    });
  });
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
  });

  it('an escalation step that throws on every attempt becomes a failed notification for the contact it owed', async () => {
    await lk.registry.putMany([dealer('D0001')]);
    await ingest(lk, dealerSeries('D0001', 40)); // critical: manager and district head now, region head after 1.5 s
    await smsc.waitFor(2, 5000);
    const id = await alertId(lk, 'D0001');
    // The chain's snapshot becomes unreadable: the region head's step fails on every attempt.
    await lk.redis.hset(lk.keys.escalation(id), 'chain', '{not json');

    const [failed] = await waitForRecords(lk, { state: 'failed', contact: 'RH1' }, 1, 8000);
    expect(failed!.error?.code).toBe('job_failed');
    expect(failed!.items.map((i) => i.alert)).toEqual([id]);
    expect(failed!.items[0]!.step).toBe(1);
    expect(await metric(lk, 'lookout_notify_jobs_failed_total', { queue: 'escalations' })).toBe(1);
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'failed' })).toBe(1);
    expect(smsc.messages.map((m) => m.to)).not.toContain(phone('RH1'));

    // The reconciler's sweep of the failed set finds it already recorded: nothing doubles.
    await lk.notifier!.reconcile();
    await sleep(100);
    expect(await notifications(lk, { state: 'failed' })).toHaveLength(1);
    expect(await metric(lk, 'lookout_notify_jobs_failed_total', { queue: 'escalations' })).toBe(1);
  });

  it('a failed job that no worker recorded is found in the queue’s failed set by the reconciler', async () => {
    await lk.registry.putMany([dealer('D0002')]);
    await ingest(lk, dealerSeries('D0002', 40));
    await smsc.waitFor(2, 5000);
    const id = await alertId(lk, 'D0002');
    await lk.redis.hset(lk.keys.escalation(id), 'chain', '{not json');
    await waitForRecords(lk, { state: 'failed', contact: 'RH1' }, 1, 8000);
    // As if the worker died before its failed handler ran: the record and the marker are gone.
    await lk.redis.del(lk.keys.notifications, lk.keys.notificationsFailed, lk.keys.notificationsByTime, lk.keys.failedJobsSeen);
    expect(await notifications(lk, { state: 'failed' })).toEqual([]);

    const report = await lk.notifier!.reconcile();
    expect(report?.failedJobs).toBe(1);
    const [failed] = await notifications(lk, { state: 'failed' });
    expect(failed).toMatchObject({ contact: 'RH1', error: { code: 'job_failed' } });
    expect(await metric(lk, 'lookout_reconciler_repairs_total', { kind: 'failed_job' })).toBe(1);
  });
});
