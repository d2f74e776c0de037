// The daily implementation monitoring report (实施监测报告, docs/campaigns.md) from outside: at 09:00 the
// scheduler's report run emails yesterday's figures of every live campaign to its owner and the
// service department (on-call and the customer service lead), to a real SMTP server — once, even
// when the run repeats or a second scheduler runs it too. The same report is served by the API.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { campaignReportsNow } from '../../src/campaigns/index.js';
import { Calendar } from '../../src/domain/clock.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';
import { isoDays, startTestLookout, waitFor, type AlertsBody, type TestLookout } from '../support/lookout.js';
import { ingest, notifications, sleep } from '../support/notify.js';
import { ORG, orgDir, policies, type TestContact } from '../support/org.js';
import { startSmtpPeer, type SmtpPeer, type ReceivedMail } from '../support/smtp-peer.js';
import { campaign } from './fixtures.js';

const POLICIES = `
escalation:
  - id: campaign
    match: {kind: campaign}
    steps:
      - notify: [service_oncall, campaign_owner, complaint_lead]
notify:
  group_wait: 100ms
  retry: {attempts: 3, backoff: 100ms}
`;

const LEADS: TestContact[] = [
  { id: 'DLB', role: 'dept_lead', scope: 'billing', email: 'dlb@example.cn' },
  { id: 'DLC', role: 'dept_lead', scope: 'customer_service', email: 'dlc@example.cn' },
];

const isReport = (m: ReceivedMail) => m.subject.startsWith('【营销案实施监测日报】');

function seed(entity: string) {
  const days = isoDays('2026-11-01', 21); // 11-01 … 11-21
  return days.flatMap((d, i) => {
    const last = d === '2026-11-21';
    const at = `${d}T12:00:00+08:00`;
    const cats: Record<string, number> = last ? { billing: 100, network: 30, promotion: 20 } : { network: 6, service: 4 };
    return [
      { metric: 'enrollments', entity, value: last ? 1200 : 1000 + i, ts: at, id: `${entity}/enrollments/${d}` },
      { metric: 'unsubscribes', entity, value: last ? 45 : 5, ts: at, id: `${entity}/unsubscribes/${d}` },
      ...Object.entries(cats).map(([category, value]) => ({ metric: 'complaints', entity, value, ts: at, id: `${entity}/complaints/${d}/${category}`, labels: { category } })),
    ];
  });
}

