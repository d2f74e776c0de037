import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import type { AlertRecord } from '../../src/domain/alert.js';
import { Calendar, ManualClock } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import { buildHttpServer } from '../../src/http/server.js';
import { signAckLink, type AckLinkClaims } from '../../src/notify/ack-link.js';
import { MemoryAlertStore, MemoryRegistryStore, MemorySampleSink } from '../../src/state/memory-stores.js';
import { alertRecord, NOW } from './harness.js';

const SECRET = 'link-secret-0123456789';
const HOUR = 3_600_000;

const dealer: Entity = { id: 'D0001', kind: 'core_dealer', name: '新乡<script>alert("x")</script>店', region: '新乡', district: '红旗区', manager: 'M01', attrs: {} };
const firing = alertRecord({ rule: 'core_dealer_card_opening_drop', entity: 'D0001', episode: 2, severity: 'critical' });
const resolved = alertRecord({ rule: 'core_dealer_card_opening_drop', entity: 'D0002', state: 'resolved', resolvedAt: NOW - 1000 });

/** The HTTP app over in-memory stores, with ack links on (the shared harness leaves them off). */
function ackHarness(opts: { secret?: string | null; env?: Record<string, string> } = {}) {
  const config = loadConfig({ LOOKOUT_TZ: 'Asia/Shanghai', LOOKOUT_PUBLIC_URL: 'https://lookout.example.cn', ...opts.env });
  const clock = new ManualClock(NOW);
  const alerts = new MemoryAlertStore([firing, resolved]);
  const registry = new MemoryRegistryStore([dealer]);
  const app = buildHttpServer({
    config,
    clock,
    calendar: new Calendar(config.timeZone),
    metrics: () => metricCatalogue(),
    sink: new MemorySampleSink(),
    registry,
    alerts,
    ready: async () => ({ ok: true, checks: {} }),
    metricsText: async () => ({ contentType: 'text/plain', body: '' }),
    ruleTitle: (id) => (id === 'core_dealer_card_opening_drop' ? '核心渠道开卡量下降' : undefined),
    contactName: (id) => ({ M01: '张伟' })[id],
    ...(opts.secret !== null && { ackLinks: { secret: opts.secret ?? SECRET } }),
  });
  return { app, clock, alerts };
}

const token = (alert: AlertRecord, over: Partial<AckLinkClaims> = {}) =>
  signAckLink(SECRET, { alert: alert.id, episode: alert.episode, contact: 'M01', exp: NOW + 72 * HOUR, ...over });

let h = ackHarness();
afterEach(async () => {
  await h.app.close();
  h = ackHarness();
});

const get = (t: string, headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url: `/ack/${t}`, headers });
const post = (t: string, headers: Record<string, string> = {}) => h.app.inject({ method: 'POST', url: `/ack/${t}`, headers });
const codeOf = (html: string) => /data-code="([^"]+)"/.exec(html)?.[1];

describe('GET /ack/:token', () => {
  it('shows the alert and a form that posts back, without acknowledging', async () => {
    const res = await get(token(firing));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.body).toContain('<html lang="zh-CN">');
    // The rule by its title, the recipient by name, not their ids.
    expect(res.body).toContain('<dt>预警规则</dt><dd>核心渠道开卡量下降</dd>');
    expect(res.body).not.toContain('core_dealer_card_opening_drop');
    expect(res.body).toContain('<dt>接收人</dt><dd>张伟</dd>');
    expect(res.body).toContain('<dt>区域</dt><dd>新乡 / 红旗区</dd>');
    expect(res.body).toContain(`<a href="https://lookout.example.cn/a/${firing.id}">在控制台查看详情</a>`);
    expect(res.body).toContain('开卡量 40，同期基线 100，下降 60%');
    expect(res.body).toContain('告警中');
    expect(res.body).toMatch(/<form method="post"><button type="submit">确认收到<\/button><\/form>/);
    expect(codeOf(res.body)).toBe('confirm');
    expect((await h.alerts.get(firing.id))!.state).toBe('firing');
    expect(h.alerts.events).toHaveLength(0);
  });

  it('escapes the entity name', async () => {
    const res = await get(token(firing));
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('新乡&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;店（D0001）');
  });

  it('an old episode shows "already ended" and no button', async () => {
    const res = await get(token(firing, { episode: 1 }));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('该预警已经结束');
    expect(res.body).not.toContain('<form');
  });

  it('JSON when asked', async () => {
    const res = await get(token(firing), { accept: 'application/json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: 'confirm',
      ackable: true,
      consoleUrl: `https://lookout.example.cn/a/${firing.id}`,
      alert: { id: firing.id, state: 'firing', name: dealer.name, district: '红旗区', ruleTitle: '核心渠道开卡量下降' },
    });
  });
});

