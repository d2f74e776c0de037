// The escalation chain's cases over a real SMSC (smpp server mode), shared by the standalone
// notifier test (notify-escalation.test.ts) and the Redis Cluster one (test/cluster/escalation.test.ts).
// Escalation delays are test-scaled by FAST_POLICIES (30 min → 1.5 s).
import { expect, it } from 'vitest';
import type { NotificationRecord } from '../../src/domain/notification.js';
import type { ReceivedSms, SmppPeer } from '../support/smpp-peer.js';
import { metricValue, waitFor, type TestLookout } from '../support/lookout.js';
import { phone } from '../support/org.js';
import { dealer, dealerSeries } from './fixtures.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function ingest(lk: TestLookout, samples: unknown[]): Promise<void> {
  const res = await lk.post('/api/v1/samples', samples);
  expect(res.status).toBe(202);
}

export interface NotificationsBody {
  readonly notifications: NotificationRecord[];
}

export function ackCodeOf(sms: ReceivedSms): string {
  const m = /(?:确认|ACK)\s*(\d{4,6})/.exec(sms.text);
  if (!m) throw new Error(`no ack code in ${JSON.stringify(sms.text)}`);
  return m[1]!;
}

export interface EscalationContext {
  readonly lk: TestLookout;
  readonly smsc: SmppPeer;
}

/** Who is told when, and the ack by SMS reply that stops the chain (started before each case by the caller). */
export function escalationCases(ctx: () => EscalationContext): void {
  it('a critical drop reaches the manager and district head at once, the region head later, nobody else', async () => {
    await ctx().lk.registry.putMany([dealer('D0001')]);
    await ingest(ctx().lk, dealerSeries('D0001', 40));
    const first = await ctx().smsc.waitFor(2, 5000);
    const t1 = performance.now();
    expect(first.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1')].sort());
    for (const m of first) {
      expect(m.dataCoding).toBe(8); // UCS2: Chinese text
      expect(m.segments).toBe(1);
      expect(m.text).toContain('D0001');
      expect(m.text).toMatch(/严重/);
    }
    expect(ackCodeOf(first[0]!)).toBe(ackCodeOf(first[1]!));

    const third = await ctx().smsc.waitFor(3, 5000);
    expect(third[2]!.to).toBe(phone('RH1'));
    expect(performance.now() - t1).toBeGreaterThan(1000);
    // Nobody else: not the other district's head, not the other region's head, and no repeats.
    await sleep(1200);
    expect(ctx().smsc.messages.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1'), phone('RH1')].sort());

    const sent = await ctx().lk.get<NotificationsBody>('/api/v1/notifications?state=sent&channel=sms');
    expect(sent.status).toBe(200);
    expect(sent.body.notifications.map((n) => n.contact).sort()).toEqual(['C001', 'DH1', 'RH1']);
    expect(sent.body.notifications.find((n) => n.contact === 'RH1')!.items[0]!.step).toBe(1);
  });

  it('replying 确认 <code> from the manager’s phone acknowledges and stops the escalation', async () => {
    await ctx().lk.registry.putMany([dealer('D0002')]);
    await ingest(ctx().lk, dealerSeries('D0002', 60)); // −40 %: warning; district head after 1 s
    const [sms] = await ctx().smsc.waitFor(1, 5000);
    expect(sms!.to).toBe(phone('C001'));
    expect(sms!.text).toMatch(/警告/);
    await ctx().smsc.sendMo(phone('C001'), `确认 ${ackCodeOf(sms!)}`);
    const alert = await waitFor('the SMS ack', async () => {
      const a = (await ctx().lk.alertsOf('D0002'))[0];
      return a?.state === 'acknowledged' ? a : undefined;
    });
    expect(alert.ack).toMatchObject({ by: 'C001', via: 'sms' });
    await sleep(2500); // past both later steps
    expect(ctx().smsc.messages).toHaveLength(1);
    const m = await ctx().lk.get('/metrics');
    expect(metricValue(m.body as string, 'lookout_sms_replies_total', { outcome: 'acked' })).toBe(1);
  });

}
