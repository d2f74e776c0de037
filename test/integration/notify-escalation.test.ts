// Issue 3 "done when", from outside: a real SMSC (smpp server mode) and a real SMTP server receive
// what Lookout sends; escalation delays are test-scaled (30 min → 1.5 s).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationRecord } from '../../src/domain/notification.js';
import { startSmppPeer, type ReceivedSms, type SmppPeer } from '../support/smpp-peer.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { metricValue, startTestLookout, waitFor, type AlertBody, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies } from '../support/org.js';
import { dealer, dealerSeries } from './fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ingest(lk: TestLookout, samples: unknown[]): Promise<void> {
  const res = await lk.post('/api/v1/samples', samples);
  expect(res.status).toBe(202);
}

interface NotificationsBody {
  readonly notifications: NotificationRecord[];
}

function ackCodeOf(sms: ReceivedSms): string {
  const m = /(?:确认|ACK)\s*(\d{4,6})/.exec(sms.text);
  if (!m) throw new Error(`no ack code in ${JSON.stringify(sms.text)}`);
  return m[1]!;
}

describe('notifier: tiered SMS warnings over SMPP', () => {
  let smsc: SmppPeer;
  let mail: SmtpPeer;
  let lk: TestLookout;

  beforeEach(async () => {
    smsc = await startSmppPeer();
    mail = await startSmtpPeer();
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir(ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=500`, LOOKOUT_SMTP_URL: mail.url },
      policies: policies(FAST_POLICIES),
    });
  });
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
    await mail.close();
  });

  it('a critical drop reaches the manager and district head at once, the region head later, nobody else', async () => {
    await lk.registry.putMany([dealer('D0001')]);
    await ingest(lk, dealerSeries('D0001', 40));
    const first = await smsc.waitFor(2, 5000);
    const t1 = performance.now();
    expect(first.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1')].sort());
    for (const m of first) {
      expect(m.dataCoding).toBe(8); // UCS2: Chinese text
      expect(m.segments).toBe(1);
      expect(m.text).toContain('D0001');
      expect(m.text).toMatch(/严重/);
    }
    expect(ackCodeOf(first[0]!)).toBe(ackCodeOf(first[1]!));

    const third = await smsc.waitFor(3, 5000);
    expect(third[2]!.to).toBe(phone('RH1'));
    expect(performance.now() - t1).toBeGreaterThan(1000);
    // Nobody else: not the other district's head, not the other region's head, and no repeats.
    await sleep(1200);
    expect(smsc.messages.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1'), phone('RH1')].sort());

    const sent = await lk.get<NotificationsBody>('/api/v1/notifications?state=sent&channel=sms');
    expect(sent.status).toBe(200);
    expect(sent.body.notifications.map((n) => n.contact).sort()).toEqual(['C001', 'DH1', 'RH1']);
    expect(sent.body.notifications.find((n) => n.contact === 'RH1')!.items[0]!.step).toBe(1);
  });

  it('replying 确认 <code> from the manager’s phone acknowledges and stops the escalation', async () => {
    await lk.registry.putMany([dealer('D0002')]);
    await ingest(lk, dealerSeries('D0002', 60)); // −40 %: warning; district head after 1 s
    const [sms] = await smsc.waitFor(1, 5000);
    expect(sms!.to).toBe(phone('C001'));
    expect(sms!.text).toMatch(/警告/);
    await smsc.sendMo(phone('C001'), `确认 ${ackCodeOf(sms!)}`);
    const alert = await waitFor('the SMS ack', async () => {
      const a = (await lk.alertsOf('D0002'))[0];
      return a?.state === 'acknowledged' ? a : undefined;
    });
    expect(alert.ack).toMatchObject({ by: 'C001', via: 'sms' });
    await sleep(2500); // past both later steps
    expect(smsc.messages).toHaveLength(1);
    const m = await lk.get('/metrics');
    expect(metricValue(m.body as string, 'lookout_sms_replies_total', { outcome: 'acked' })).toBe(1);
  });

  it('a stranger’s reply is ignored and counted; the escalation goes on', async () => {
    await lk.registry.putMany([dealer('D0003')]);
    await ingest(lk, dealerSeries('D0003', 60));
    const [sms] = await smsc.waitFor(1, 5000);
    await smsc.sendMo('13912345678', `确认 ${ackCodeOf(sms!)}`);
    const second = await smsc.waitFor(2, 5000);
    expect(second[1]!.to).toBe(phone('DH1'));
    expect((await lk.alertsOf('D0003'))[0]!.state).toBe('firing');
    const m = await lk.get('/metrics');
    expect(metricValue(m.body as string, 'lookout_sms_replies_total', { outcome: 'stranger' })).toBe(1);
  });

  it('the API ack and a bare `1` reply both stop escalation', async () => {
    await lk.registry.putMany([dealer('D0004'), dealer('D0005')]);
    await ingest(lk, dealerSeries('D0004', 60));
    await smsc.waitFor(1, 5000);
    const a4 = (await lk.alertsOf('D0004'))[0]!;
    expect((await lk.post<AlertBody>(`/api/v1/alerts/${a4.id}/ack`, { by: 'C001' })).status).toBe(200);
    await ingest(lk, dealerSeries('D0005', 60));
    await smsc.waitFor(2, 5000);
    await smsc.sendMo(`+86${phone('C001')}`, '1');
    await waitFor('the bare reply ack', async () => (await lk.alertsOf('D0005'))[0]?.state === 'acknowledged');
    await sleep(2500);
    expect(smsc.messages.map((m) => m.to)).toEqual([phone('C001'), phone('C001')]);
  });

  it('refuses an entity whose manager is not a contact (nothing stored)', async () => {
    const res = await lk.put<{ error: { code: string; details: { index: number; field: string; message: string }[] } }>('/api/v1/entities', [
      dealer('D0100'),
      { ...dealer('D0101'), manager: 'CM99' },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_entity');
    expect(res.body.error.details).toEqual([{ index: 1, field: 'manager', message: 'manager CM99 is not in contacts.csv' }]);
    expect(await lk.registry.get('D0100')).toBeUndefined();
  });
});
