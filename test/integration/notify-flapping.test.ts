// Noise the notifier must not turn into SMS: a flapping alert (fires, resolves, fires …) and a
// backfill (history re-imported, alerts about days long past).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { isoDays, metricValue, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies } from '../support/org.js';
import { dealer, dealerSeries } from './fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('notifier: flapping and backfills', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;
  beforeEach(async () => {
    smsc = await startSmppPeer();
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir(ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=500` },
      policies: policies(`${FAST_POLICIES.replace('group_wait: 150ms', 'group_wait: 50ms')}  flapping: {window: 2h, max_fires: 2}\n`),
    });
    await lk.registry.putMany([dealer('D0001')]);
  });
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
  });

  const toManager = () => smsc.messages.filter((m) => m.to === phone('C001') && !m.text.includes('恢复'));

  it('pages the first fires of a flapping alert, then records the rest without paging', async () => {
    for (let round = 1; round <= 4; round++) {
      // The same export id corrected back and forth: 40 (critical) ↔ 100 (normal).
      await lk.post('/api/v1/samples', dealerSeries('D0001', 40));
      await lk.idle();
      await lk.post('/api/v1/samples', dealerSeries('D0001', 100));
      await lk.idle();
    }
    const alert = (await lk.alertsOf('D0001'))[0]!;
    expect(alert.episode).toBe(4);
    await sleep(300);
    expect(toManager()).toHaveLength(2);
    const m = await lk.get('/metrics');
    expect(metricValue(m.body as string, 'lookout_notifications_total', { outcome: 'damped' })).toBe(2);
  });

  it('does not page for alerts about days older than stale_days (a re-imported history)', async () => {
    // The export stopped on 2026-11-19 (a drop that day), three days before the clock's today.
    const days = isoDays('2026-10-22', 29);
    await lk.post('/api/v1/samples', days.map((d) => ({ ...dealerSeries('D0001', 100, [d])[0]!, value: d === '2026-11-19' ? 30 : 100 })));
    await waitFor('the backfilled alert', async () => (await lk.alertsOf('D0001')).some((a) => a.period === '2026-11-19' && a.state === 'firing'));
    await lk.idle();
    await sleep(300);
    expect(smsc.messages).toEqual([]);
    const m = await lk.get('/metrics');
    expect(metricValue(m.body as string, 'lookout_notifications_total', { outcome: 'stale' })).toBeGreaterThanOrEqual(1);
  });
});
