// Own halls' SMS satisfaction from outside (docs/duties.md): the monthly ranking per grade over the
// API (JSON, HTML) and the CLI, the email on the 1st to the customer-service lead and the region
// heads (a real SMTP server), and the floor rule's warning to the hall's manager (a real SMSC).
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import type { HallRanking, RankingMailResult } from '../../src/duties/index.js';
import { launchChromium, PHONE, scrollsSideways, shot } from '../support/browser.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';
import { ensureBuilt, PINNED_NOW, runCli } from '../support/cli.js';
import { dailySamples, isoDays, startTestLookout, type ErrorJson, type TestLookout } from '../support/lookout.js';
import { ingest, sleep } from '../support/notify.js';
import { FAST_POLICIES, ORG, orgDir, policies, type TestContact } from '../support/org.js';
import { testRedisUrl } from '../support/redis.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';

beforeAll(ensureBuilt, 180_000);

const CONTACTS: readonly TestContact[] = [
  ...ORG.map((c) => (c.role === 'region_head' ? { ...c, email: `${c.id.toLowerCase()}@example.cn` } : c)),
  { id: 'HM1', role: 'channel_manager', phone: '13800000061', scope: 'X-hongqi' },
  { id: 'HM2', role: 'channel_manager', phone: '13800000062', scope: 'X-hongqi' },
  { id: 'DLCS', role: 'dept_lead', email: 'kefu@example.cn', scope: 'customer_service' },
  { id: 'DLN', role: 'dept_lead', email: 'wangguan@example.cn', scope: 'network' },
];

const hall = (id: string, tier: string | undefined, manager: string): Entity => ({
  id,
  kind: 'own_hall',
  name: `营业厅${id}`,
  region: 'R-east',
  district: 'X-hongqi',
  manager,
  ...(tier && { tier }),
  attrs: {},
});

const HALLS: Entity[] = [
  hall('HA1', 'A', 'HM1'),
  hall('HA2', 'A', 'HM1'),
  hall('HA3', 'A', 'HM1'),
  hall('HA4', 'A', 'HM2'),
  hall('HB1', 'B', 'HM1'),
  hall('HB2', 'B', 'HM1'),
  hall('HC1', 'C', 'HM1'),
  hall('HC2', 'C', 'HM1'),
];
const NOVEMBER = isoDays('2026-11-01', 30);
/** Monthly averages; HB1 gets two scores a day (86 and 92 → 89). */
const SCORES: Record<string, number> = { HA1: 95, HA2: 90, HA3: 85, HA4: 70, HB2: 92, HC1: 80.5 };

function samples() {
  const out = Object.entries(SCORES).flatMap(([id, v]) => dailySamples(id, 'satisfaction', NOVEMBER, () => v));
  for (const d of NOVEMBER) {
    out.push({ metric: 'satisfaction', entity: 'HB1', value: 86, ts: `${d}T10:00:00+08:00`, id: `HB1/s/${d}/1` });
    out.push({ metric: 'satisfaction', entity: 'HB1', value: 92, ts: `${d}T15:00:00+08:00`, id: `HB1/s/${d}/2` });
  }
  return out;
}

