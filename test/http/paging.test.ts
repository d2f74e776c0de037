// Cursor pagination of list endpoints, and unknown query parameters as a coded 400.
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
import { paginate } from '../../src/http/paging.js';
import { MemorySilenceStore } from '../../src/state/memory-silence-store.js';
import { alertRecord, harness, NOW } from './harness.js';

// Ties on updatedAt make the id tiebreak matter.
const alerts: AlertRecord[] = Array.from({ length: 23 }, (_, i) =>
  alertRecord({ rule: i % 2 ? 'drop' : 'rise', entity: `D${String(i).padStart(4, '0')}`, state: i % 3 ? 'firing' : 'resolved', updatedAt: NOW - Math.floor(i / 4) * 1000 }),
);
const entities = Array.from({ length: 17 }, (_, i) => ({ id: `G${String(i).padStart(3, '0')}`, kind: 'grassroots', name: `点${i}`, region: i % 2 ? 'R01' : 'R02', district: 'X01', attrs: { monthly_fee: 10 } }));

let h = harness({ alerts, silences: new MemorySilenceStore() });
afterEach(async () => {
  await h.app.close();
  h = harness({ alerts, silences: new MemorySilenceStore() });
});

const get = (url: string) => h.app.inject({ method: 'GET', url });

/** Follows `next` from the first page; returns the pages' items and sizes. */
async function walk<T>(path: string, key: string, limit: number): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  let url = `${path}${path.includes('?') ? '&' : '?'}limit=${limit}`;
  for (let i = 0; i < 100; i++) {
    const res = await get(url);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as Record<string, unknown>;
    const page = body[key] as T[];
    items.push(...page);
    sizes.push(page.length);
    if (body.next === undefined) return { items, sizes };
    expect(typeof body.next).toBe('string');
    url = `${path}${path.includes('?') ? '&' : '?'}limit=${limit}&cursor=${encodeURIComponent(body.next as string)}`;
  }
  throw new Error('next never ended');
}

