// Issue 12 (1): console sign-in when LOOKOUT_API_TOKENS is set — nothing readable without it, ingest
// tokens refused, viewers read but cannot ack or silence, operators can; the session cookie is
// HttpOnly and SameSite=Strict and a cookie-borne change from another origin is refused. English
// with LOOKOUT_LOCALE=en. A campaign page with its figures and report links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DESKTOP, launchChromium, PHONE, scrollsSideways, shot } from '../support/browser.js';
import { dailySamples, isoDays, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { orgDir } from '../support/org.js';
import { campaign, dealerSeries } from '../integration/fixtures.js';
import { buildConsole, CONSOLE_ORG, placedDealer } from './support.js';

const OPERATOR = 'operator-token-4567';
const VIEWER = 'viewer-token-8901';
const INGEST = 'ingest-token-0123';
const AUTH = { authorization: `Bearer ${OPERATOR}` };

describe('web console sign-in (tokens, en)', () => {
  let lk: TestLookout;
  let browser: Browser;
  let alertId: string;

  beforeAll(async () => {
    await buildConsole();
    lk = await startTestLookout({
      now: '2026-11-22T09:00:00+08:00',
      env: { LOOKOUT_CONFIG_DIR: orgDir(CONSOLE_ORG), LOOKOUT_API_TOKENS: `operator:${OPERATOR},viewer:${VIEWER},ingest:${INGEST}`, LOOKOUT_LOCALE: 'en' },
    });
    await lk.registry.putMany([
      placedDealer('D0001', 'Hongqi Jinshui Rd store', 'east'),
      campaign('M001', { start: '2026-11-01', end: '2026-12-31', target_customers: 100_000 }),
    ]);
    const samples = [...dealerSeries('D0001', 65), ...dailySamples('M001', 'enrollments', isoDays('2026-11-01', 22), () => 500)];
    expect((await lk.post('/api/v1/samples', samples, { authorization: `Bearer ${INGEST}` })).status).toBe(202);
    // Not idle(): the default policy keeps the district head's step delayed for 30 minutes.
    alertId = (await waitFor('the D0001 warning', async () => (await lk.alertsOf('D0001')).find((a) => a.state === 'firing'))).id;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await lk?.cleanup();
  });

  async function signIn(token: string, viewport: { width: number; height: number } = PHONE): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${lk.url}/`);
    await page.waitForSelector('#login-token');
    await page.fill('#login-token', token);
    await page.click('#login-submit');
    await page.waitForSelector('[data-alert-id]');
    return { context, page };
  }

  it('without a session nothing is readable: pages redirect to /login, the API answers 401', async () => {
    for (const path of ['/', `/alerts/${alertId}`, '/silences', '/entities/D0001', '/campaigns/M001']) {
      const res = await fetch(`${lk.url}${path}`, { redirect: 'manual' });
      expect([path, res.status, res.headers.get('location')]).toEqual([path, 302, `/login?next=${encodeURIComponent(path)}`]);
    }
    for (const path of ['/api/v1/console/alerts', `/api/v1/console/alerts/${alertId}`, '/api/v1/alerts', '/api/v1/silences']) {
      expect((await fetch(`${lk.url}${path}`)).status, path).toBe(401);
    }
    // A forged or stale cookie is no session.
    expect((await fetch(`${lk.url}/api/v1/console/alerts`, { headers: { cookie: 'lookout_session=v1.zzzz.abc.def' } })).status).toBe(401);
    const session = await lk.get<{ auth: boolean; signedIn: boolean; locale: string }>('/api/v1/console/session');
    expect(session.body).toMatchObject({ auth: true, signedIn: false, locale: 'en' });
  });

  it('refuses sign-in without a token, with an unknown token and with an ingest token', async () => {
    const page = await browser.newPage({ viewport: PHONE });
    await page.goto(`${lk.url}/silences`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.waitForSelector('#login-token');
    expect(await page.textContent('h1')).toBe('Sign in to the Lookout console');
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'console-login-390');
    // Empty: the form does not submit (required), nothing is set.
    await page.click('#login-submit');
    expect(await page.context().cookies()).toEqual([]);
    await page.fill('#login-token', 'not-a-token-at-all');
    await page.click('#login-submit');
    await page.waitForSelector('#login-status:has-text("unknown token")');
    await page.fill('#login-token', INGEST);
    await page.click('#login-submit');
    await page.waitForSelector('#login-status:has-text("ingest token cannot sign in")');
    expect(await page.context().cookies()).toEqual([]);
    expect(new URL(page.url()).pathname).toBe('/login');
    // The same over plain HTTP.
    const res = await fetch(`${lk.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: INGEST }) });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
    await page.close();
  });

  it('a viewer reads the console in English but cannot ack or silence', async () => {
    const { context, page } = await signIn(VIEWER);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'lookout_session', httpOnly: true, sameSite: 'Strict' });
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.textContent('h1')).toBe('Open alerts');
    const card = (await page.textContent('[data-alert-id]')) ?? '';
    expect(card).toContain('Hongqi Jinshui Rd store');
    expect(card).toContain('Warning');
    expect(card).toContain('Value 65 / Baseline 100 (-35%)');
    expect(await page.textContent('label.filter span')).toBe('State');

    await page.click('a.alert-name');
    await page.waitForSelector('#ack-readonly');
    expect(await page.textContent('#ack-readonly')).toBe('Only operators can acknowledge');
    expect(await page.locator('#ack-button').count()).toBe(0);
    // The cookie reads the API; acting with it is refused.
    const ack = await page.evaluate<{ status: number; code: string }>(`fetch('/api/v1/console/alerts/${alertId}/ack', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({by: 'viewer'})}).then(async (r) => ({status: r.status, code: (await r.json()).error.code}))`);
    expect(ack).toEqual({ status: 403, code: 'forbidden' });
    const silence = await page.evaluate<number>(`fetch('/api/v1/silences', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({matchers: [{name: 'entity', value: 'D0001'}], duration: '1h', createdBy: 'v', comment: 'v'})}).then((r) => r.status)`);
    expect(silence).toBe(403);
    expect((await lk.alerts.get(alertId))?.state).toBe('firing');

    await page.click('#nav-silences');
    await page.waitForSelector('#silence-readonly');
    expect(await page.locator('#silence-form').count()).toBe(0);
    await shot(page, 'console-viewer-silences-390');
    await context.close();
  });

  it('an operator acks; a cookie-borne change from another origin is refused', async () => {
    const { context, page } = await signIn(OPERATOR, DESKTOP);
    const [cookie] = await context.cookies();
    const jar = `${cookie!.name}=${cookie!.value}`;
    // CSRF: the same cookie from a foreign Origin (or none) cannot act; reading is fine.
    const foreign = await fetch(`${lk.url}/api/v1/console/alerts/${alertId}/ack`, { method: 'POST', headers: { cookie: jar, origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ by: 'x' }) });
    expect(foreign.status).toBe(403);
    const noOrigin = await fetch(`${lk.url}/api/v1/silences`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json' }, body: '{}' });
    expect(noOrigin.status).toBe(403);
    expect((await fetch(`${lk.url}/api/v1/console/alerts`, { headers: { cookie: jar } })).status).toBe(200);
    expect((await lk.alerts.get(alertId))?.state).toBe('firing');

    await page.click('a.alert-name');
    await page.waitForSelector('#ack-button');
    await page.fill('#ack-by', 'Wang');
    await page.click('#ack-button');
    await page.waitForSelector('#ack-done');
    expect(await lk.alerts.get(alertId)).toMatchObject({ state: 'acknowledged', ack: { by: 'Wang', via: 'console' } });
    expect(await page.textContent('#timeline')).toContain('Acknowledged by Wang (console)');
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'console-alert-en-1280');

    // Signing out ends the session for the API too.
    await page.click('#sign-out');
    await page.waitForURL(/\/login/);
    expect((await page.evaluate<number>(`fetch('/api/v1/console/alerts').then((r) => r.status)`))).toBe(401);
    await context.close();
  });

  it('shows a campaign with live figures and links to its daily report and evaluation record', async () => {
    const { context, page } = await signIn(VIEWER);
    await page.goto(`${lk.url}/campaigns/M001`);
    await page.waitForSelector('#campaign-figures');
    expect(await page.textContent('#campaign-title')).toBe('营销案 M001');
    expect(await page.textContent('#campaign-phase')).toBe('live (monitored)');
    expect(await page.textContent('#campaign-figures')).toContain('500');
    expect(await page.getAttribute('#daily-report', 'href')).toBe('/api/v1/reports/campaigns/M001/daily?format=html');
    expect(await page.getAttribute('#evaluation-link', 'href')).toBe('/api/v1/campaigns/M001/evaluation');
    // The report link works with the session cookie.
    expect(await page.evaluate<number>(`fetch('/api/v1/reports/campaigns/M001/daily?format=html').then((r) => r.status)`)).toBe(200);
    expect(await scrollsSideways(page)).toBe(false);
    await shot(page, 'console-campaign-390');
    await context.close();
    // Bearer tokens keep working beside sessions.
    expect((await lk.get('/api/v1/console/alerts', AUTH)).status).toBe(200);
  });
});
