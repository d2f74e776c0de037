// Report and post-evaluation figures from daily values and alert episodes, and how they render.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPLAINT_ROUTING } from '../../src/domain/complaints.js';
import { dailyReport, evaluationRecord, type FigureContext } from '../../src/campaigns/figures.js';
import type { AlertEpisode } from '../../src/campaigns/ledger.js';
import { mergeEpisode } from '../../src/campaigns/ledger.js';
import { barChart, evaluationMarkdown, renderDailyReport, renderEvaluation } from '../../src/campaigns/render.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';

const calendar = new Calendar('Asia/Shanghai');
const day = (s: string) => Calendar.parseIsoDay(s)!;
const at = (s: string) => Date.parse(s);
const SHIPPED = join(import.meta.dirname, '..', '..', 'templates');

const campaign: Entity = {
  id: 'C001',
  kind: 'campaign',
  name: '流量加油包 <限时>',
  manager: 'CO1',
  attrs: { start: '2026-11-15', end: '2026-11-21', target_customers: 100_000, category: 'data', owner: 'CO1' },
};

function values(): Map<string, Map<number, number>> {
  const m = new Map<string, Map<number, number>>();
  const put = (metric: string, d: string, v: number) => (m.get(metric) ?? m.set(metric, new Map()).get(metric)!).set(day(d), v);
  for (const d of ['2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']) {
    put('enrollments', d, 1000);
    put('complaints', d, 10);
    put('complaints.network', d, 6);
    put('complaints.service', d, 4);
    put('unsubscribes', d, 5);
  }
  put('enrollments', '2026-11-21', 800);
  put('complaints', '2026-11-21', 100);
  put('complaints.billing', '2026-11-21', 62);
  put('complaints.network', '2026-11-21', 30);
  put('complaints.promotion', '2026-11-21', 8);
  put('unsubscribes', '2026-11-21', 40);
  return m;
}

const episodes: AlertEpisode[] = [
  {
    alert: 'a1', episode: 1, rule: 'campaign_complaint_rate', severity: 'critical', notify: true, period: '2026-11-21', summary: '投诉量 今日累计100，每万目标客户 10（阈值 10）',
    firingAt: at('2026-11-21T15:00:00+08:00'), ack: { by: 'SO1', at: at('2026-11-21T15:12:00+08:00'), via: 'sms' }, resolvedAt: at('2026-11-22T00:10:00+08:00'), state: 'resolved', level: 1,
  },
  {
    alert: 'a2', episode: 1, rule: 'campaign_complaint_spike', severity: 'warning', notify: true, period: '2026-11-21', summary: '投诉量 100，近7天均值 10，为基线 10 倍',
    firingAt: at('2026-11-21T15:00:00+08:00'), state: 'firing', level: 2,
  },
  {
    alert: 'a1', episode: 0, rule: 'campaign_complaint_rate', severity: 'warning', notify: true, period: '2026-11-16', summary: '…',
    firingAt: at('2026-11-16T10:00:00+08:00'), ack: { by: 'CO1', at: at('2026-11-16T10:30:00+08:00'), via: 'api' }, resolvedAt: at('2026-11-17T09:00:00+08:00'), state: 'resolved', level: 1,
  },
];

const ctx = (locale: 'zh' | 'en' = 'zh'): FigureContext => ({
  calendar,
  locale,
  routing: DEFAULT_COMPLAINT_ROUTING,
  ruleName: (r) => ({ campaign_complaint_rate: '营销案投诉率超标', campaign_complaint_spike: '营销案投诉激增' })[r] ?? r,
  ownerName: (id) => (id === 'CO1' ? '陈静' : undefined),
  now: at('2026-11-22T09:00:00+08:00'),
});

