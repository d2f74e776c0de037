// Agreement-expiry reminders and group-customer churn warnings from outside (docs/duties.md): a
// test Lookout with contacts, a real SMSC (SMPP server), the injected clock moved by weeks.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { notifications, sleep } from '../support/notify.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies, type TestContact } from '../support/org.js';
import { startSmppPeer, type ReceivedSms, type SmppPeer } from '../support/smpp-peer.js';
import { dealer } from './fixtures.js';

const DAY = 86_400_000;
const CONTACTS: readonly TestContact[] = [...ORG, { id: 'KM1', role: 'customer_manager', phone: '13800000081', email: 'km1@example.cn' }];

/** The group-customer policy docs/duties.md recommends (first, so it wins over `warning`). */
const WITH_CHURN_POLICY = FAST_POLICIES.replace(
  'escalation:\n',
  `escalation:
  - id: group_customer_churn
    match: {rule: group_customer_churn_warning}
    steps: [{notify: [customer_manager]}]
    resolve_notice: false
`,
);

function ackCodeOf(sms: ReceivedSms): string {
  const m = /确认\s*(\d{4,6})/.exec(sms.text);
  if (!m) throw new Error(`no ack code in ${JSON.stringify(sms.text)}`);
  return m[1]!;
}

describe('reminders over SMPP', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;

  beforeEach(async () => {
    smsc = await startSmppPeer();
    lk = await startTestLookout({
      now: '2026-11-22T09:00:00+08:00',
      env: { LOOKOUT_CONFIG_DIR: orgDir(CONTACTS), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=500` },
      policies: policies(WITH_CHURN_POLICY),
    });
  });
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
  });

  const reminder = async (entity: string) => (await lk.alertsOf(entity)).find((a) => a.rule === 'contract_end_reminder');
  /** Move the clock, then let the scheduler's reminder pass run (it runs every 10 minutes). */
  const later = async (days: number) => {
    lk.manualClock.advance(days * DAY);
    const sent = await lk.duties.reminders.run();
    await lk.idle();
    return sent;
  };

  it('an agreement ending in 20 days reminds the manager once, again a week later, and stops after renewal', async () => {
    const put = await lk.put('/api/v1/entities', [dealer('D0001', { monthly_fee: 120, contract_end: '2026-12-12' })]);
    expect(put.status).toBe(200);
    const [first] = await smsc.waitFor(1, 5000);
    expect(first!.to).toBe(phone('C001'));
    expect(first!.text).toContain('D0001');
    // One segment: the short template (entity, summary, ack code) when the full one is too long.
    expect(first!.text).toContain('合同到期日 2026-12-12，还剩 20 天');
    expect(first!.segments).toBe(1);
    const alert = (await reminder('D0001'))!;
    expect(alert).toMatchObject({ state: 'firing', severity: 'info' });

    // Not yet a week: nothing.
    expect(await later(3)).toEqual([]);
    await sleep(300);
    expect(smsc.messages).toHaveLength(1);

    // A week after it fired: the second reminder, to the manager only, with the same ack code.
    expect(await later(4)).toMatchObject([{ entity: 'D0001', rule: 'contract_end_reminder', reminder: 1, contacts: ['C001'] }]);
    const second = await smsc.waitFor(2, 5000);
    expect(second[1]!.to).toBe(phone('C001'));
    expect(second[1]!.text).toContain('D0001');
    expect(ackCodeOf(second[1]!)).toBe(ackCodeOf(first!));
    // The pass runs every 10 minutes: the same week's reminder is not sent again.
    expect(await later(0.01)).toEqual([]);
    await sleep(300);
    expect(smsc.messages).toHaveLength(2);

    // Renewed: the agreement now ends next year; the reminder resolves (info: no resolve notice).
    expect((await lk.put('/api/v1/entities', [dealer('D0001', { monthly_fee: 120, contract_end: '2027-12-31' })])).status).toBe(200);
    await waitFor('the reminder to resolve', async () => (await reminder('D0001'))?.state === 'resolved');
    expect(await later(7)).toEqual([]);
    expect(await later(7)).toEqual([]);
    await sleep(300);
    expect(smsc.messages).toHaveLength(2);

    const recs = (await notifications(lk, { contact: 'C001', channel: 'sms' })).filter((r) => r.kind === 'alert');
    expect(recs.map((r) => [r.state, r.items[0]!.rule])).toEqual([
      ['sent', 'contract_end_reminder'],
      ['sent', 'contract_end_reminder'],
    ]);
  });

  it('weekly until the date: replying 确认 <code> to a later reminder acknowledges it and the reminders stop', async () => {
    await lk.registry.putMany([dealer('D0002', { monthly_fee: 120, contract_end: '2026-12-21' })]);
    const [first] = await smsc.waitFor(1, 5000);
    await later(7);
    await later(7);
    const three = await smsc.waitFor(3, 5000);
    expect(three.map((m) => m.to)).toEqual([phone('C001'), phone('C001'), phone('C001')]);
    // The code lapsed meanwhile (Redis keeps codes 14 days): the next reminder brings a working one.
    await lk.redis.del(`${lk.prefix}:ackcode:${ackCodeOf(first!)}`);
    await later(7);
    const [, , , fourth] = await smsc.waitFor(4, 5000);
    await smsc.sendMo(phone('C001'), `确认 ${ackCodeOf(fourth!)}`);
    await waitFor('the SMS ack', async () => (await reminder('D0002'))?.state === 'acknowledged');
    expect(await later(7)).toEqual([]);
    await sleep(300);
    expect(smsc.messages).toHaveLength(4);
  });

  it('a contract date that has passed resolves the reminder; no more reminders', async () => {
    await lk.registry.putMany([dealer('D0003', { monthly_fee: 120, contract_end: '2026-11-30' })]);
    await smsc.waitFor(1, 5000);
    lk.manualClock.advance(9 * DAY);
    await lk.dayCloser!.closeDue(); // the day close judges every entity again
    await waitFor('the reminder to resolve', async () => (await reminder('D0003'))?.state === 'resolved');
    expect(await lk.duties.reminders.run()).toEqual([]);
    await sleep(300);
    expect(smsc.messages).toHaveLength(1);
  });

  it('a group customer whose contract ends within 60 days: a churn warning to its customer manager', async () => {
    const customer: Entity = { id: 'K0001', kind: 'group_customer', name: '某集团', region: 'R-east', district: 'X-hongqi', manager: 'KM1', attrs: { contract_end: '2027-01-06' } };
    const far: Entity = { ...customer, id: 'K0002', attrs: { contract_end: '2027-03-01' } };
    expect((await lk.put('/api/v1/entities', [customer, far])).status).toBe(200);
    const [sms] = await smsc.waitFor(1, 5000);
    expect(sms!.to).toBe('13800000081');
    expect(sms!.text).toMatch(/警告/);
    expect(sms!.text).toContain('集团客户离网预警'); // a short name: the full template fits one segment
    expect(sms!.text).toContain('K0001');
    expect(sms!.text).toContain('合同到期日 2027-01-06，还剩 45 天');
    const alerts = await lk.alertsOf('K0001');
    expect(alerts.map((a) => [a.rule, a.severity, a.state])).toEqual([['group_customer_churn_warning', 'warning', 'firing']]);
    expect(await lk.alertsOf('K0002')).toEqual([]);
    await sleep(2500); // past the warning policy's steps: the churn policy notifies the customer manager only
    expect(smsc.messages).toHaveLength(1);
  });
});
