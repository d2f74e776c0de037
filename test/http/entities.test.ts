import { afterEach, describe, expect, it } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import { harness } from './harness.js';

const dealer = { id: 'D0001', kind: 'core_dealer', name: '核心渠道甲', region: 'R01', district: 'X01', manager: 'C100', attrs: { monthly_fee: 120, contract_end: '2027-01-15' } };
const outlet = { id: 'G0001', kind: 'grassroots', name: '代理点乙', region: 'R01', district: 'X02', manager: 'C101', attrs: { monthly_fee: 55 } };
const campaign = { id: 'K1', kind: 'campaign', name: '流量包', region: 'R02', attrs: { start: '2026-11-01', end: '2026-11-30', target_customers: 500000, category: 'data', owner: 'C200' } };

let h = harness();
afterEach(async () => {
  await h.app.close();
  h = harness();
});

async function put(payload: unknown) {
  return h.app.inject({ method: 'PUT', url: '/api/v1/entities', payload: payload as object });
}

describe('PUT /api/v1/entities', () => {
  it('200 {upserted} and the registry has them', async () => {
    const res = await put([dealer, outlet, campaign]);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ upserted: 3 });
    expect(await h.registry.get('K1')).toEqual(campaign);
  });

  it('all or nothing: one invalid entity → 400 invalid_entity with details, nothing stored', async () => {
    const res = await put([dealer, { ...outlet, kind: 'outlet' }, { ...campaign, attrs: { end: '2026-11-30', target_customers: 1, owner: 'C1' } }]);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('invalid_entity');
    expect(error.message).toContain('2 of 3');
    expect(error.details).toEqual([
      { index: 1, field: 'kind', message: expect.stringContaining('core_dealer') },
      { index: 2, field: 'attrs.start', message: expect.stringContaining('attrs.start') },
    ]);
    expect(await h.registry.list()).toEqual([]);
  });

  it('duplicate ids in one request are invalid', async () => {
    const res = await put([dealer, dealer]);
    expect(res.json().error.details).toEqual([{ index: 1, field: 'id', message: expect.stringContaining('twice') }]);
  });

  it('a body that is not an array → 400 invalid_entity', async () => {
    const res = await put(dealer);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_entity');
  });

  it('malformed JSON → 400 unparseable_body', async () => {
    const res = await h.app.inject({ method: 'PUT', url: '/api/v1/entities', headers: { 'content-type': 'application/json' }, payload: '[{"id":' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('unparseable_body');
  });

  it('503 not_ready when the registry store fails', async () => {
    h.registry.putMany = async () => {
      throw new Error('READONLY You cannot write against a read only replica.');
    };
    const res = await put([dealer]);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('not_ready');
  });
});

describe('GET /api/v1/entities', () => {
  it('lists with kind / region / district filters', async () => {
    await put([dealer, outlet, campaign]);
    const ids = async (qs: string) => ((await h.app.inject({ method: 'GET', url: `/api/v1/entities${qs}` })).json().entities as Entity[]).map((e) => e.id);
    expect(await ids('')).toEqual(['D0001', 'G0001', 'K1']);
    expect(await ids('?kind=grassroots')).toEqual(['G0001']);
    expect(await ids('?region=R01')).toEqual(['D0001', 'G0001']);
    expect(await ids('?region=R01&district=X01')).toEqual(['D0001']);
    expect(await ids('?district=nowhere')).toEqual([]);
  });

  it('an unknown kind filter is a 400 bad_request', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/entities?kind=dealer' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
  });

  it('GET /:id → {entity}; unknown → 404 not_found', async () => {
    await put([dealer]);
    const ok = await h.app.inject({ method: 'GET', url: '/api/v1/entities/D0001' });
    expect(ok.json()).toEqual({ entity: dealer });
    const missing = await h.app.inject({ method: 'GET', url: '/api/v1/entities/D9999' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toEqual({ code: 'not_found', message: 'no entity "D9999"' });
  });

  it('GET /unknown lists ids seen in samples but not registered, with counts', async () => {
    await put([dealer]);
    h.registry.noteUnknown('D0404', 3);
    h.registry.noteUnknown('D0001', 5);
    h.registry.noteUnknown('D0405');
    h.registry.noteUnknown('D0404', 2);
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/entities/unknown' });
    expect(res.json()).toEqual({
      unknown: [
        { id: 'D0404', samples: 5 },
        { id: 'D0405', samples: 1 },
      ],
    });
  });
});
