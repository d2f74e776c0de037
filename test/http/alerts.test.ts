import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
import type { Entity } from '../../src/domain/entity.js';
import { alertRecord, harness, NOW } from './harness.js';

const firing = alertRecord({ rule: 'core-dealer-drop', entity: 'D0001', updatedAt: NOW - 1000 });
const pending = alertRecord({ rule: 'core-dealer-drop', entity: 'D0002', state: 'pending', firingAt: undefined, updatedAt: NOW - 2000 });
const resolved = alertRecord({ rule: 'campaign-complaints', entity: 'K1', state: 'resolved', severity: 'critical', resolvedAt: NOW - 500, updatedAt: NOW - 500 });
const seed = () => harness({ alerts: [firing, pending, resolved] });

let h = seed();
afterEach(async () => {
  await h.app.close();
  h = seed();
});

const ids = (alerts: AlertRecord[]) => alerts.map((a) => a.entity);

describe('GET /api/v1/alerts', () => {
  it('lists all, newest change first', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/alerts' });
    expect(res.statusCode).toBe(200);
    expect(ids(res.json().alerts)).toEqual(['K1', 'D0001', 'D0002']);
  });

  it.each([
    ['?state=firing', ['D0001']],
    ['?state=pending', ['D0002']],
    ['?rule=core-dealer-drop', ['D0001', 'D0002']],
    ['?entity=K1', ['K1']],
    ['?rule=core-dealer-drop&state=resolved', []],
  ])('filters %s', async (qs, expected) => {
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/alerts${qs}` });
    expect(ids(res.json().alerts)).toEqual(expected);
  });

  it('an unknown state is a 400 bad_request', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/alerts?state=open' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
  });

  it('GET /:id → {alert}; unknown → 404 not_found', async () => {
    const ok = await h.app.inject({ method: 'GET', url: `/api/v1/alerts/${firing.id}` });
    // Without a registry entry or a loaded rule, the names fall back to the ids.
    expect(ok.json()).toEqual({ alert: { ...firing, name: 'D0001', ruleTitle: 'core-dealer-drop' } });
    const missing = await h.app.inject({ method: 'GET', url: '/api/v1/alerts/0000000000000000' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });
});

describe('POST /api/v1/alerts/:id/ack', () => {
  const ack = (id: string, payload?: unknown) => h.app.inject({ method: 'POST', url: `/api/v1/alerts/${id}/ack`, ...(payload !== undefined && { payload: payload as object }) });

  it('acknowledges a firing alert: 200 {alert} with by, at, via api', async () => {
    h.clock.set(NOW + 60_000);
    const res = await ack(firing.id, { by: '张经理' });
    expect(res.statusCode).toBe(200);
    const { alert } = res.json();
    expect(alert).toMatchObject({ id: firing.id, state: 'acknowledged', seq: firing.seq + 1, ack: { by: '张经理', at: NOW + 60_000, via: 'api' } });
    const { name, ruleTitle, ...stored } = alert;
    expect({ name, ruleTitle }).toEqual({ name: 'D0001', ruleTitle: 'core-dealer-drop' });
    expect(await h.alerts.get(firing.id)).toEqual(stored);
    expect(h.alerts.events.map((e) => e.change)).toEqual(['ack']);
  });

  it('acknowledging twice is harmless (200, no second event)', async () => {
    await ack(firing.id, { by: 'a' });
    const again = await ack(firing.id, { by: 'b' });
    expect(again.statusCode).toBe(200);
    expect(again.json().alert.ack.by).toBe('a');
    expect(h.alerts.events).toHaveLength(1);
  });

  it.each([
    ['pending', pending],
    ['resolved', resolved],
  ])('409 not_ackable for a %s alert', async (state, rec) => {
    const res = await ack(rec.id, { by: 'x' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('not_ackable');
    expect(res.json().error.message).toContain(state);
  });

  it('404 not_found for an unknown alert', async () => {
    const res = await ack('0000000000000000', { by: 'x' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it.each([
    ['no body', undefined],
    ['no by', {}],
    ['empty by', { by: '' }],
    ['blank by', { by: '   ' }],
    ['by as object', { by: { name: 'x' } }],
  ])('400 bad_request: %s', async (_name, payload) => {
    const res = await ack(firing.id, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
    expect((await h.alerts.get(firing.id))!.state).toBe('firing');
  });
});

describe('names in the alerts API', () => {
  const entities: Entity[] = [
    { id: 'D0001', kind: 'core_dealer', name: '红旗区旗舰专营店', region: '新乡', district: '红旗区', manager: 'M01', attrs: {} },
    { id: 'D0002', kind: 'core_dealer', name: '卫滨区通讯城', region: '新乡', district: '卫滨区', attrs: {} },
    { id: 'K1', kind: 'campaign', name: '5G畅享包升级营销案', region: '新乡', attrs: {} },
  ];
  const ruleTitles = { 'core-dealer-drop': '核心渠道开卡量下降', 'campaign-complaints': '营销案投诉率超标' };
  let n = harness({ alerts: [firing, pending, resolved], entities, ruleTitles });
  afterEach(async () => {
    await n.app.close();
    n = harness({ alerts: [firing, pending, resolved], entities, ruleTitles });
  });
  const list = async (qs = '') => {
    const res = await n.app.inject({ method: 'GET', url: `/api/v1/alerts${qs}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().alerts as (AlertRecord & { name: string; ruleTitle: string; region?: string; district?: string; kind?: string })[];
  };

  it('list, one and the ack answer carry name, kind, region, district and ruleTitle', async () => {
    const [k1, d1] = await list();
    expect(k1).toMatchObject({ entity: 'K1', name: '5G畅享包升级营销案', kind: 'campaign', region: '新乡', ruleTitle: '营销案投诉率超标' });
    expect(k1).not.toHaveProperty('district');
    expect(d1).toMatchObject({ entity: 'D0001', name: '红旗区旗舰专营店', kind: 'core_dealer', region: '新乡', district: '红旗区', ruleTitle: '核心渠道开卡量下降' });
    const one = await n.app.inject({ method: 'GET', url: `/api/v1/alerts/${firing.id}` });
    expect(one.json().alert).toEqual({ ...firing, name: '红旗区旗舰专营店', kind: 'core_dealer', region: '新乡', district: '红旗区', ruleTitle: '核心渠道开卡量下降' });
    const acked = await n.app.inject({ method: 'POST', url: `/api/v1/alerts/${firing.id}/ack`, payload: { by: '张经理' } });
    expect(acked.json().alert).toMatchObject({ state: 'acknowledged', name: '红旗区旗舰专营店', district: '红旗区', ruleTitle: '核心渠道开卡量下降' });
  });

  it('names are read when answering: a renamed entity shows its new name', async () => {
    await n.registry.putMany([{ ...entities[0]!, name: '红旗区旗舰店（新址）', district: '牧野区' }]);
    const one = await n.app.inject({ method: 'GET', url: `/api/v1/alerts/${firing.id}` });
    expect(one.json().alert).toMatchObject({ name: '红旗区旗舰店（新址）', district: '牧野区' });
  });

  it.each([
    ['?severity=critical', ['K1']],
    ['?severity=warning', ['D0001', 'D0002']],
    ['?kind=campaign', ['K1']],
    ['?kind=core_dealer&state=firing', ['D0001']],
    ['?region=新乡', ['K1', 'D0001', 'D0002']],
    ['?district=卫滨区', ['D0002']],
    ['?q=通讯城', ['D0002']],
    ['?q=d000', ['D0001', 'D0002']],
    ['?q=投诉率', ['K1']],
    ['?q=core-dealer', ['D0001', 'D0002']],
    ['?q=nothing-like-it', []],
  ])('filters %s', async (qs, expected) => {
    expect((await list(encodeURI(qs))).map((a) => a.entity)).toEqual(expected);
  });

  it('filters combine with paging', async () => {
    const first = await n.app.inject({ method: 'GET', url: `/api/v1/alerts?${new URLSearchParams({ region: '新乡', limit: '2' })}` });
    expect(first.json().alerts.map((a: AlertRecord) => a.entity)).toEqual(['K1', 'D0001']);
    const next = await n.app.inject({ method: 'GET', url: `/api/v1/alerts?${new URLSearchParams({ region: '新乡', limit: '2', cursor: first.json().next })}` });
    expect(next.json().alerts.map((a: AlertRecord) => a.entity)).toEqual(['D0002']);
    expect(next.json().next).toBeUndefined();
  });

  it('many entities (one registry read) are named the same way as a few (read one by one)', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `G${String(i).padStart(4, '0')}`);
    const many = harness({
      alerts: ids.map((id, i) => alertRecord({ rule: 'core-dealer-drop', entity: id, updatedAt: NOW - i })),
      entities: ids.filter((_, i) => i % 2 === 0).map((id) => ({ id, kind: 'grassroots' as const, name: `网点 ${id}`, district: '红旗区', attrs: {} })),
      ruleTitles,
    });
    try {
      const res = await many.app.inject({ method: 'GET', url: '/api/v1/alerts?limit=1000' });
      const alerts = res.json().alerts as { entity: string; name: string; district?: string; ruleTitle: string }[];
      expect(alerts).toHaveLength(40);
      for (const [i, a] of alerts.entries()) {
        expect(a).toMatchObject(i % 2 === 0 ? { name: `网点 ${a.entity}`, district: '红旗区' } : { name: a.entity });
        expect(a.ruleTitle).toBe('核心渠道开卡量下降');
      }
      const few = await many.app.inject({ method: 'GET', url: `/api/v1/alerts?entity=${ids[0]}` });
      expect(few.json().alerts[0]).toMatchObject({ name: `网点 ${ids[0]}`, district: '红旗区' });
    } finally {
      await many.app.close();
    }
  });

  it('an unknown severity is a 400 bad_request', async () => {
    const res = await n.app.inject({ method: 'GET', url: '/api/v1/alerts?severity=major' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
  });
});
