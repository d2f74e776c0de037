import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
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
    expect(ok.json()).toEqual({ alert: firing });
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
    expect(await h.alerts.get(firing.id)).toEqual(alert);
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
