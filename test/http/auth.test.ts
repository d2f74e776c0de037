import { afterEach, describe, expect, it } from 'vitest';
import { alertRecord, bearer, harness, INGEST_TOKEN, OPERATOR_TOKEN } from './harness.js';

const env = { LOOKOUT_API_TOKENS: `ingest:${INGEST_TOKEN},operator:${OPERATOR_TOKEN}` };
const samples = [{ metric: 'card_opening', entity: 'D0001', value: 1 }];
const entities = [{ id: 'D0001', kind: 'core_dealer', name: '甲' }];

let h = harness({ env, withLogger: true, alerts: [alertRecord({ rule: 'r', entity: 'D0001' })] });
afterEach(async () => {
  await h.app.close();
  h = harness({ env, withLogger: true, alerts: [alertRecord({ rule: 'r', entity: 'D0001' })] });
});

describe('bearer tokens', () => {
  it.each([
    ['no header', {}, 'missing'],
    ['unknown token', bearer('not-a-real-token'), 'unknown token'],
    ['wrong scheme', { authorization: `Basic ${INGEST_TOKEN}` }, 'missing'],
  ])('401 unauthorized: %s', async (_name, headers, inMessage) => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers, payload: samples });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
    expect(res.json().error.message).toContain(inMessage);
    expect(res.headers['www-authenticate']).toContain('Bearer');
    expect(h.sink.batches).toEqual([]);
  });

  it('an ingest token may POST samples and PUT entities', async () => {
    const a = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: bearer(INGEST_TOKEN), payload: samples });
    const b = await h.app.inject({ method: 'PUT', url: '/api/v1/entities', headers: bearer(INGEST_TOKEN), payload: entities });
    expect([a.statusCode, b.statusCode]).toEqual([202, 200]);
  });

  it('the scheme is case-insensitive', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { authorization: `bearer ${INGEST_TOKEN}` }, payload: samples });
    expect(res.statusCode).toBe(202);
  });

  it.each([
    ['GET', '/api/v1/alerts'],
    ['GET', '/api/v1/alerts/abc'],
    ['POST', '/api/v1/alerts/abc/ack'],
    ['GET', '/api/v1/entities'],
    ['GET', '/api/v1/entities/unknown'],
    ['GET', '/api/v1/entities/D0001'],
  ] as const)('403 forbidden for an ingest token on %s %s', async (method, url) => {
    const res = await h.app.inject({ method, url, headers: bearer(INGEST_TOKEN), ...(method === 'POST' && { payload: { by: 'x' } }) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('forbidden');
  });

  it('an operator token may do everything', async () => {
    for (const [method, url, payload] of [
      ['POST', '/api/v1/samples', samples],
      ['PUT', '/api/v1/entities', entities],
      ['GET', '/api/v1/alerts', undefined],
      ['GET', '/api/v1/entities', undefined],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: bearer(OPERATOR_TOKEN), ...(payload && { payload }) });
      expect(res.statusCode, `${method} ${url}`).toBeLessThan(300);
    }
  });

  it('auth is checked before the body is read: an unauthenticated 50 MB body gets 401, not 413', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { 'content-type': 'application/json' }, payload: Buffer.alloc(50 * 1024 * 1024, 0x20) });
    expect(res.statusCode).toBe(401);
  });

  it.each(['/healthz', '/readyz', '/metrics'])('%s is open', async (url) => {
    const res = await h.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
  });

  it('tokens never reach the log', async () => {
    await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: bearer(INGEST_TOKEN), payload: samples });
    await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: bearer(INGEST_TOKEN) });
    await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: bearer('some-wrong-token-999') });
    h.sink.failWith();
    await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: bearer(OPERATOR_TOKEN), payload: samples });
    const log = h.logLines.join('');
    expect(h.logLines.length).toBeGreaterThanOrEqual(4);
    expect(log).toContain('"route":"/api/v1/samples"');
    expect(log).toContain('ECONNREFUSED');
    for (const secret of [INGEST_TOKEN, OPERATOR_TOKEN, 'some-wrong-token-999', 'Bearer']) expect(log).not.toContain(secret);
  });

  it('without LOOKOUT_API_TOKENS the API is open', async () => {
    const open = harness();
    const res = await open.app.inject({ method: 'GET', url: '/api/v1/alerts' });
    expect(res.statusCode).toBe(200);
    await open.app.close();
  });
});
