// Issue 12 (1): the web console in a real Chromium against a real daemon (open API, Chinese):
// list → filter → alert page → ack; a silence with its live preview, then a warning it mutes;
// ages from the server's clock; 390 px and 1280 px without sideways scrolling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { DESKTOP, launchChromium, PHONE, scrollsSideways, shot } from '../support/browser.js';
import { ingest, notifications, waitForRecords } from '../support/notify.js';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, orgDir, policies } from '../support/org.js';
import { dealerSeries } from '../integration/fixtures.js';
import { buildConsole, CONSOLE_ORG, placedDealer } from './support.js';

describe('web console (open API, zh)', () => {
  let lk: TestLookout;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await buildConsole();
    lk = await startTestLookout({ now: '2026-11-22T09:00:00+08:00', env: { LOOKOUT_CONFIG_DIR: orgDir(CONSOLE_ORG) }, policies: policies(FAST_POLICIES) });
    await lk.registry.putMany([placedDealer('D0001', '红旗区金水路专营店', 'east'), placedDealer('D0002', '卫滨区平原路旗舰店', 'west'), placedDealer('D0003', '卫滨区胜利路加盟店', 'west')]);
    // 65 against 100 (warning) for D0001 and D0002.
    await ingest(lk, [...dealerSeries('D0001', 65), ...dealerSeries('D0002', 65)]);
    await lk.idle();
    // FAST_POLICIES: manager now, district head after 1 s, region head after 2 s — level 3 for both.
    await waitForRecords(lk, { contact: 'RH1' });
    await waitForRecords(lk, { contact: 'RH2' });
    // 90 minutes on the daemon's clock: ages must read 1 h 30 min whatever the browser's clock says.
    lk.manualClock.advance(90 * 60_000);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: PHONE });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lk?.cleanup();
  });

  it('lists open alerts with names, grouped region → district, ages on the server clock, at 390 px', async () => {
    await page.goto(`${lk.url}/`);
    await page.waitForSelector('[data-alert-id]');
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.textContent('h1')).toBe('当前预警');
    const cards = page.locator('[data-alert-id]');
    expect(await cards.count()).toBe(2);
    const text = (await page.textContent('#alert-groups')) ?? '';
    expect(text).toContain('红旗区金水路专营店');
    expect(text).toContain('卫滨区平原路旗舰店');
    expect(text).toContain('核心渠道开卡量下降');
    expect(text).toContain('实际 65 / 基线 100 (-35%)');
    expect(text).toContain('持续 1小时30分');
    expect(text).toContain('第3级');
    expect(text).toContain('已通知: ');
    expect(text).toContain('联系人C001');
    expect(text).toContain('赵经理');
    // Grouped: region headings in order, each district under its region.
    expect(await page.locator('section.region').evaluateAll((els) => els.map((e) => e.getAttribute('data-region')))).toEqual(['R-east', 'R-west']);
    expect(await page.locator('section[data-region="R-west"] [data-district="X-other"] [data-alert-id]').count()).toBe(1);
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'console-list-390');
  });

  it('filters by district, severity and text, keeping the filter in the URL', async () => {
    await page.selectOption('#filter-district', 'X-hongqi');
    await waitFor('one card', async () => (await page.locator('[data-alert-id]').count()) === 1);
    expect(await page.textContent('[data-alert-id]')).toContain('红旗区金水路专营店');
    expect(page.url()).toContain('district=X-hongqi');
    await page.selectOption('#filter-district', '');
    await page.selectOption('#filter-severity', 'critical');
    await page.waitForSelector('#no-alerts');
    await page.selectOption('#filter-severity', '');
    await page.fill('#filter-q', '平原路');
    await waitFor('text filter', async () => (await page.locator('[data-alert-id]').count()) === 1);
    expect(await page.textContent('[data-alert-id]')).toContain('卫滨区平原路旗舰店');
    await page.fill('#filter-q', '');
    await waitFor('both again', async () => (await page.locator('[data-alert-id]').count()) === 2);
  });

  it('opens an alert: chart of 35 days against the baseline, timeline, and an ack that changes the API state', async () => {
    const id = (await lk.alertsOf('D0001'))[0]!.id;
    await page.click(`[data-alert-id="${id}"] a.alert-name`);
    await page.waitForSelector('#timeline li');
    expect(page.url()).toBe(`${lk.url}/alerts/${id}`);
    expect(await page.textContent('#alert-title')).toBe('红旗区金水路专营店');
    // 35 daily slots up to the daemon's today (11-22); data from 10-24, so 29 bars; 11-21 is the judged day.
    const bars = page.locator('svg.chart rect.bar');
    expect(await bars.count()).toBe(29);
    expect(await page.locator('svg.chart rect.bar.judged').getAttribute('data-day')).toBe('2026-11-21');
    expect(await page.locator('svg.chart polyline.baseline').count()).toBe(1);
    const types = await page.locator('#timeline li').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    expect(types[0]).toBe('fired');
    expect(types).toContain('notified');
    expect(await page.textContent('#timeline')).toContain('第1级通知 联系人C001（短信）');
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'console-alert-390');

    await page.fill('#ack-by', '王经理');
    await page.click('#ack-button');
    await page.waitForSelector('#ack-done');
    const acked = await lk.alerts.get(id);
    expect(acked).toMatchObject({ state: 'acknowledged', ack: { by: '王经理', via: 'console' } });
    expect(await page.textContent('#timeline')).toContain('王经理 已确认（控制台）');
    // The list drops to one firing alert in the firing filter.
    await page.click('#nav-alerts');
    await page.selectOption('#filter-state', 'firing');
    await waitFor('only the firing one', async () => (await page.locator('[data-alert-id]').count()) === 1);
    expect(await page.textContent('[data-alert-id]')).toContain('卫滨区平原路旗舰店');
    await page.selectOption('#filter-state', '');
  });

  it('creates a silence whose preview lists the district alert, and the next warning there is recorded muted', async () => {
    await page.goto(`${lk.url}/silences?m=district=X-other`);
    await page.waitForSelector('#silence-preview [data-alert-id]');
    const d2 = (await lk.alertsOf('D0002'))[0]!.id;
    expect(await page.locator('#silence-preview [data-alert-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-alert-id')))).toEqual([d2]);
    // Change the matcher: nothing open in that district → the preview says so.
    await page.fill('.m-value', 'X-nowhere');
    await page.waitForSelector('#preview-note:has-text("没有当前预警会被静默")');
    await page.fill('.m-value', 'X-other');
    await page.waitForSelector('#silence-preview [data-alert-id]');
    await page.fill('#silence-duration', '2h');
    await page.fill('#silence-comment', '卫滨区门店系统割接');
    await page.fill('#silence-by', '王工');
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'console-silence-390');
    await page.click('#silence-create');
    await page.waitForSelector('#silence-list [data-state="active"]');
    const stored = await lk.get<{ silences: { id: string; matchers: unknown[]; comment: string }[] }>('/api/v1/silences?state=active');
    expect(stored.body.silences).toHaveLength(1);
    const silence = stored.body.silences[0]!;
    expect(silence).toMatchObject({ matchers: [{ name: 'district', op: '=', value: 'X-other' }], comment: '卫滨区门店系统割接' });

    // The muter reads silences at most once a second of the daemon's clock.
    lk.manualClock.advance(5000);
    // A new warning in the silenced district: its notifications are recorded as muted by this silence.
    await ingest(lk, dealerSeries('D0003', 65));
    await lk.idle();
    const d3 = (await lk.alertsOf('D0003'))[0]!;
    expect(d3.state).toBe('firing');
    const muted = await waitForRecords(lk, { alert: d3.id, state: 'muted' });
    expect(muted[0]!.reason).toBe(`silence:${silence.id}`);
    expect((await notifications(lk, { alert: d3.id })).every((r) => r.state === 'muted')).toBe(true);

    // Expire it early from the list.
    await page.click(`[data-silence-id="${silence.id}"] button.expire`);
    await page.waitForSelector(`[data-silence-id="${silence.id}"][data-state="expired"]`);
  });

  it('shows the entity page, and at 1280 px nothing scrolls sideways either', async () => {
    await page.goto(`${lk.url}/entities/D0001`);
    await page.waitForSelector('#entity-title');
    expect(await page.textContent('#entity-title')).toBe('红旗区金水路专营店');
    expect(await page.locator('svg.chart').count()).toBeGreaterThan(0);
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'console-entity-390');

    const desk = await browser.newPage({ viewport: DESKTOP });
    for (const path of ['/', `/alerts/${(await lk.alertsOf('D0002'))[0]!.id}`, '/silences', '/entities/D0002']) {
      await desk.goto(`${lk.url}${path}`);
      await desk.waitForLoadState('networkidle');
      expect(await scrollsSideways(desk), path).toBe(false);
    }
    await desk.goto(`${lk.url}/`);
    await desk.waitForSelector('[data-alert-id]');
    // Three open alerts now (D0003 joined), in two columns.
    expect(await desk.locator('[data-alert-id]').count()).toBe(3);
    await shot(desk, 'console-list-1280');
    // Live: an ack made elsewhere shows up without a reload (the list polls every 5 s).
    const d2 = (await lk.alertsOf('D0002'))[0]!.id;
    expect(await desk.getAttribute(`[data-alert-id="${d2}"]`, 'data-state')).toBe('firing');
    expect((await lk.post(`/api/v1/alerts/${d2}/ack`, { by: '李主任' })).status).toBe(200);
    await desk.waitForSelector(`[data-alert-id="${d2}"][data-state="acknowledged"]`, { timeout: 8000 });
    await desk.close();
  });
});
