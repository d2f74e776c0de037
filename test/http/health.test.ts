import { afterEach, describe, expect, it } from 'vitest';
import { harness } from './harness.js';

let h = harness();
afterEach(async () => {
  await h.app.close();
  h = harness();
});

describe('health and metrics', () => {
  it('GET /healthz → 200 {status: ok}', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz → 200 with the checks when ready', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { redis: true, rules: true } });
  });

  it('GET /readyz → 503 with the failing check named', async () => {
    h.state.ready = { ok: false, checks: { redis: 'connect ECONNREFUSED', rules: true } };
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', checks: { redis: 'connect ECONNREFUSED', rules: true } });
  });

  it('GET /readyz → 503 when the probe itself throws', async () => {
    h.state.ready = new Error('probe timed out');
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks).toEqual({ ready: 'probe timed out' });
  });

  it('GET /metrics → the exposition text with its content type', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toContain('lookout_up 1');
  });

  it.each([
    ['GET', '/nope'],
    ['GET', '/api/v1/silly'],
    ['DELETE', '/api/v1/samples'],
  ] as const)('%s %s → 404 not_found in the error shape', async (method, url) => {
    const res = await h.app.inject({ method, url });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: `no route ${method} ${url}` } });
  });
});