describe('POST /ack/:token', () => {
  it('acknowledges as the contact, via link: 200 已确认', async () => {
    h.clock.set(NOW + 60_000);
    const res = await post(token(firing));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('已确认，升级通知已停止。');
    expect(codeOf(res.body)).toBe('acknowledged');
    expect((await h.alerts.get(firing.id))!).toMatchObject({ state: 'acknowledged', ack: { by: 'M01', via: 'link', at: NOW + 60_000 } });
    expect(h.alerts.events.map((e) => e.change)).toEqual(['ack']);
  });

  it('accepts the browser form post (urlencoded body)', async () => {
    const res = await h.app.inject({ method: 'POST', url: `/ack/${token(firing)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    expect(res.statusCode).toBe(200);
    expect(codeOf(res.body)).toBe('acknowledged');
  });

  it('a second press says it was already acknowledged (200, no second event)', async () => {
    await post(token(firing));
    h.clock.set(NOW + 5 * 60_000);
    const again = await post(token(firing, { contact: 'D01' }));
    expect(again.statusCode).toBe(200);
    expect(codeOf(again.body)).toBe('already_acknowledged');
    expect(again.body).toContain('该预警已由 张伟 于');
    expect(h.alerts.events).toHaveLength(1);
  });

  it('an old episode never acknowledges the new one: 409', async () => {
    const res = await post(token(firing, { episode: 1 }));
    expect(res.statusCode).toBe(409);
    expect(codeOf(res.body)).toBe('not_ackable');
    expect(res.body).toContain('该预警已经结束');
    expect((await h.alerts.get(firing.id))!.state).toBe('firing');
  });

  it('a resolved alert: 409 not_ackable', async () => {
    const res = await post(token(resolved), { accept: 'application/json' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('not_ackable');
  });

  it('JSON when asked', async () => {
    const res = await post(token(firing), { accept: 'application/json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ outcome: 'acknowledged', alert: { id: firing.id, state: 'acknowledged', ack: { by: 'M01' }, name: dealer.name, ruleTitle: '核心渠道开卡量下降' } });
  });
});

describe('bad links', () => {
  const tampered = () => {
    const t = token(firing);
    return `${t.slice(0, -2)}${t.endsWith('AA') ? 'BB' : 'AA'}`;
  };

  it.each(['GET', 'POST'] as const)('%s tampered → 400 link_invalid (page and JSON), nothing acknowledged', async (method) => {
    const page = await h.app.inject({ method, url: `/ack/${tampered()}` });
    expect(page.statusCode).toBe(400);
    expect(codeOf(page.body)).toBe('link_invalid');
    expect(page.body).not.toContain(firing.summary);
    const json = await h.app.inject({ method, url: `/ack/${tampered()}`, headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(400);
    expect(json.json().error.code).toBe('link_invalid');
    expect(h.alerts.events).toHaveLength(0);
  });

  it.each(['GET', 'POST'] as const)('%s expired → 410 link_expired', async (method) => {
    h.clock.set(NOW + 73 * HOUR);
    const res = await h.app.inject({ method, url: `/ack/${token(firing)}` });
    expect(res.statusCode).toBe(410);
    expect(codeOf(res.body)).toBe('link_expired');
    expect(res.body).toContain('确认链接已过期');
    expect((await h.alerts.get(firing.id))!.state).toBe('firing');
  });

  it('a long token (long contact id) still routes', async () => {
    const t = token(firing, { contact: 'zhang.wei.xinxiang.hongqi.channel-manager' });
    expect(t.length).toBeGreaterThan(100);
    const res = await post(t);
    expect(res.statusCode).toBe(200);
    expect((await h.alerts.get(firing.id))!.ack?.by).toBe('zhang.wei.xinxiang.hongqi.channel-manager');
  });

  it('a contact without a name in contacts.csv is shown by id', async () => {
    const res = await get(token(firing, { contact: 'M99' }));
    expect(res.body).toContain('<dt>接收人</dt><dd>M99</dd>');
  });

  it('a path with more segments is an invalid link', async () => {
    const res = await get(`${token(firing)}/extra`);
    expect(res.statusCode).toBe(400);
    expect(codeOf(res.body)).toBe('link_invalid');
  });

  it('a link to an alert that does not exist → 404', async () => {
    const res = await post(signAckLink(SECRET, { alert: '0000000000000000', episode: 1, contact: 'M01', exp: NOW + HOUR }));
    expect(res.statusCode).toBe(404);
    expect(codeOf(res.body)).toBe('not_found');
  });

  it('signed with another secret → 400', async () => {
    const res = await post(signAckLink('not-the-secret', { alert: firing.id, episode: 2, contact: 'M01', exp: NOW + HOUR }));
    expect(res.statusCode).toBe(400);
  });
});

describe('configuration', () => {
  it('no LOOKOUT_LINK_SECRET → 404 for GET and POST', async () => {
    await h.app.close();
    h = ackHarness({ secret: null });
    for (const method of ['GET', 'POST'] as const) {
      const res = await h.app.inject({ method, url: `/ack/${token(firing)}` });
      expect(res.statusCode).toBe(404);
      expect(codeOf(res.body)).toBe('not_found');
    }
    expect(h.alerts.events).toHaveLength(0);
  });

  it('needs no bearer token even when the API has tokens', async () => {
    await h.app.close();
    h = ackHarness({ env: { LOOKOUT_API_TOKENS: 'operator:operator-token-4567' } });
    expect((await post(token(firing))).statusCode).toBe(200);
  });

  it('English pages with LOOKOUT_LOCALE=en', async () => {
    await h.app.close();
    h = ackHarness({ env: { LOOKOUT_LOCALE: 'en' } });
    const page = await get(token(firing));
    expect(page.body).toContain('<html lang="en">');
    expect(page.body).toContain('<dt>Sent to</dt><dd>张伟</dd>');
    expect(page.body).toContain('>Open in the console</a>');
    expect(page.body).toContain('>Acknowledge</button>');
    const res = await post(token(firing));
    expect(res.body).toContain('Acknowledged. The escalation has stopped.');
  });
});
