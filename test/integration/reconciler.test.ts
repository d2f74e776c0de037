// The notify reconciler, from outside: a real SMSC receives what Lookout sends. It repairs what a
// crash leaves behind — a due escalation step whose job vanished, an SMS left `sending`, a
// receipt that came before its message's record, an SMS whose receipt never came.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.js';
import { REPEAT_MARKER } from '../../src/notify/repeat-marker.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { connect } from '../support/redis.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies } from '../support/org.js';
import { alertId, ingest, managerOnly, metric, notifications, sleep, waitForRecords } from '../support/notify.js';
import { dealer, dealerSeries } from './fixtures.js';

describe('notify reconciler', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;
  let conn: Redis | undefined;
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
    conn?.disconnect();
  });

  async function start(yaml: string): Promise<void> {
    smsc = await startSmppPeer();
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir(ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=300`, LOOKOUT_RECONCILE_INTERVAL_MS: '0' },
      policies: policies(yaml),
    });
  }

  it('re-creates a due escalation step whose job vanished; the contact gets exactly one SMS', async () => {
    await start(FAST_POLICIES);
    await lk.registry.putMany([dealer('D0001')]);
    await ingest(lk, dealerSeries('D0001', 40)); // critical: manager and district head now, region head after 1.5 s
    await smsc.waitFor(2, 5000);
    const fp = await alertId(lk, 'D0001');
    const token = (await lk.redis.hget(lk.keys.escalation(fp), 'token'))!;
    conn = connect();
    const steps = new Queue(QUEUES.escalations, { connection: conn, prefix: lk.prefix });
    expect(await steps.remove(lk.notifier!.escalator.stepJobId(fp, token, 1))).toBe(1);
    await sleep(2000);
    expect(smsc.messages.map((m) => m.to)).not.toContain(phone('RH1'));

    // Not due yet by the injected clock: nothing to repair.
    expect((await lk.notifier!.reconcile())?.steps).toBe(0);
    lk.manualClock.set(lk.manualClock.now() + 10_000);
    expect((await lk.notifier!.reconcile())?.steps).toBe(1);
    const [, , third] = await smsc.waitFor(3, 5000);
    expect(third!.to).toBe(phone('RH1'));
    expect((await lk.notifier!.reconcile())?.steps).toBe(0);
    await sleep(500);
    expect(smsc.messages.filter((m) => m.to === phone('RH1'))).toHaveLength(1);
    expect(await metric(lk, 'lookout_reconciler_repairs_total', { kind: 'step' })).toBe(1);
    await steps.close();
  });

  it('an SMS left `sending` by a crash is re-sent once, marked 【重发】, counted; never a third time', async () => {
    await start(managerOnly('  group_wait: 100ms\n  retry: {attempts: 3, backoff: 100ms}'));
    await lk.registry.putMany([dealer('D0002')]);
    await ingest(lk, dealerSeries('D0002', 40));
    const [first] = await smsc.waitFor(1, 5000);
    const [rec] = await waitForRecords(lk, { state: 'sent', contact: 'C001' });
    // The crash: the SMSC took it, the process died before the answer was recorded.
    const t0 = lk.manualClock.now();
    await lk.notifications.update(rec!.id, { state: 'sending', sendingAt: t0, providerIds: [], sentAt: undefined }, t0);
    expect((await lk.notifier!.reconcile())?.resent).toBe(0); // inside the send window: maybe still in flight

    lk.manualClock.set(t0 + 3 * 60_000);
    expect((await lk.notifier!.reconcile())?.resent).toBe(1);
    const [, again] = await smsc.waitFor(2, 5000);
    expect(again!.to).toBe(phone('C001'));
    expect(again!.text.startsWith(REPEAT_MARKER)).toBe(true);
    expect(again!.segments).toBe(first!.segments);
    const after = await waitFor('the re-sent record', async () => {
      const r = await lk.notifications.get(rec!.id);
      return r?.state === 'sent' ? r : undefined;
    });
    expect(after.resentAfterCrash).toBe(true);
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'resent_after_crash' })).toBe(1);

    // A second crash inside the window of the repeat: never sent a third time.
    const t1 = lk.manualClock.now();
    await lk.notifications.update(rec!.id, { state: 'sending', sendingAt: t1 }, t1);
    lk.manualClock.set(t1 + 3 * 60_000);
    expect((await lk.notifier!.reconcile())?.resent).toBe(1);
    await waitFor('receipt_unknown', async () => (await lk.notifications.get(rec!.id))?.state === 'receipt_unknown');
    await sleep(300);
    expect(smsc.messages).toHaveLength(2);
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'resent_after_crash' })).toBe(1);
  });

  it('a receipt that arrives before its message is kept and applied when the message is recorded', async () => {
    await start(managerOnly('  group_wait: 100ms'));
    await waitFor('the SMPP bind', async () => smsc.boundSessions() > 0);
    await smsc.sendReceipt('M000001', 'DELIVRD'); // the id the peer gives its first message
    await waitFor('the kept receipt', async () => (await lk.redis.hexists(lk.keys.receiptsKept, 'M000001')) === 1, 8000);

    await lk.registry.putMany([dealer('D0003')]);
    await ingest(lk, dealerSeries('D0003', 40));
    const [sms] = await smsc.waitFor(1, 5000);
    expect(sms!.messageIds).toEqual(['M000001']);
    const [rec] = await waitForRecords(lk, { state: 'delivered', contact: 'C001' });
    expect(rec!.receipts.map((r) => r.providerId)).toEqual(['M000001']);
    expect(await lk.redis.hexists(lk.keys.receiptsKept, 'M000001')).toBe(0);
  });

  it('a sent SMS with no receipt after LOOKOUT_RECEIPT_TIMEOUT_HOURS becomes receipt_unknown', async () => {
    await start(managerOnly('  group_wait: 100ms'));
    await lk.registry.putMany([dealer('D0004')]);
    await ingest(lk, dealerSeries('D0004', 40));
    await smsc.waitFor(1, 5000);
    const [rec] = await waitForRecords(lk, { state: 'sent', contact: 'C001' });
    lk.manualClock.set(lk.manualClock.now() + 47 * 3_600_000);
    expect((await lk.notifier!.reconcile())?.receiptUnknown).toBe(0);
    lk.manualClock.set(lk.manualClock.now() + 2 * 3_600_000);
    expect((await lk.notifier!.reconcile())?.receiptUnknown).toBe(1);
    expect((await notifications(lk, { state: 'receipt_unknown' })).map((r) => r.id)).toEqual([rec!.id]);
    expect(await metric(lk, 'lookout_reconciler_repairs_total', { kind: 'receipt_unknown' })).toBe(1);
  });
});