describe.each(SERIES_LAYOUTS)('daily implementation monitoring report (%s series layout)', (layout) => {
  let mail: SmtpPeer;
  let lk: TestLookout;
  let second: TestLookout | undefined;
  let configDir: string;

  beforeEach(async () => {
    mail = await startSmtpPeer();
    configDir = orgDir([...ORG, ...LEADS]);
    // The surge is seen on 2026-11-21 at 15:00 (today's running count).
    lk = await startTestLookout({ now: '2026-11-21T15:00:00+08:00', env: { LOOKOUT_SERIES_LAYOUT: layout, LOOKOUT_CONFIG_DIR: configDir, LOOKOUT_SMTP_URL: mail.url }, policies: policies(POLICIES) });
  });
  afterEach(async () => {
    await second?.cleanup();
    second = undefined;
    await lk.cleanup();
    await mail.close();
  });

  it('09:00: yesterday’s figures, the 7-day trend, complaint categories and the alerts with their ack times, once per recipient', async () => {
    await lk.registry.putMany([
      campaign('C001', { start: '2026-11-01', end: '2026-11-30', target_customers: 100_000 }),
      campaign('C009', { start: '2026-12-01', end: '2026-12-31', target_customers: 100_000 }), // not live yet: no report
    ]);
    await ingest(lk, seed('C001'));
    await lk.idle();
    const [alert] = (await lk.get<AlertsBody>('/api/v1/alerts?entity=C001&rule=campaign_complaint_rate')).body.alerts;
    expect(alert).toMatchObject({ state: 'firing', severity: 'critical', period: '2026-11-21' });
    // The on-call acknowledges 12 minutes later.
    lk.manualClock.advance(12 * 60_000);
    expect((await lk.post(`/api/v1/alerts/${alert!.id}/ack`, { by: 'SO1' })).status).toBe(200);
    await lk.idle();

    // Next morning, 09:00: the report run (what LOOKOUT_REPORT_CRON triggers).
    lk.manualClock.set('2026-11-22T09:00:00+08:00');
    const out = await lk.campaignReporter!.run();
    expect(out.reports.map((r) => [r.campaign, r.date, [...r.recipients].sort()])).toEqual([['C001', '2026-11-21', ['CO1', 'DLC', 'SO1']]]);

    await waitFor('three report emails', async () => mail.messages.filter(isReport).length >= 3, 8000);
    const reports = mail.messages.filter(isReport);
    expect(reports.flatMap((m) => m.to).sort()).toEqual(['co1@example.cn', 'dlc@example.cn', 'so1@example.cn']);
    const m = reports[0]!;
    expect(m.subject).toBe('【营销案实施监测日报】C001 营销案 C001 2026-11-21：办理 1200，投诉 150（每万 15），退订 45');
    expect(m.text).toContain('统计日期：2026-11-21（活动第 21 天 / 共 30 天，2026-11-01 至 2026-11-30）');
    expect(m.text).toContain('办理量：1200');
    expect(m.text).toContain('投诉量：150（每万目标客户 15）');
    expect(m.text).toContain('退订量：45（每万目标客户 4.50）');
    // 7-day trend: 11-15 … 11-21.
    expect(m.text).toMatch(/2026-11-15\s+1014\s+10\s+1\s+5/);
    expect(m.text).toMatch(/2026-11-21\s+1200\s+150\s+15\s+45/);
    expect(m.text).not.toContain('2026-11-14');
    expect(m.text).toContain('计费类：100 件（67%），主责 业务支撑中心');
    expect(m.text).toContain('网络类：30 件（20%），主责 网管中心');
    expect(m.text).toContain('主责部门：业务支撑中心（计费类投诉 67%）');
    expect(m.text).toContain('【严重】营销案投诉率超标：投诉量 今日累计 150，每万目标客户 15（阈值 10）');
    expect(m.text).toContain('触发 2026-11-21 15:00，确认：12 分钟（SO1，API）');
    expect(m.text).toContain('【警告】营销案投诉激增：');
    expect(m.text).toContain('触发 2026-11-21 15:00，确认：未确认');
    expect(m.text).toContain('预警 2 条，已确认 1 条，未确认 1 条，确认用时中位 12 分钟。');
    // The chart: a PNG attached inline (cid), which the client shows in place of the SVG.
    expect(m.attachments).toEqual([expect.objectContaining({ filename: 'trend.png', contentType: 'image/png', cid: 'trend@lookout', disposition: 'inline', related: true })]);
    expect(m.attachments[0]!.content.subarray(0, 4).toString('latin1')).toBe('\x89PNG');
    expect(m.html).toContain('src="data:image/png;base64,');
    expect(m.html).not.toContain('<svg');

    // Recorded like any notification, and once: a second run and a second scheduler change nothing.
    // The SMTP peer holds the mail a moment before the worker marks its record sent: wait for the marks.
    const reportRecords = async () => (await notifications(lk)).filter((r) => r.kind === 'report');
    await waitFor('three report records sent', async () => (await reportRecords()).filter((r) => r.state === 'sent').length >= 3, 8000);
    const recs = await reportRecords();
    expect(recs.map((r) => [r.contact, r.channel, r.state]).sort()).toEqual([['CO1', 'email', 'sent'], ['DLC', 'email', 'sent'], ['SO1', 'email', 'sent']]);
    // The record keeps the HTML and the PNG it refers to (a retry sends the same mail).
    expect(recs[0]!.html).toContain('src="cid:trend@lookout"');
    expect(recs[0]!.attachments?.map((a) => a.cid)).toEqual(['trend@lookout']);
    expect((await lk.campaignReporter!.run()).reports[0]!.skipped).toBe('already made');
    second = await startTestLookout({ prefix: lk.prefix, keepKeys: true, clock: lk.manualClock, roles: ['scheduler'], env: { LOOKOUT_SERIES_LAYOUT: layout, LOOKOUT_CONFIG_DIR: configDir, LOOKOUT_SMTP_URL: mail.url }, policies: policies(POLICIES) });
    await second.campaignReporter!.reportDay('2026-11-21');
    // Even when the "made" marker is lost (a crash between queueing and marking), the records' ids hold.
    await lk.redis.del(`${lk.prefix}:campaign:reported:${Calendar.parseIsoDay('2026-11-21')}`);
    expect((await second.campaignReporter!.reportDay('2026-11-21'))[0]!.records).toEqual(out.reports[0]!.records);
    await lk.idle();
    await sleep(500);
    expect(mail.messages.filter(isReport)).toHaveLength(3);
  });

  it('GET /api/v1/reports/campaigns/:id/daily serves the same report as JSON or HTML', async () => {
    await lk.registry.putMany([campaign('C001', { start: '2026-11-01', end: '2026-11-30', target_customers: 100_000 })]);
    await ingest(lk, seed('C001'));
    await lk.idle();
    lk.manualClock.set('2026-11-22T09:00:00+08:00');
    const res = await lk.get<{ report: Record<string, unknown> }>('/api/v1/reports/campaigns/C001/daily?date=2026-11-21');
    expect(res.status).toBe(200);
    expect(res.body.report).toMatchObject({
      kind: 'daily',
      date: '2026-11-21',
      campaign: { id: 'C001', owner: 'CO1', targetCustomers: 100_000 },
      day: { enrollments: 1200, complaints: 150, complaintsPer10k: 15, unsubscribes: 45, unsubscribesPer10k: 4.5 },
      lead: { category: 'billing', department: 'billing', text: '业务支撑中心（计费类投诉 67%）' },
      categories: [
        { category: 'billing', count: 100, share: 0.6667, department: 'billing' },
        { category: 'network', count: 30, share: 0.2, department: 'network' },
        { category: 'promotion', count: 20, share: 0.1333, department: 'customer_service' },
      ],
      response: { raised: 2, acknowledged: 0, unacknowledged: 2 },
    });
    expect((res.body.report.trend as unknown[]).length).toBe(7);
    // Default date: yesterday.
    expect((await lk.get<{ report: { date: string } }>('/api/v1/reports/campaigns/C001/daily')).body.report.date).toBe('2026-11-21');
    const html = await fetch(`${lk.url}/api/v1/reports/campaigns/C001/daily?date=2026-11-21&format=html`);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page).toContain('src="data:image/png;base64,'); // a browser has no cid: to resolve
    expect(page).not.toContain('cid:');
    expect((await lk.get('/api/v1/reports/campaigns/C001/daily?date=2026-13-40')).status).toBe(400);
    expect((await lk.get('/api/v1/reports/campaigns/C001/daily?date=2026-11-30')).status).toBe(400);
    expect((await lk.get('/api/v1/reports/campaigns/NOPE/daily')).status).toBe(404);
  });

  it('a restarted scheduler catches up a missed 09:00 run; a new deployment waits for its first', async () => {
    await lk.registry.putMany([campaign('C001', { start: '2026-11-01', end: '2026-11-30', target_customers: 100_000 })]);
    await ingest(lk, seed('C001'));
    await lk.idle();
    const reporter = lk.campaignReporter!;
    lk.manualClock.set('2026-11-22T10:00:00+08:00');
    expect(await reporter.catchUp()).toBeUndefined(); // no run recorded yet
    await lk.redis.set(`${lk.prefix}:campaign:last-run`, String(Calendar.parseIsoDay('2026-11-20')));
    lk.manualClock.set('2026-11-22T08:59:00+08:00');
    expect(await reporter.catchUp()).toBeUndefined(); // today's run is not due yet
    lk.manualClock.set('2026-11-22T10:00:00+08:00');
    expect((await reporter.catchUp())?.reports.map((r) => [r.campaign, r.date])).toEqual([['C001', '2026-11-21']]);
    expect(await reporter.catchUp()).toBeUndefined(); // done
    await waitFor('three report emails', async () => mail.messages.filter(isReport).length >= 3, 8000);
  });

  it('the demo hook makes yesterday’s reports at once, whatever the time', async () => {
    await lk.registry.putMany([
      campaign('C004', { start: '2026-11-01', end: '2026-11-30', target_customers: 100_000 }),
      campaign('C005', { start: '2026-11-01', end: '2026-11-30', target_customers: 100_000 }),
    ]);
    lk.manualClock.set('2026-11-22T03:00:00+08:00'); // before the export of 11-21 arrived
    expect((await lk.campaignReporter!.run()).reports.map((r) => [r.campaign, r.skipped])).toEqual([['C004', 'waiting for the export'], ['C005', 'waiting for the export']]);
    const { lines } = await campaignReportsNow(lk, { campaigns: ['C004'] });
    expect(lines).toEqual(['daily report C004 2026-11-21: to CO1, SO1, DLC']);
    await waitFor('the report emails', async () => mail.messages.filter(isReport).length >= 3, 8000);
    // The waiting report was made meanwhile; the 10-minute tick finds nothing left to do.
    await lk.campaignReporter!.tick();
    await lk.idle();
    expect(mail.messages.filter(isReport)).toHaveLength(3);
  });
});
