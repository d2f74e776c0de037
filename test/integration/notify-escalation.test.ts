// Issue 3 "done when", from outside: a real SMSC (smpp server mode) and a real SMTP server receive
// what Lookout sends; escalation delays are test-scaled (30 min → 1.5 s).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { metricValue, startTestLookout, waitFor, type AlertBody, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies } from '../support/org.js';
import { dealer, dealerSeries } from './fixtures.js';
import { ackCodeOf, escalationCases, ingest, sleep } from './escalation-cases.js';

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

  escalationCases(() => ({ lk, smsc }));

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
