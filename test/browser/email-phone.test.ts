// Issue 12 §3, phone-first email: the alert email and the campaign reports go through the real
// SMTP channel to a real SMTP server, and the HTML as received (mailparser shows cid: images as
// data: URLs, as a mail client does) is rendered in a real headless Chromium at 390 px and 1280 px:
// no sideways scroll, one card per alert no wider than 600 px, the chart PNG loaded and drawn.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_COMPLAINT_ROUTING } from '../../src/domain/complaints.js';
import { svgToPng } from '../../src/campaigns/chart-image.js';
import { dailyReport, evaluationRecord, type FigureContext } from '../../src/campaigns/figures.js';
import type { AlertEpisode } from '../../src/campaigns/ledger.js';
import { barChart, renderDailyReport, renderEvaluation, webHtml, type RenderedMail } from '../../src/campaigns/render.js';
import { fingerprint, type AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import type { Severity } from '../../src/domain/rule.js';
import { SmtpEmailChannel } from '../../src/notify/channels/smtp.js';
import { consoleLink } from '../../src/notify/links.js';
import { MessageRenderer, type AlertView } from '../../src/notify/render.js';
import { DESKTOP, launchChromium, PHONE, scrollsSideways, shot } from '../support/browser.js';
import { startSmtpPeer, type ReceivedMail, type SmtpPeer } from '../support/smtp-peer.js';
import { captureLogger } from '../notify/channels/helpers.js';

const TEMPLATES = join(import.meta.dirname, '..', '..', 'templates');
const PUBLIC = 'https://lookout.example.cn';
const NOW = Date.parse('2026-11-21T10:00:00+08:00');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// ---- alerts ------------------------------------------------------------------------------------

function alertView(i: number, severity: Severity, name: string, district: string, over: Partial<AlertView> = {}): AlertView {
  const entity = `D${String(i).padStart(4, '0')}`;
  const fp = fingerprint('core_dealer_card_opening_drop', entity);
  const alert: AlertRecord = {
    id: `${fp}:1`, fingerprint: fp, rule: 'core_dealer_card_opening_drop', entity, state: 'firing', severity, episode: 1, seq: 2, notify: true,
    period: '2026-11-20', value: 40 + i, baseline: 62.43, measure: 60, summary: `开卡量 ${40 + i}，同期基线 100，下降 ${60 - i}%`,
    startsAt: NOW, firingAt: NOW, updatedAt: NOW, labels: {},
  };
  const e: Entity = { id: entity, kind: 'core_dealer', name, region: '新乡', district, manager: 'M01', attrs: {} };
  return {
    alert, entity: e, ruleName: '核心渠道开卡量下降', level: 1 + (i % 2), ackCode: String(4820 + i),
    ackUrl: `${PUBLIC}/ack/eyJhbGVydCI6IiR7aWR9In0.${'x'.repeat(43)}`, consoleUrl: consoleLink(PUBLIC, alert.id), ...over,
  };
}

const ALERTS = [
  alertView(1, 'critical', '新乡市红旗区东街中国移动指定专营店（华联商厦一楼东侧入口旁）', '红旗区'),
  alertView(2, 'warning', '卫滨区新华书店特约代理点', '卫滨区'),
  alertView(3, 'info', 'ThisIsAnUnusuallyLongDealerNameWithoutAnySpacesThatMustWrapOnAPhone', '牧野区'),
];

// ---- a campaign ---------------------------------------------------------------------------------

const calendar = new Calendar('Asia/Shanghai');
const day = (s: string) => Calendar.parseIsoDay(s)!;
const campaign: Entity = {
  id: 'C001', kind: 'campaign', name: '5G 畅享流量加油包（限时优惠·新乡全市）', manager: 'CO1',
  attrs: { start: '2026-10-01', end: '2026-11-21', target_customers: 100_000, category: 'data', owner: 'CO1' },
};

function values(): Map<string, Map<number, number>> {
  const m = new Map<string, Map<number, number>>();
  const put = (metric: string, d: number, v: number) => (m.get(metric) ?? m.set(metric, new Map()).get(metric)!).set(d, v);
  for (let d = day('2026-10-01'); d <= day('2026-11-21'); d++) {
    const last = d === day('2026-11-21');
    put('enrollments', d, 1000 + (d % 7) * 30);
    put('complaints', d, last ? 150 : 8 + (d % 5));
    put(last ? 'complaints.billing' : 'complaints.network', d, last ? 100 : 8 + (d % 5));
    if (last) put('complaints.network', d, 50);
    put('unsubscribes', d, last ? 45 : 5);
  }
  return m;
}

const at = (s: string) => Date.parse(s);
const episodes: AlertEpisode[] = [
  {
    alert: 'a1', episode: 1, rule: 'campaign_complaint_rate', severity: 'critical', notify: true, period: '2026-11-21', summary: '投诉量 今日累计 150，每万目标客户 15（阈值 10）',
    firingAt: at('2026-11-21T15:00:00+08:00'), ack: { by: 'SO1', at: at('2026-11-21T15:12:00+08:00'), via: 'sms' }, state: 'acknowledged', level: 1,
  },
  {
    alert: 'a2', episode: 1, rule: 'campaign_complaint_spike', severity: 'warning', notify: true, period: '2026-11-21', summary: '投诉量 150，近7天均值 10，为基线 15 倍',
    firingAt: at('2026-11-21T15:00:00+08:00'), state: 'firing', level: 2,
  },
];
const ctx: FigureContext = {
  calendar, locale: 'zh', routing: DEFAULT_COMPLAINT_ROUTING,
  ruleName: (r) => ({ campaign_complaint_rate: '营销案投诉率超标', campaign_complaint_spike: '营销案投诉激增' })[r] ?? r,
  ownerName: (id) => (id === 'CO1' ? '陈静' : undefined),
  now: at('2026-11-22T09:00:00+08:00'),
};

// ---- helpers -----------------------------------------------------------------------------------

async function deliver(peer: SmtpPeer, id: string, mail: { subject: string; text: string; html: string; attachments?: RenderedMail['attachments'] }): Promise<ReceivedMail> {
  const channel = new SmtpEmailChannel(peer.url, { from: 'Lookout 预警 <lookout@example.cn>', logger: captureLogger().logger, timeoutMs: 2000 });
  try {
    const before = peer.messages.length;
    await channel.send({ id, channel: 'email', to: { contact: 'CO1', name: '陈静', email: 'co1@example.cn' }, ...mail });
    return (await peer.waitFor(before + 1))[before]!;
  } finally {
    await channel.close();
  }
}

/** Widths of the elements matching `selector`, in CSS px. */
const widths = (page: Page, selector: string) =>
  page.evaluate<number[]>(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((e) => e.getBoundingClientRect().width)`);

/** The chart image as the page loaded it: natural size and how many of its pixels are bar-coloured. */
async function chartPixels(page: Page, selector: string): Promise<{ naturalWidth: number; naturalHeight: number; shownWidth: number; bars: number; red: number }> {
  return page.evaluate(`(async () => {
    const img = document.querySelector(${JSON.stringify(selector)});
    if (!img) return { naturalWidth: 0, naturalHeight: 0, shownWidth: 0, bars: 0, red: 0 };
    await img.decode().catch(() => undefined);
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = c.width && c.height ? g.getImageData(0, 0, c.width, c.height).data : [];
    let bars = 0, red = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - 0x5b) < 12 && Math.abs(d[i + 1] - 0x8d) < 12 && Math.abs(d[i + 2] - 0xef) < 12) bars++;
      if (Math.abs(d[i] - 0xb0) < 12 && d[i + 1] < 20 && Math.abs(d[i + 2] - 0x20) < 12) red++;
    }
    return { naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, shownWidth: img.getBoundingClientRect().width, bars, red };
  })()`);
}

describe('phone-first email in a real browser', () => {
  let browser: Browser;
  let peer: SmtpPeer;
  let zh: MessageRenderer;
  let en: MessageRenderer;

  beforeAll(async () => {
    [browser, peer, zh, en] = await Promise.all([launchChromium(), startSmtpPeer(), MessageRenderer.load(join(TEMPLATES, 'zh'), 'zh'), MessageRenderer.load(join(TEMPLATES, 'en'), 'en')]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await peer?.close();
  });

  it('alert email: one card per alert, ≤ 600 px, no sideways scroll at 390 px, console and ack links; the text part says the same', async () => {
    const mail = zh.emailAlert(ALERTS);
    const got = await deliver(peer, 'alert-mail-1', mail);

    // The text part: every alert complete, with both links.
    for (const v of ALERTS) {
      expect(got.text).toContain(`对象：${v.alert.entity} ${v.entity!.name}`);
      expect(got.text).toContain(`区域：新乡/${v.entity!.district}`);
      expect(got.text).toContain(`数值：当前 ${v.alert.value}，基线 62.4`);
      expect(got.text).toContain(`情况：${v.alert.summary}`);
      expect(got.text).toContain(`短信确认：回复“确认 ${v.ackCode}”`);
      expect(got.text).toContain(`确认链接：${v.ackUrl}`);
      expect(got.text).toContain(`详情：${PUBLIC}/a/${encodeURIComponent(v.alert.id)}`);
    }
    expect(got.text).toContain('【严重】核心渠道开卡量下降');

    const page = await browser.newPage({ viewport: PHONE });
    await page.setContent(got.html, { waitUntil: 'load' });
    expect(await page.getAttribute('meta[name=viewport]', 'content')).toBe('width=device-width, initial-scale=1');
    expect(await scrollsSideways(page)).toBe(false);
    const cards = await widths(page, '[data-card=alert]');
    expect(cards).toHaveLength(3);
    for (const w of cards) expect(w).toBeLessThanOrEqual(390);
    const texts = await page.locator('[data-card=alert]').allInnerTexts();
    expect(texts[0]).toContain('新乡市红旗区东街中国移动指定专营店');
    expect(texts[0]).toContain('D0001 · 新乡/红旗区');
    expect(texts[0]).toContain('核心渠道开卡量下降');
    expect(texts[0]).toMatch(/当前 41\s+基线 62\.4/);
    expect(texts[0]).toContain('严重 · 第 2 级通知');
    expect(texts[0]).toContain('确认 4821');
    const hrefs = await page.evaluate<string[]>("[...document.querySelectorAll('a[data-link=console]')].map((a) => a.href)");
    expect(hrefs).toEqual(ALERTS.map((v) => `${PUBLIC}/a/${encodeURIComponent(v.alert.id)}`));
    expect(await page.locator('a[data-link=ack]').first().getAttribute('href')).toBe(ALERTS[0]!.ackUrl);
    await shot(page, 'email-alert-390');

    // A desktop client: still one column, no wider than 600 px.
    await page.setViewportSize(DESKTOP);
    for (const w of await widths(page, '[data-card=alert]')) expect(w).toBeLessThanOrEqual(600);
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'email-alert-1280');

    // English, and the resolve notice, the same way.
    const resolve = zh.emailResolve([{ ...ALERTS[0]!, durationMs: 90 * 60_000 }]);
    expect(resolve.text).toContain(`详情：${PUBLIC}/a/`);
    await page.setViewportSize(PHONE);
    await page.setContent(resolve.html);
    expect(await scrollsSideways(page)).toBe(false);
    expect(await page.locator('[data-card=alert]').innerText()).toContain('告警持续 1 小时 30 分钟');
    await shot(page, 'email-resolve-390');
    const english = en.emailAlert(ALERTS.slice(0, 2));
    expect(english.text).toContain(`Details:    ${PUBLIC}/a/`);
    expect(english.text).toContain('Value:      41 (baseline 62.4)');
    await page.setContent(english.html);
    expect(await scrollsSideways(page)).toBe(false);
    expect(await page.locator('a[data-link=console]').count()).toBe(2);
    await page.close();
  });

  it('daily report: the chart arrives as an inline PNG attachment and shows at 390 px without sideways scroll', async () => {
    const report = dailyReport(campaign, day('2026-11-21'), values(), episodes, ctx);
    const mail = await renderDailyReport(report, 'zh', join(TEMPLATES, 'zh'));
    expect(mail.chartError).toBeUndefined();
    expect(mail.attachments).toEqual([expect.objectContaining({ filename: 'trend.png', contentType: 'image/png', cid: 'trend@lookout' })]);
    expect(mail.html).toContain('src="cid:trend@lookout"');
    expect(mail.html).not.toContain('<svg');

    const got = await deliver(peer, 'report-mail-1', mail);
    const png = got.attachments.find((a) => a.cid === 'trend@lookout');
    expect(png).toMatchObject({ contentType: 'image/png', disposition: 'inline', related: true, filename: 'trend.png' });
    expect(png!.content.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    // The text part is complete without the picture.
    expect(got.text).toContain('投诉量：150（每万目标客户 15）');
    expect(got.text).toMatch(/2026-11-21\s+1060\s+150\s+15\s+45/);
    expect(got.text).toContain('【严重】营销案投诉率超标');

    const page = await browser.newPage({ viewport: PHONE });
    await page.setContent(got.html, { waitUntil: 'load' });
    expect(await scrollsSideways(page)).toBe(false);
    const chart = await chartPixels(page, 'img[data-chart=trendChart]');
    expect(chart.naturalWidth).toBe(640); // 320 px at 2×
    expect(chart.naturalHeight).toBe(192);
    expect(chart.shownWidth).toBeLessThanOrEqual(320);
    expect(chart.bars).toBeGreaterThan(500); // six blue days …
    expect(chart.red).toBeGreaterThan(500); // … and yesterday in red
    expect(await page.getAttribute('img[data-chart=trendChart]', 'alt')).toContain('近 7 天投诉：11-15');
    for (const w of await widths(page, '[data-card]')) expect(w).toBeLessThanOrEqual(390);
    await shot(page, 'report-daily-390');
    await page.setViewportSize(DESKTOP);
    for (const w of await widths(page, '[data-card]')) expect(w).toBeLessThanOrEqual(600);
    await shot(page, 'report-daily-1280');

    // English (LOOKOUT_LOCALE=en): the same layout and chart.
    const en = await renderDailyReport(dailyReport(campaign, day('2026-11-21'), values(), episodes, { ...ctx, locale: 'en' }), 'en', join(TEMPLATES, 'en'));
    await page.setViewportSize(PHONE);
    await page.setContent(webHtml(en), { waitUntil: 'load' });
    expect(await scrollsSideways(page)).toBe(false);
    expect((await chartPixels(page, 'img[data-chart=trendChart]')).naturalWidth).toBe(640);
    expect(await page.getAttribute('img[data-chart=trendChart]', 'alt')).toContain('Complaints, last 7 days: 11-15');
    await shot(page, 'report-daily-en-390');
    await page.close();
  });

  it('post-evaluation: a 52-day chart fits the card at 390 px; the API form inlines it as a data: URL', async () => {
    const record = evaluationRecord(campaign, day('2026-10-01'), values(), episodes, ctx);
    const mail = await renderEvaluation(record, 'zh', join(TEMPLATES, 'zh'));
    expect(mail.attachments.map((a) => a.cid)).toEqual(['daily@lookout']);
    const got = await deliver(peer, 'evaluation-mail-1', mail);
    expect(got.attachments.find((a) => a.cid === 'daily@lookout')).toMatchObject({ contentType: 'image/png', disposition: 'inline' });

    const page = await browser.newPage({ viewport: PHONE });
    await page.setContent(got.html, { waitUntil: 'load' });
    expect(await scrollsSideways(page)).toBe(false);
    const chart = await chartPixels(page, 'img[data-chart=dailyChart]');
    expect(chart.naturalWidth).toBe(2 * 560);
    expect(chart.shownWidth).toBeLessThan(390);
    expect(chart.bars).toBeGreaterThan(300);
    expect(await page.locator('[data-card=response]').innerText()).toContain('营销案投诉激增');
    await shot(page, 'report-evaluation-390');

    // What GET /api/v1/reports/…?format=html serves: the same page, its PNG as a data: URL.
    const web = webHtml(mail);
    expect(web).not.toContain('cid:');
    await page.setContent(web, { waitUntil: 'load' });
    expect((await chartPixels(page, 'img[data-chart=dailyChart]')).naturalWidth).toBe(1120);
    await page.close();
  });

  it('without a font the chart still rasterises (bars, no labels); a chart that cannot be rasterised leaves the SVG inline, never no report', async () => {
    const svg = barChart([{ label: '11-20', value: 3 }, { label: '11-21', value: 9, highlight: true }]);
    const withFont = await svgToPng(svg);
    const noFont = await svgToPng(svg, { fontFiles: [] });
    expect(noFont.chart?.png.subarray(0, 8)).toEqual(new Uint8Array(PNG_SIGNATURE));
    expect(noFont.chart!.width).toBe(withFont.chart!.width);
    expect(noFont.chart!.png.length).toBeLessThan(withFont.chart!.png.length); // the labels are what is missing
    expect((await svgToPng('<svg not really')).error).toBeTruthy();

    const report = dailyReport(campaign, day('2026-11-21'), values(), episodes, ctx);
    const mail = await renderDailyReport(report, 'zh', join(TEMPLATES, 'zh'), { rasterize: async () => ({ error: 'no wasm here' }) });
    expect(mail.attachments).toEqual([]);
    expect(mail.chartError).toContain('no wasm here');
    expect(mail.html).toContain('<svg');
    expect(mail.html).not.toContain('cid:');
    const page = await browser.newPage({ viewport: PHONE });
    await page.setContent(mail.html);
    expect(await scrollsSideways(page)).toBe(false);
    expect(await page.locator('[data-card=trend] svg rect').count()).toBe(7);
    await page.close();
  });
});