describe('cursor pagination', () => {
  it('alerts: every item once, in the unpaged order, next absent on the last page', async () => {
    const whole = (await get('/api/v1/alerts?limit=1000')).json();
    expect(whole.next).toBeUndefined();
    expect(whole.alerts).toHaveLength(23);
    const { items, sizes } = await walk<AlertRecord>('/api/v1/alerts', 'alerts', 5);
    expect(sizes).toEqual([5, 5, 5, 5, 3]);
    expect(items.map((a) => a.id)).toEqual(whole.alerts.map((a: AlertRecord) => a.id));
    expect(new Set(items.map((a) => a.id)).size).toBe(23);
  });

  it('a filter combines with paging', async () => {
    const firing = alerts.filter((a) => a.state === 'firing').map((a) => a.id).sort();
    const { items } = await walk<AlertRecord>('/api/v1/alerts?state=firing', 'alerts', 4);
    expect(items.map((a) => a.id).sort()).toEqual(firing);
    expect(items.every((a) => a.state === 'firing')).toBe(true);
  });

  it('entities: walk by id with a page size that divides the list exactly', async () => {
    expect((await h.app.inject({ method: 'PUT', url: '/api/v1/entities', payload: entities.slice(0, 16) })).statusCode).toBe(200);
    const { items, sizes } = await walk<{ id: string }>('/api/v1/entities', 'entities', 4);
    expect(sizes).toEqual([4, 4, 4, 4]);
    expect(items.map((e) => e.id)).toEqual(entities.slice(0, 16).map((e) => e.id));
    const r01 = await walk<{ id: string; region: string }>('/api/v1/entities?region=R01', 'entities', 3);
    expect(r01.items.map((e) => e.id)).toEqual(entities.slice(0, 16).filter((e) => e.region === 'R01').map((e) => e.id));
  });

  it('silences: walk newest first', async () => {
    for (let i = 0; i < 7; i++) {
      h.clock.advance(1000);
      const res = await h.app.inject({ method: 'POST', url: '/api/v1/silences', payload: { matchers: [{ name: 'entity', value: `D${i}` }], duration: '2h', createdBy: 'ops', comment: `s${i}` } });
      expect(res.statusCode, res.body).toBe(201);
    }
    const { items, sizes } = await walk<{ comment: string }>('/api/v1/silences', 'silences', 3);
    expect(sizes).toEqual([3, 3, 1]);
    expect(items.map((s) => s.comment)).toEqual(['s6', 's5', 's4', 's3', 's2', 's1', 's0']);
  });

  it('the default page is 100 items', async () => {
    const many = Array.from({ length: 130 }, (_, i) => ({ ...entities[0]!, id: `M${String(i).padStart(3, '0')}` }));
    expect((await h.app.inject({ method: 'PUT', url: '/api/v1/entities', payload: many })).statusCode).toBe(200);
    const first = (await get('/api/v1/entities')).json();
    expect(first.entities).toHaveLength(100);
    const second = (await get(`/api/v1/entities?cursor=${first.next}`)).json();
    expect(second.entities).toHaveLength(30);
    expect(second.next).toBeUndefined();
  });

  it.each([
    ['not base64 JSON', 'nonsense!'],
    ['a cursor of another shape', Buffer.from('["a"]').toString('base64url')],
    ['a JSON object', Buffer.from('{"id":"x"}').toString('base64url')],
  ])('a bad cursor is 400 bad_cursor: %s', async (_name, cursor) => {
    const res = await get(`/api/v1/alerts?cursor=${encodeURIComponent(cursor)}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_cursor');
  });

  it.each(['0', '1001', '2.5', 'ten', '-3'])('limit=%s is 400 bad_request', async (limit) => {
    const res = await get(`/api/v1/entities?limit=${limit}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
    expect(res.json().error.message).toMatch(/limit/);
  });

  it('paginate keeps order with ties and resumes after the cursor item even if it is gone', () => {
    const rows = [
      { t: 2, id: 'b' },
      { t: 3, id: 'a' },
      { t: 2, id: 'a' },
      { t: 1, id: 'z' },
    ];
    const spec = { key: (r: { t: number; id: string }) => [r.t, r.id], shape: ['number', 'string'] as const, descending: [true, false] };
    const p1 = paginate(rows, { ...spec, limit: 2 });
    expect(p1.items).toEqual([rows[1], rows[2]]);
    const p2 = paginate(rows.filter((r) => r !== rows[2]), { ...spec, limit: 2, cursor: p1.next });
    expect(p2.items).toEqual([rows[0], rows[3]]);
    expect(p2.next).toBeUndefined();
  });
});

describe('unknown query parameters', () => {
  it.each([
    ['/api/v1/alerts?limt=2', 'limt'],
    ['/api/v1/entities?kind=campaign&regoin=R01', 'regoin'],
    ['/api/v1/alerts/x?verbose=1', 'verbose'],
    ['/api/v1/silences?page=2', 'page'],
    ['/api/v1/notifications?offset=5', 'offset'],
    ['/api/v1/broadcasts?size=5', 'size'],
    ['/healthz?x=1', 'x'],
    ['/api/v1/openapi.json?pretty', 'pretty'],
  ])('GET %s → 400 unknown_parameter naming it', async (url, name) => {
    const res = await get(url);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('unknown_parameter');
    expect(error.message).toContain(`"${name}"`);
  });

  it('on a POST too, and the message lists what the endpoint takes', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/alerts/x/ack?dry=1', payload: { by: 'C1' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('unknown_parameter');
    const list = await get('/api/v1/alerts?stat=firing');
    expect(list.json().error.message).toMatch(/takes state, rule, entity, severity, kind, region, district, q, limit, cursor/);
  });

  it('an invalid value of a known parameter stays bad_request', async () => {
    const res = await get('/api/v1/alerts?state=burning');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
    expect(res.json().error.message).toMatch(/^querystring\.state: /);
  });
});
