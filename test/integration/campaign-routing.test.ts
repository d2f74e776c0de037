// Complaint routing (docs/campaigns.md) from outside: a billing complaint surge on a live
// campaign reaches the business support centre's lead (dept_lead scope billing) by SMS and
// email, saying which department leads — and not the network lead. A real SMSC (smpp server
// mode) and a real SMTP server receive what Lookout sends.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smsSegments } from '../../src/notify/render.js';
import { isoDays, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { ingest, notifications, sleep } from '../support/notify.js';
import { ORG, orgDir, policies, type TestContact } from '../support/org.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { campaign } from './fixtures.js';

/** The shipped campaign chains (complaint_lead in the first step), test-scaled. */
const ROUTED = `
escalation:
  - id: campaign_critical
    match: {kind: campaign, severity: critical}
    steps:
      - notify: [service_oncall, campaign_owner, complaint_lead]
      - {after: 1h, notify: [dept_lead:marketing]}
  - id: campaign
    match: {kind: campaign}
    steps:
      - notify: [service_oncall, campaign_owner, complaint_lead]
inhibit:
  - source: {severity: critical}
    target: {severity: warning}
    equal: [entity]
notify:
  group_wait: 150ms
  retry: {attempts: 3, backoff: 100ms}
`;

const LEADS: TestContact[] = [
  { id: 'DLN', role: 'dept_lead', scope: 'network', phone: '13800000061', email: 'dln@example.cn', channels: 'sms;email' },
  { id: 'DLB', role: 'dept_lead', scope: 'billing', phone: '13800000062', email: 'dlb@example.cn', channels: 'sms;email' },
  { id: 'DLC', role: 'dept_lead', scope: 'customer_service', phone: '13800000063', email: 'dlc@example.cn', channels: 'sms;email' },
];

function complaints(entity: string, days: readonly string[], perDay: (day: string) => Record<string, number>) {
  return days.flatMap((d) =>
    Object.entries(perDay(d)).map(([category, value]) => ({ metric: 'complaints', entity, value, ts: `${d}T12:00:00+08:00`, id: `${entity}/complaints/${d}/${category}`, labels: { category } })),
  );
}

describe('complaint routing', () => {
  let smsc: SmppPeer;
  let mail: SmtpPeer;
  let lk: TestLookout;

  beforeEach(async () => {
    smsc = await startSmppPeer();
    mail = await startSmtpPeer();
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir([...ORG, ...LEADS]), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=300`, LOOKOUT_SMTP_URL: mail.url },
      policies: policies(ROUTED),
    });
  });
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
    await mail.close();
  });

  it('a billing complaint surge reaches the business support lead, saying so, and not the network lead', async () => {
    await lk.registry.putMany([campaign('C001', { start: '2026-11-01', end: '2026-11-30', target_customers: 100_000 })]);
    // Ordinary days: ~10 complaints, mostly network. 2026-11-21: 150, of which 100 billing (15 per 10k: critical).
    await ingest(lk, complaints('C001', isoDays('2026-11-01', 20), () => ({ network: 6, billing: 2, service: 2 })));
    await ingest(lk, complaints('C001', ['2026-11-21'], () => ({ billing: 100, network: 30, promotion: 20 })));

    const toLead = await waitFor('the business support lead’s email', async () => mail.messages.find((m) => m.to.includes('dlb@example.cn')), 8000);
    expect(toLead.subject).toContain('C001');
    expect(toLead.text).toContain('主责：业务支撑中心（计费类投诉 67%）');
    expect(toLead.html).toContain('主责：业务支撑中心（计费类投诉 67%）');
    const sms = await waitFor('the business support lead’s SMS', async () => smsc.messages.find((m) => m.to === '13800000062'), 8000);
    expect(sms.text).toMatch(/^【营销案预警·严重】C001 /);
    expect(sms.text).toContain('主责业务支撑中心');
    expect(smsSegments(sms.text)).toBe(1);

    // The service on-call and the owner hear it too, with the lead named; the other leads do not.
    await waitFor('the on-call and owner emails', async () => ['so1@example.cn', 'co1@example.cn'].every((a) => mail.messages.some((m) => m.to.includes(a))), 8000);
    for (const m of mail.messages.filter((x) => x.to.includes('so1@example.cn') || x.to.includes('co1@example.cn'))) expect(m.text).toContain('主责：业务支撑中心');
    await lk.idle();
    await sleep(400);
    expect(mail.messages.some((m) => m.to.includes('dln@example.cn') || m.to.includes('dlc@example.cn'))).toBe(false);
    expect(smsc.messages.map((m) => m.to)).not.toContain('13800000061');
    expect(smsc.messages.map((m) => m.to)).not.toContain('13800000063');
    // (The spike warning of the same campaign is inhibited by the critical rate alert: recorded as muted.)
    const records = (await notifications(lk, { contact: 'DLB' })).filter((r) => r.state !== 'muted');
    expect(records.map((r) => [r.channel, r.state, r.items[0]?.rule]).sort()).toEqual([
      ['email', 'sent', 'campaign_complaint_rate'],
      ['sms', 'sent', 'campaign_complaint_rate'],
    ]);
    expect(await notifications(lk, { state: 'failed' })).toEqual([]);
  });

  it('a network surge goes to the network management centre; no lead is named for non-complaint campaigns alerts', async () => {
    await lk.registry.putMany([campaign('C002', { start: '2026-11-01', end: '2026-11-30', target_customers: 100_000 })]);
    await ingest(lk, complaints('C002', isoDays('2026-11-01', 20), () => ({ billing: 5 })));
    await ingest(lk, complaints('C002', ['2026-11-21'], () => ({ network: 90, billing: 10 })));
    const sms = await waitFor('the network lead’s SMS', async () => smsc.messages.find((m) => m.to === '13800000061'), 8000);
    expect(sms.text).toContain('主责网管中心');
    await lk.idle();
    await sleep(400);
    expect(smsc.messages.map((m) => m.to)).not.toContain('13800000062');
  });
});