describe.each(SERIES_LAYOUTS)('own halls: satisfaction ranking and floor (%s series layout)', (layout) => {
  let smsc: SmppPeer;
  let mail: SmtpPeer;
  let lk: TestLookout;

  beforeEach(async () => {
    smsc = await startSmppPeer();
    mail = await startSmtpPeer();
    lk = await startTestLookout({
      now: '2026-12-01T09:00:00+08:00',
      env: { LOOKOUT_SERIES_LAYOUT: layout, LOOKOUT_CONFIG_DIR: orgDir(CONTACTS), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=500`, LOOKOUT_SMTP_URL: mail.url, LOOKOUT_PUBLIC_URL: 'https://lookout.example.cn' },
      policies: policies(FAST_POLICIES),
    });
    await lk.registry.putMany(HALLS);
    await ingest(lk, samples());
    await lk.idle();
  });
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
    await mail.close();
  });

  it('GET /api/v1/reports/halls/satisfaction ranks each grade: top 3, bottom 3, halls without scores', async () => {
    const res = await lk.get<{ ranking: HallRanking }>('/api/v1/reports/halls/satisfaction?month=2026-11');
    expect(res.status).toBe(200);
    const r = res.body.ranking;
    expect(r).toMatchObject({ month: '2026-11', metric: 'satisfaction', from: '2026-11-01', to: '2026-11-30', complete: true, halls: 8, rated: 7 });
    const [a, b, c] = r.grades;
    expect(r.grades.map((g) => g.grade)).toEqual(['A', 'B', 'C']);
    expect(a!.top.map((h) => [h.id, h.rank, h.average])).toEqual([
      ['HA1', 1, 95],
      ['HA2', 2, 90],
      ['HA3', 3, 85],
    ]);
    expect(a!.bottom.map((h) => h.id)).toEqual(['HA4']);
    expect(a!.ranked[0]).toMatchObject({ ratings: 30, days: 30, manager: 'HM1', region: 'R-east', district: 'X-hongqi' });
    // HB1: two scores a day, 86 and 92 → 89 over 60 scores; HB2 92 ranks first.
    expect(b!.top.map((h) => [h.id, h.average, h.ratings])).toEqual([
      ['HB2', 92, 30],
      ['HB1', 89, 60],
    ]);
    expect(b!.bottom).toEqual([]);
    expect(c!.top.map((h) => [h.id, h.average])).toEqual([['HC1', 80.5]]);
    expect(c!.unrated).toEqual([{ id: 'HC2', name: '营业厅HC2' }]);

    // Without ?month: the last complete month (what the email on the 1st covers).
    const dflt = await lk.get<{ ranking: HallRanking }>('/api/v1/reports/halls/satisfaction');
    expect(dflt.body.ranking.month).toBe('2026-11');
    // The running month so far is partial.
    const dec = await lk.get<{ ranking: HallRanking }>('/api/v1/reports/halls/satisfaction?month=2026-12');
    expect(dec.body.ranking).toMatchObject({ from: '2026-12-01', to: '2026-12-01', complete: false, rated: 0 });

    const html = await lk.get<string>('/api/v1/reports/halls/satisfaction?month=2026-11&format=html');
    expect(html.status).toBe(200);
    expect(html.body).toContain('2026年11月自有营业厅短信满意度排名');
    expect(html.body).toContain('营业厅HA1');
    expect(html.body).toContain('95.00');
    // Phone-first: the report reads at 390 px without sideways scrolling.
    expect(html.body).toContain('name="viewport"');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: PHONE });
      await page.setContent(html.body);
      expect(await scrollsSideways(page)).toBe(false);
      expect(await page.textContent('body')).toContain('营业厅HA1');
      await shot(page, 'report-halls-390');
    } finally {
      await browser.close();
    }

    for (const bad of ['2026-13', 'nov', '2027-01']) {
      const r2 = await lk.get<ErrorJson>(`/api/v1/reports/halls/satisfaction?month=${bad}`);
      expect([bad, r2.status, r2.body.error.code]).toEqual([bad, 400, 'bad_request']);
    }
  });

  it('the 1st of the month: last month’s ranking by email to the customer-service lead and every region head, once', async () => {
    const res = (await lk.duties.monthlyRanking()) as RankingMailResult;
    expect(res.month).toBe('2026-11');
    expect(res.notifications.map((n) => n.contact).sort()).toEqual(['DLCS', 'RH1', 'RH2']);
    const got = await mail.waitFor(3, 5000);
    expect(got.flatMap((m) => m.to).sort()).toEqual(['kefu@example.cn', 'rh1@example.cn', 'rh2@example.cn']);
    const m = got[0]!;
    expect(m.subject).toBe('【营业厅满意度】2026年11月自有营业厅短信满意度排名');
    expect(m.text).toContain('【A 级】共 4 家，有评分 4 家');
    expect(m.text).toMatch(/前三名：\n\s+1\. HA1 营业厅HA1 {2}95\.00 分（30 条评分，30 天）/);
    expect(m.text).toMatch(/后三名：\n\s+4\. HA4 营业厅HA4 {2}70\.00 分/);
    expect(m.text).toContain('无评分：1 家');
    expect(m.text).toContain('https://lookout.example.cn/api/v1/reports/halls/satisfaction?month=2026-11&format=html');
    expect(m.html).toContain('<table');
    expect(m.html).toContain('营业厅HB2');

    // A second scheduler, or a re-send through the API, mails nobody twice.
    await lk.duties.monthlyRanking();
    const again = await lk.post<RankingMailResult>('/api/v1/reports/halls/satisfaction/send', { month: '2026-11' });
    expect(again.status).toBe(202);
    expect(again.body.notifications.every((n) => !n.created)).toBe(true);
    const bare = await fetch(`${lk.url}/api/v1/reports/halls/satisfaction/send`, { method: 'POST' }); // no body: last month
    expect(bare.status).toBe(202);
    expect(((await bare.json()) as RankingMailResult).month).toBe('2026-11');
    await sleep(500);
    expect(mail.messages).toHaveLength(3);
    const recs = await lk.get<{ notifications: { kind: string; state: string; channel: string }[] }>('/api/v1/notifications?channel=email');
    expect(recs.body.notifications.filter((n) => n.kind === 'report').map((n) => n.state)).toEqual(['sent', 'sent', 'sent']);
  });

  it('a hall whose 7-day average is at or below 80 warns its manager', async () => {
    const [sms] = await smsc.waitFor(1, 5000);
    expect(sms!.to).toBe('13800000062');
    expect(sms!.text).toContain('HA4');
    expect(sms!.text).toMatch(/警告/);
    const alerts = await lk.alertsOf('HA4');
    expect(alerts.map((a) => [a.rule, a.severity, a.state, a.value])).toEqual([['own_hall_satisfaction_low', 'warning', 'firing', 70]]);
    // HC1 at 80.5 is above the floor: the manager of the good halls hears nothing.
    expect(await lk.alertsOf('HC1')).toEqual([]);
    await sleep(500);
    expect(smsc.messages.filter((m) => m.to === '13800000061')).toEqual([]);
  });
});

describe('LOOKOUT_RANKING_CRON and LOOKOUT_BROADCAST_RATE', () => {
  it('default to 09:00 on the 1st and 10/s; bad values name the variable', () => {
    const c = loadConfig({});
    expect([c.rankingCron, c.broadcastRate]).toEqual(['0 9 1 * *', 10]);
    expect(loadConfig({ LOOKOUT_RANKING_CRON: '30 8 2 * *', LOOKOUT_BROADCAST_RATE: '50' })).toMatchObject({ rankingCron: '30 8 2 * *', broadcastRate: 50 });
    expect(() => loadConfig({ LOOKOUT_RANKING_CRON: 'monthly' })).toThrow('LOOKOUT_RANKING_CRON: expected a cron expression such as "5 0 * * *", got "monthly"');
    expect(() => loadConfig({ LOOKOUT_BROADCAST_RATE: '0' })).toThrow('LOOKOUT_BROADCAST_RATE: expected an integer 1–1000, got "0"');
  });
});

describe.each(SERIES_LAYOUTS)('lookout halls ranking (%s series layout)', (layout) => {
  let lk: TestLookout;
  // The CLI's clock is pinned by LOOKOUT_NOW; this Lookout starts at the same moment.
  beforeEach(async () => {
    lk = await startTestLookout({ now: PINNED_NOW, roles: ['api', 'worker'], env: { LOOKOUT_SERIES_LAYOUT: layout } });
  });
  afterEach(async () => lk.cleanup());

  it('prints the ranking of a month (text, --json, --html); a bad month is a usage error', async () => {
    const yesterday = lk.calendar.dayOf(lk.clock.now()) - 1;
    const day = Calendar.isoDay(yesterday);
    await lk.registry.putMany([hall('HA1', 'A', 'HM1'), hall('HA2', 'A', 'HM1')]);
    await ingest(lk, [
      { metric: 'satisfaction', entity: 'HA1', value: 91, ts: `${day}T12:00:00+08:00` },
      { metric: 'satisfaction', entity: 'HA2', value: 97, ts: `${day}T12:00:00+08:00` },
    ]);
    await lk.idle();
    const env = { REDIS_URL: testRedisUrl(), LOOKOUT_SERIES_LAYOUT: layout, LOOKOUT_PREFIX: lk.prefix, LOOKOUT_CONFIG_DIR: lk.config.configDir, LOOKOUT_NOW: PINNED_NOW };
    const month = day.slice(0, 7);
    const json = await runCli(['halls', 'ranking', '--month', month, '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as HallRanking;
    expect(r.grades[0]!.top.map((h) => [h.id, h.average])).toEqual([
      ['HA2', 97],
      ['HA1', 91],
    ]);
    const text = await runCli(['halls', 'ranking', '--month', month], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('1. HA2 营业厅HA2  97.00 分');
    const html = await runCli(['halls', 'ranking', '--month', month, '--html'], { env });
    expect(html.stdout).toContain('<table');
    const bad = await runCli(['halls', 'ranking', '--month', '2026-13'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('month: expected YYYY-MM');
    expect((await runCli(['halls'], { env })).code).toBe(2);
  });
});
