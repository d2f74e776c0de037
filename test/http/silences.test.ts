import { afterEach, describe, expect, it } from 'vitest';
import { MemorySilenceStore } from '../../src/state/memory-silence-store.js';
import { bearer, harness, INGEST_TOKEN, NOW, OPERATOR_TOKEN } from './harness.js';

const HOUR = 3_600_000;
const valid = { matchers: [{ name: 'entity', value: 'D0001' }], duration: '2h', createdBy: '王工', comment: '系统割接，22:00 前数据缺失' };

let store = new MemorySilenceStore();
let h = harness({ silences: store });
afterEach(async () => {
  await h.app.close();
  store = new MemorySilenceStore();
  h = harness({ silences: store });
});

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'POST', url: '/api/v1/silences', headers, payload: payload as object });
const del = (id: string) => h.app.inject({ method: 'DELETE', url: `/api/v1/silences/${id}` });

describe('POST /api/v1/silences', () => {
  it('201 {silence} with id, window, state and author', async () => {
    const res = await post(valid);
    expect(res.statusCode).toBe(201);
    const { silence } = res.json();
    expect(silence).toEqual({
      id: expect.any(String),
      matchers: [{ name: 'entity', value: 'D0001', op: '=' }],
      startsAt: NOW,
      endsAt: NOW + 2 * HOUR,
      createdBy: '王工',
      comment: valid.comment,
      createdAt: NOW,
      updatedAt: NOW,
      state: 'active',
    });
    const { state: _state, ...stored } = silence;
    expect(await store.get(silence.id)).toEqual(stored);
  });

  it('a future start is pending', async () => {
    const res = await post({ ...valid, startsAt: '2026-11-21T22:00:00+08:00', duration: undefined, endsAt: '2026-11-22T06:00:00+08:00' });
    expect(res.statusCode).toBe(201);
    expect(res.json().silence).toMatchObject({ state: 'pending', startsAt: NOW + 12 * HOUR, endsAt: NOW + 20 * HOUR });
  });

  it.each([
    ['no body', undefined, 'expected a JSON object'],
    ['an array', [valid], 'expected a JSON object'],
    ['no end', { ...valid, duration: undefined }, 'endsAt or duration is required'],
    ['a silence of everything', { ...valid, matchers: [{ name: 'rule', value: '.*', op: '=~' }] }, 'at least one must not'],
    ['a bad regex', { ...valid, matchers: [{ name: 'rule', value: '[', op: '=~' }] }, 'invalid regex'],
    ['an end in the past', { ...valid, duration: undefined, endsAt: NOW - 1 }, 'must be in the future'],
  ])('400 bad_request for %s, with the reason', async (_name, payload, message) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
    expect(res.json().error.message).toContain(message);
    expect(await store.list(NOW)).toEqual([]);
  });

  it('503 not_ready when the store fails', async () => {
    store.failWith();
    const res = await post(valid);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('not_ready');
    expect(res.headers['retry-after']).toBe('5');
  });
});

describe('GET /api/v1/silences', () => {
  async function seed() {
    const active = (await post({ ...valid, comment: 'active' })).json().silence;
    h.clock.advance(1000);
    const pending = (await post({ ...valid, comment: 'pending', startsAt: NOW + 10 * HOUR })).json().silence;
    h.clock.advance(1000);
    const ending = (await post({ ...valid, comment: 'ending', duration: '30m' })).json().silence;
    h.clock.set(NOW + HOUR);
    return { active, pending, ending };
  }

  it('lists newest first, each with its state now', async () => {
    await seed();
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/silences' });
    expect(res.statusCode).toBe(200);
    expect(res.json().silences.map((s: { comment: string; state: string }) => [s.comment, s.state])).toEqual([
      ['ending', 'expired'],
      ['pending', 'pending'],
      ['active', 'active'],
    ]);
  });

  it.each(['active', 'pending', 'expired'])('?state=%s', async (state) => {
    await seed();
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/silences?state=${state}` });
    expect(res.json().silences.map((s: { state: string }) => s.state)).toEqual([state]);
  });

  it('an unknown state is a 400 bad_request', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/silences?state=ended' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
  });

  it('GET /:id → {silence}; unknown → 404 not_found', async () => {
    const { pending } = await seed();
    const ok = await h.app.inject({ method: 'GET', url: `/api/v1/silences/${pending.id}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ silence: pending });
    const missing = await h.app.inject({ method: 'GET', url: '/api/v1/silences/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });
});

describe('DELETE /api/v1/silences/:id', () => {
  it('ends an active silence now: 200 {silence} expired', async () => {
    const { silence } = (await post(valid)).json();
    h.clock.set(NOW + HOUR);
    const res = await del(silence.id);
    expect(res.statusCode).toBe(200);
    expect(res.json().silence).toMatchObject({ id: silence.id, startsAt: NOW, endsAt: NOW + HOUR, updatedAt: NOW + HOUR, state: 'expired' });
    expect(await store.active(NOW + HOUR)).toEqual([]);
  });

  it('a pending silence is ended before it starts', async () => {
    const { silence } = (await post({ ...valid, startsAt: NOW + HOUR })).json();
    const res = await del(silence.id);
    expect(res.statusCode).toBe(200);
    expect(res.json().silence).toMatchObject({ startsAt: NOW, endsAt: NOW, state: 'expired' });
  });

  it('409 conflict when it had already ended (deleted, or run out)', async () => {
    const { silence } = (await post(valid)).json();
    h.clock.set(NOW + 60_000);
    expect((await del(silence.id)).statusCode).toBe(200);
    h.clock.set(NOW + 120_000);
    const again = await del(silence.id);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('conflict');
    expect(again.json().error.message).toContain('already ended');

    const short = (await post({ ...valid, duration: '1m' })).json().silence;
    h.clock.set(NOW + 120_000 + 60_000);
    expect((await del(short.id)).statusCode).toBe(409);
  });

  it('404 for an unknown silence', async () => {
    const res = await del('nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});

describe('auth and availability', () => {
  it('needs an operator token when tokens are configured', async () => {
    await h.app.close();
    h = harness({ silences: store, env: { LOOKOUT_API_TOKENS: `ingest:${INGEST_TOKEN},operator:${OPERATOR_TOKEN}` } });
    expect((await post(valid)).statusCode).toBe(401);
    expect((await post(valid, bearer(INGEST_TOKEN))).statusCode).toBe(403);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/silences', headers: bearer(INGEST_TOKEN) })).statusCode).toBe(403);
    expect((await post(valid, bearer(OPERATOR_TOKEN))).statusCode).toBe(201);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/silences', headers: bearer(OPERATOR_TOKEN) })).json().silences).toHaveLength(1);
  });

  it.each([
    ['POST', '/api/v1/silences'],
    ['GET', '/api/v1/silences'],
    ['GET', '/api/v1/silences/x'],
    ['DELETE', '/api/v1/silences/x'],
  ] as const)('%s %s → 503 not_ready without a silence store', async (method, url) => {
    await h.app.close();
    h = harness();
    const res = await h.app.inject({ method, url, ...(method === 'POST' && { payload: valid }) });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('not_ready');
  });
});
