// The post-evaluation record (后评估 / 经验库, docs/campaigns.md) from outside: the day after a campaign
// ends the scheduler records its totals, peak day, complaint categories, alerts by severity and
// response times in Redis without expiry and emails it to the owner once; the record survives a
// restart, is served by the API and printed by `lookout report campaign ID`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationRecord } from '../../src/campaigns/figures.js';
import { ensureBuilt, runCli } from '../support/cli.js';
import { isoDays, startTestLookout, waitFor, type AlertsBody, type ErrorJson, type TestLookout } from '../support/lookout.js';
import { ingest, sleep } from '../support/notify.js';
import { ORG, orgDir, policies } from '../support/org.js';
import { testRedisUrl } from '../support/redis.js';
import { startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp-peer.js';
import { campaign } from './fixtures.js';

beforeAll(ensureBuilt, 180_000);

const POLICIES = `
escalation:
  - id: campaign
    match: {kind: campaign}
    steps:
      - notify: [service_oncall, campaign_owner]
      - {after: 10m, notify: [dept_lead:marketing]}
notify:
  group_wait: 100ms
  retry: {attempts: 3, backoff: 100ms}
`;

const isEvaluation = (m: ReceivedMail) => m.subject.startsWith('【营销案后评估】');

/** 11-10 … 11-20: 10 complaints a day (network/service), 80 on 11-18 (60 billing). */
function seed(entity: string, days: readonly string[]) {
  return days.flatMap((d) => {
    const at = `${d}T12:00:00+08:00`;
    const cats: Record<string, number> = d === '2026-11-18' ? { billing: 60, network: 20 } : { network: 6, service: 4 };
    return [
      { metric: 'enrollments', entity, value: 500, ts: at, id: `${entity}/enrollments/${d}` },
      { metric: 'unsubscribes', entity, value: 3, ts: at, id: `${entity}/unsubscribes/${d}` },
      ...Object.entries(cats).map(([category, value]) => ({ metric: 'complaints', entity, value, ts: at, id: `${entity}/complaints/${d}/${category}`, labels: { category } })),
    ];
  });
}

describe('post-evaluation record', () => {
  let mail: SmtpPeer;
  const running: TestLookout[] = [];

  afterEach(async () => {
    for (const lk of running.splice(0).reverse()) await lk.cleanup();
    await mail?.close();
  });

  it('is recorded the day after the campaign ends, emailed to the owner once, survives a restart and is printed by the CLI', async () => {
    mail = await startSmtpPeer();
    const configDir = orgDir(ORG);
    const env = { LOOKOUT_CONFIG_DIR: configDir, LOOKOUT_SMTP_URL: mail.url };
    const a = await startTestLookout({ now: '2026-11-18T15:00:00+08:00', env, policies: policies(POLICIES), keepKeys: true });
    running.push(a);
    await a.registry.putMany([
      campaign('CE', { start: '2026-11-10', end: '2026-11-20', target_customers: 100_000 }),
      campaign('CL', { start: '2026-11-10', end: '2026-12-20', target_customers: 100_000 }),
    ]);
    // Up to 11-18 (a surge that day: 8 per 10k → warning, seen at 15:00), acknowledged after 30 min.
    await ingest(a, seed('CE', isoDays('2026-11-10', 9)));
    await a.idle();
    const [alert] = (await a.get<AlertsBody>('/api/v1/alerts?entity=CE&rule=campaign_complaint_rate')).body.alerts;
    expect(alert).toMatchObject({ state: 'firing', severity: 'warning' });
    a.manualClock.advance(30 * 60_000);
    expect((await a.post(`/api/v1/alerts/${alert!.id}/ack`, { by: 'CO1' })).status).toBe(200);
    await a.campaignReporter!.tick(); // the scheduler's 10-minute sweep copies the episode into the campaign's alert ledger
    // The rest of the campaign, as the daily exports of 11-19 and 11-20.
    a.manualClock.set('2026-11-21T08:00:00+08:00');
    await ingest(a, seed('CE', ['2026-11-19', '2026-11-20']));
    await a.idle();
    expect((await a.get<ErrorJson>('/api/v1/campaigns/CE/evaluation')).body.error.code).toBe('not_evaluated');

    // 2026-11-21 09:00, the scheduler's run: the campaign ended yesterday.
    a.manualClock.set('2026-11-21T09:00:00+08:00');
    const out = await a.campaignReporter!.run();
    expect(out.evaluations.map((e) => [e.campaign, e.created])).toEqual([['CE', true]]);
    const res = await a.get<{ evaluation: EvaluationRecord }>('/api/v1/campaigns/CE/evaluation');
    expect(res.status).toBe(200);
    const ev = res.body.evaluation;
    expect(ev).toMatchObject({
      kind: 'evaluation',
      campaign: { id: 'CE', owner: 'CO1', targetCustomers: 100_000, start: '2026-11-10', end: '2026-11-20' },
      window: { start: '2026-11-10', end: '2026-11-20', days: 11 },
      complete: true,
      totals: { enrollments: 5500, complaints: 180, unsubscribes: 33, complaintsPer10k: 18, enrollmentRate: 0.055 },
      peak: { date: '2026-11-18', complaints: 80, complaintsPer10k: 8 },
      lead: { category: 'network', department: 'network', departmentName: '网管中心' },
      alerts: { bySeverity: { critical: 0 } },
      response: { acknowledged: 1, escalated: 0, ackMinutes: { median: 30, max: 30 } },
    });
    expect(ev.categories.map((c) => [c.category, c.count])).toEqual([['network', 80], ['billing', 60], ['service', 40]]);
    expect(ev.alerts.episodes.find((e) => e.rule === 'campaign_complaint_rate')).toMatchObject({ severity: 'warning', period: '2026-11-18', ackBy: 'CO1', ackMinutes: 30 });
    expect(await a.redis.ttl(`${a.prefix}:campaign:evaluations`)).toBe(-1);
    expect((await a.get<ErrorJson>('/api/v1/campaigns/CL/evaluation')).body.error.code).toBe('not_evaluated');

    const toOwner = await waitFor('the evaluation email', async () => mail.messages.find(isEvaluation), 8000);
    expect(toOwner.to).toEqual(['co1@example.cn']);
    expect(toOwner.subject).toBe('【营销案后评估】CE 营销案 CE（2026-11-10 至 2026-11-20）');
    expect(toOwner.text).toContain('投诉高峰：2026-11-18，80 件（每万目标客户 8）');
    expect(toOwner.attachments.map((x) => [x.cid, x.contentType, x.disposition])).toEqual([['daily@lookout', 'image/png', 'inline']]);
    expect(toOwner.html).toContain('src="data:image/png;base64,');

    // Restart: stop this Lookout, start another on the same prefix.
    await a.cleanup();
    running.splice(0);
    const b = await startTestLookout({ prefix: a.prefix, clock: a.manualClock, env, policies: policies(POLICIES) });
    running.push(b);
    expect((await b.get<{ evaluation: EvaluationRecord }>('/api/v1/campaigns/CE/evaluation')).body.evaluation).toEqual(ev);
    const list = await b.get<{ evaluations: { campaign: { id: string }; totals: { complaints: number } }[] }>('/api/v1/evaluations');
    expect(list.body.evaluations.map((e) => [e.campaign.id, e.totals.complaints])).toEqual([['CE', 180]]);
    const phases = await b.get<{ campaigns: { id: string; phase: string; evaluated: boolean }[] }>('/api/v1/campaigns');
    expect(phases.body.campaigns.map((c) => [c.id, c.phase, c.evaluated])).toEqual([['CE', 'post_evaluation', true], ['CL', 'live', false]]);
    // Emailed once: another run after the restart sends nothing new.
    expect((await b.campaignReporter!.run()).evaluations).toEqual([{ campaign: 'CE', created: false, records: expect.any(Array) }]);
    await b.idle();
    await sleep(300);
    expect(mail.messages.filter(isEvaluation)).toHaveLength(1);

    // The CLI reads the same record from Redis.
    const cliEnv = { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: b.prefix, LOOKOUT_DATA_DIR: mkdtempSync(join(tmpdir(), 'lookout-report-')) };
    const md = await runCli(['report', 'campaign', 'CE'], { env: cliEnv });
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain('# 营销案后评估：CE 营销案 CE');
    expect(md.stdout).toContain('| 投诉量 | 180 | 18 |');
    expect(md.stdout).toContain('- 确认用时（分钟）：中位 30，P90 30，最长 30');
    const json = await runCli(['report', 'campaign', 'CE', '--json'], { env: cliEnv });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(ev);
    const missing = await runCli(['report', 'campaign', 'CL'], { env: cliEnv });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/campaign CL has no post-evaluation record.*\[not_evaluated\]/);
    expect((await runCli(['report', 'campaign'], { env: cliEnv })).code).toBe(2);
  });
});
