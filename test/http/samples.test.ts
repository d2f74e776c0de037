import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, NOW } from './harness.js';

const sample = (over: Record<string, unknown> = {}) => ({
  metric: 'card_opening',
  entity: 'D0001',
  value: 37,
  ts: '2026-11-21T00:00:00+08:00',
  id: 'D0001/card_opening/2026-11-21',
  labels: { category: 'billing' },
  ...over,
});

let h = harness();
afterEach(async () => {
  await h.app.close();
  h = harness();
});

describe('POST /api/v1/samples', () => {
  it('202 {accepted, rejected} for a JSON array; samples are in the sink before the reply', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', payload: [sample(), sample({ entity: 'D0002', id: undefined })] });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 2, rejected: [], rejected_total: 0, rejected_by_code: {} });
    expect(h.sink.batches).toHaveLength(1);
    expect(h.sink.batches[0]!.source).toBe('http');
    expect(h.sink.samples[0]).toEqual({
      metric: 'card_opening',
      entity: 'D0001',
      value: 37,
      ts: Date.parse('2026-11-20T16:00:00Z'),
      id: 'D0001/card_opening/2026-11-21',
      labels: { category: 'billing' },
    });
    expect(h.sink.samples[1]!.id).toBeUndefined();
    expect(h.ingested).toEqual([{ accepted: 2, rejected: [], source: 'http' }]);
  });

  it('a single JSON object is a batch of one; ts defaults to now', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', payload: { metric: 'complaints', entity: 'K1', value: '3' } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 1, rejected: [], rejected_total: 0, rejected_by_code: {} });
    expect(h.sink.samples[0]).toEqual({ metric: 'complaints', entity: 'K1', value: 3, ts: NOW });
  });

  it('mixed batch: good samples kept, each bad one rejected with index, code and message', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/samples',
      payload: [sample(), sample({ value: -1, id: 'x' }), sample({ metric: 'nope', id: 'y' }), sample({ entity: 'D0003', id: 'z', ts: 'soon' })],
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'negative_value'],
      [2, 'unknown_metric'],
      [3, 'bad_ts'],
    ]);
    for (const r of body.rejected) expect(typeof r.message).toBe('string');
    expect(h.sink.samples).toHaveLength(1);
  });

  it('duplicate ids in one batch: the later one is stored', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', payload: [sample({ value: 1 }), sample({ value: 2 })] });
    expect(res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 0, code: 'duplicate_id' }] });
    expect(h.sink.samples.map((s) => s.value)).toEqual([2]);
  });

  it.each(['application/x-ndjson', 'text/plain', 'application/json'])('NDJSON body as %s', async (type) => {
    const body = [sample({ id: 'a' }), sample({ id: 'b' })].map((s) => JSON.stringify(s)).join('\n') + '\n';
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { 'content-type': type }, payload: body });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 2, rejected: [], rejected_total: 0, rejected_by_code: {} });
  });

  it('NDJSON: a torn line is a bad_row at its index, the rest is kept', async () => {
    const body = `${JSON.stringify(sample({ id: 'a' }))}\n{"metric":"card_open\n${JSON.stringify(sample({ id: 'c', value: 'abc' }))}\n${JSON.stringify(sample({ id: 'd' }))}\n`;
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { 'content-type': 'application/x-ndjson; charset=utf-8' }, payload: body });
    expect(res.statusCode).toBe(202);
    const json = res.json();
    expect(json.accepted).toBe(2);
    expect(json.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'bad_row'],
      [2, 'bad_value'],
    ]);
    expect(json.rejected[0].message).toContain('NDJSON line 2');
  });

  it('everything rejected → still 202 with accepted 0; the sink is not touched', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', payload: [{ metric: 'x' }] });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 0, rejected: [{ index: 0, code: 'unknown_metric' }] });
    expect(h.sink.batches).toEqual([]);
  });

  it.each([
    ['garbage', 'application/json', 'this is not json'],
    ['broken array', 'application/json', '[{"metric":"card_opening",'],
    ['empty', 'application/json', ''],
    ['a bare number', 'text/plain', '42'],
  ])('400 unparseable_body: %s', async (_name, type, payload) => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { 'content-type': type }, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('unparseable_body');
    expect(res.json().error.message).toEqual(expect.any(String));
    expect(h.sink.batches).toEqual([]);
  });

  it('415 for a content type it does not read', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { 'content-type': 'application/xml' }, payload: '<s/>' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('unsupported_media_type');
  });

  it('413 body_too_large for a 50 MB body', async () => {
    const payload = Buffer.alloc(50 * 1024 * 1024, 0x20);
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: 'body_too_large', message: expect.stringContaining(String(h.config.maxBodyBytes)) } });
    expect(h.sink.batches).toEqual([]);
  });

  it('413 for a chunked 50 MB body: answered long before the body ends, nothing buffered', async () => {
    const total = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let produced = 0;
    const body = new Readable({
      read() {
        // Produce like a slow network peer, so "answered before the end" is observable.
        setImmediate(() => {
          if (produced >= total) return void this.push(null);
          produced += chunk.length;
          this.push(chunk);
        });
      },
    });
    const heapBefore = process.memoryUsage().heapUsed;
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: { 'content-type': 'application/x-ndjson' }, payload: body });
    const producedAtReply = produced;
    body.destroy();
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('body_too_large');
    expect(producedAtReply).toBeLessThan(total / 2);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024);
  });

  it('a smaller LOOKOUT_MAX_BODY_BYTES is honoured', async () => {
    const small = harness({ env: { LOOKOUT_MAX_BODY_BYTES: '2048' } });
    const res = await small.app.inject({ method: 'POST', url: '/api/v1/samples', payload: Array.from({ length: 50 }, () => sample()) });
    expect(res.statusCode).toBe(413);
    await small.app.close();
  });

  it('503 not_ready when the sink fails; nothing claims acceptance', async () => {
    h.sink.failWith();
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/samples', payload: [sample()] });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('not_ready');
    expect(res.json()).not.toHaveProperty('accepted');
    expect(res.headers['retry-after']).toBe('5');
    expect(h.ingested).toEqual([]);
    h.sink.recover();
    const again = await h.app.inject({ method: 'POST', url: '/api/v1/samples', payload: [sample()] });
    expect(again.statusCode).toBe(202);
  });
});