describe('daily report figures', () => {
  const r = dailyReport(campaign, day('2026-11-21'), values(), episodes, ctx());

  it('yesterday, per 10k, to date and the 7-day trend', () => {
    expect(r.date).toBe('2026-11-21');
    expect(r.timeline).toMatchObject({ phase: 'live', dayOfCampaign: 7, days: 7 });
    expect(r.day).toEqual({ date: '2026-11-21', live: true, enrollments: 800, complaints: 100, unsubscribes: 40, complaintsPer10k: 10, unsubscribesPer10k: 4 });
    expect(r.toDate).toEqual({ days: 7, enrollments: 6800, complaints: 160, unsubscribes: 70, complaintsPer10k: 16 });
    expect(r.trend.map((d) => [d.date, d.complaints])).toEqual([
      ['2026-11-15', 10], ['2026-11-16', 10], ['2026-11-17', 10], ['2026-11-18', 10], ['2026-11-19', 10], ['2026-11-20', 10], ['2026-11-21', 100],
    ]);
  });

  it('categories and the lead department', () => {
    expect(r.categories.map((c) => [c.category, c.count, c.share, c.departmentName])).toEqual([
      ['billing', 62, 0.62, '业务支撑中心'],
      ['network', 30, 0.3, '网管中心'],
      ['promotion', 8, 0.08, '客服中心'],
    ]);
    expect(r.lead?.text).toBe('业务支撑中心（计费类投诉 62%）');
  });

  it('alerts of the day and how fast they were acknowledged', () => {
    expect(r.alerts.map((a) => [a.rule, a.severity, a.ackMinutes, a.level])).toEqual([
      ['campaign_complaint_rate', 'critical', 12, 1],
      ['campaign_complaint_spike', 'warning', undefined, 2],
    ]);
    expect(r.response).toMatchObject({ raised: 2, acknowledged: 1, unacknowledged: 1, escalated: 1, ackMinutes: { median: 12, max: 12 } });
    expect(r.openAlerts).toBe(1);
  });

  it('renders as email: Chinese by default, the chart as an inline PNG (cid), escaped names, no external images', async () => {
    const mail = await renderDailyReport(r, 'zh', join(SHIPPED, 'zh'));
    expect(mail.subject).toBe('【营销案实施监测日报】C001 流量加油包 <限时> 2026-11-21：办理 800，投诉 100（每万 10），退订 40');
    expect(mail.text).toContain('投诉量：100（每万目标客户 10）');
    expect(mail.text).toContain('计费类：62 件（62%），主责 业务支撑中心');
    expect(mail.text).toContain('确认：12 分钟（SO1，短信）');
    expect(mail.html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(mail.html).toContain('<img src="cid:trend@lookout" width="320" height="96" alt="近 7 天投诉：11-15 10，11-16 10，11-17 10，11-18 10，11-19 10，11-20 10，11-21 100"');
    expect(mail.attachments).toEqual([{ filename: 'trend.png', contentType: 'image/png', cid: 'trend@lookout', content: expect.stringMatching(/^iVBORw0KGgo/) }]);
    expect(mail.html).not.toContain('<svg');
    expect(mail.html).toContain('流量加油包 &lt;限时&gt;');
    expect(mail.html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(mail.html.match(/src="([^"]*)"/g)).toEqual(['src="cid:trend@lookout"']);
    const en = await renderDailyReport(dailyReport(campaign, day('2026-11-21'), values(), episodes, ctx('en')), 'en', join(SHIPPED, 'en'));
    expect(en.subject).toContain('[Lookout daily report] C001');
    expect(en.text).toContain('billing: 62 (62%), lead Business Support Centre');
  });
});

describe('post-evaluation record', () => {
  const r = evaluationRecord(campaign, day('2026-11-01'), values(), episodes, ctx());

  it('totals, peak day, categories, alerts by severity, response times, escalations', () => {
    expect(r.window).toEqual({ start: '2026-11-15', end: '2026-11-21', days: 7 });
    expect(r.complete).toBe(true);
    expect(r.totals).toEqual({ enrollments: 6800, complaints: 160, unsubscribes: 70, complaintsPer10k: 16, unsubscribesPer10k: 7, enrollmentRate: 0.068 });
    expect(r.peak).toEqual({ date: '2026-11-21', complaints: 100, complaintsPer10k: 10 });
    expect(r.categories.map((c) => [c.category, c.count])).toEqual([['network', 66], ['billing', 62], ['service', 24], ['promotion', 8]]);
    expect(r.lead?.department).toBe('network');
    expect(r.alerts.total).toBe(3);
    expect(r.alerts.bySeverity).toEqual({ critical: 1, warning: 2, info: 0 });
    expect(r.response).toEqual({
      raised: 3, acknowledged: 2, unacknowledged: 1,
      ackMinutes: { median: 21, p90: 30, max: 30 },
      resolveMinutes: { median: 965, p90: 1380, max: 1380 },
      escalated: 1, escalationRate: 0.3333,
    });
    expect(r.highlights[0]).toBe('活动 7 天，办理 6800，投诉 160（每万目标客户 16），退订 70。');
  });

  it('says when the start is past the retention', () => {
    const partial = evaluationRecord(campaign, day('2026-11-18'), values(), [], ctx());
    expect(partial.complete).toBe(false);
    expect(partial.dataFrom).toBe('2026-11-18');
    expect(partial.totals.complaints).toBe(130);
    expect(partial.highlights.at(-1)).toContain('2026-11-18 之前的日数据已超出保留期');
  });

  it('renders as Markdown and email', async () => {
    const md = await evaluationMarkdown(r, 'zh', join(SHIPPED, 'zh'));
    expect(md).toContain('# 营销案后评估：C001 流量加油包 <限时>');
    expect(md).toContain('| 投诉量 | 160 | 16 |');
    expect(md).toContain('投诉高峰：2026-11-21，100 件');
    const mail = await renderEvaluation(r, 'zh', join(SHIPPED, 'zh'));
    expect(mail.subject).toBe('【营销案后评估】C001 流量加油包 <限时>（2026-11-15 至 2026-11-21）');
    expect(mail.html).toContain('src="cid:daily@lookout"');
    expect(mail.attachments.map((a) => [a.filename, a.cid])).toEqual([['daily.png', 'daily@lookout']]);
  });
});

describe('ledger merge', () => {
  it('keeps the highest severity and level and the first period', () => {
    const a = episodes[1]!;
    const up = mergeEpisode(a, { ...a, severity: 'critical', level: 1, period: '2026-11-22', summary: 'up' });
    expect([up.severity, up.level, up.period, up.summary]).toEqual(['critical', 2, '2026-11-21', 'up']);
    const down = mergeEpisode(up, { ...a, severity: 'warning', state: 'resolved', resolvedAt: 1 });
    expect([down.severity, down.state, down.resolvedAt, down.summary]).toEqual(['critical', 'resolved', 1, 'up']);
  });
});

describe('bar chart', () => {
  it('is plain inline SVG with the values', () => {
    const svg = barChart([{ label: '11-20', value: 3 }, { label: '11-21', value: null }, { label: '<x>', value: 7, highlight: true }]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('&lt;x&gt;');
  });
});
