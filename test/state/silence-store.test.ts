// The Redis silence store against a real Redis, and its in-memory twin against the same cases.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/state/keys.js';
import { MemorySilenceStore } from '../../src/state/memory-silence-store.js';
import type { NewSilence, SilenceStore } from '../../src/state/ports.js';
import { RedisSilenceStore } from '../../src/state/silence-store.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';

const NOW = Date.parse('2026-11-21T10:00:00+08:00');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const input = (over: Partial<NewSilence> = {}): NewSilence => ({
  matchers: [{ name: 'entity', op: '=', value: 'D0001' }],
  startsAt: NOW,
  endsAt: NOW + HOUR,
  createdBy: '王工',
  comment: '系统割接',
  ...over,
});

let redis: Redis;
let prefix: string;
beforeAll(() => {
  redis = connect();
});
afterAll(() => redis.disconnect());

const stores: [string, () => SilenceStore][] = [
  ['RedisSilenceStore', () => new RedisSilenceStore(redis, keyspace(prefix))],
  ['MemorySilenceStore', () => new MemorySilenceStore()],
];

describe.each(stores)('%s', (_name, make) => {
  let store: SilenceStore;
  beforeEach(() => {
    prefix = freshPrefix('silences');
    store = make();
  });
  afterEach(() => dropPrefix(redis, prefix));

  it('create stamps a UUID id and createdAt/updatedAt; get reads it back', async () => {
    const s = await store.create(input(), NOW - 5);
    expect(s).toEqual({ ...input(), id: s.id, createdAt: NOW - 5, updatedAt: NOW - 5 });
    expect(s.id).toMatch(UUID);
    expect(await store.get(s.id)).toEqual(s);
    expect(await store.get('no-such-id')).toBeUndefined();
  });

  it('ids are unique', async () => {
    const a = await store.create(input(), NOW);
    const b = await store.create(input(), NOW);
    expect(a.id).not.toBe(b.id);
  });

  it('list: newest first, filtered by state at now; active() = the active ones', async () => {
    const active = await store.create(input({ startsAt: NOW - HOUR }), NOW - 3 * HOUR);
    const pending = await store.create(input({ startsAt: NOW + HOUR, endsAt: NOW + 2 * HOUR }), NOW - 2 * HOUR);
    const expired = await store.create(input({ startsAt: NOW - 2 * HOUR, endsAt: NOW - HOUR }), NOW - HOUR);
    expect((await store.list(NOW)).map((s) => s.id)).toEqual([expired.id, pending.id, active.id]);
    expect(await store.list(NOW, 'active')).toEqual([active]);
    expect(await store.list(NOW, 'pending')).toEqual([pending]);
    expect(await store.list(NOW, 'expired')).toEqual([expired]);
    expect(await store.active(NOW)).toEqual([active]);
    // Later, the pending one is in force and the first one has ended.
    expect(await store.active(NOW + HOUR)).toEqual([pending]);
  });

  it('expire ends an active silence now', async () => {
    const s = await store.create(input({ startsAt: NOW - HOUR }), NOW - HOUR);
    const ended = await store.expire(s.id, NOW);
    expect(ended).toEqual({ ...s, endsAt: NOW, updatedAt: NOW });
    expect(await store.get(s.id)).toEqual(ended);
    expect(await store.active(NOW)).toEqual([]);
    expect(await store.list(NOW, 'expired')).toEqual([ended]);
  });

  it('expire of a pending silence: it never starts', async () => {
    const s = await store.create(input({ startsAt: NOW + HOUR, endsAt: NOW + 2 * HOUR }), NOW);
    const ended = await store.expire(s.id, NOW + 1);
    expect(ended).toMatchObject({ startsAt: NOW + 1, endsAt: NOW + 1, updatedAt: NOW + 1 });
    expect(await store.active(NOW + HOUR)).toEqual([]);
  });

  it('expire of an expired silence returns it unchanged; of an unknown id, undefined', async () => {
    const s = await store.create(input({ startsAt: NOW - 2 * HOUR, endsAt: NOW - HOUR }), NOW - 2 * HOUR);
    expect(await store.expire(s.id, NOW)).toEqual(s);
    expect(await store.get(s.id)).toEqual(s);
    expect(await store.expire('no-such-id', NOW)).toBeUndefined();
  });

  it('create prunes silences that ended more than 7 days ago', async () => {
    const old = await store.create(input({ startsAt: NOW - 10 * DAY, endsAt: NOW - 7 * DAY }), NOW - 10 * DAY);
    const recent = await store.create(input({ startsAt: NOW - 10 * DAY, endsAt: NOW - 7 * DAY + 1 }), NOW - 10 * DAY);
    expect(await store.list(NOW)).toHaveLength(2);
    const fresh = await store.create(input(), NOW);
    expect((await store.list(NOW)).map((s) => s.id)).toEqual([fresh.id, recent.id]);
    expect(await store.get(old.id)).toBeUndefined();
  });
});

describe('RedisSilenceStore in Redis', () => {
  beforeEach(() => {
    prefix = freshPrefix('silences');
  });
  afterEach(() => dropPrefix(redis, prefix));

  it('keeps silences in the `silences` hash as JSON, shared by every instance on the prefix', async () => {
    const keys = keyspace(prefix);
    const a = new RedisSilenceStore(redis, keys);
    const s = await a.create(input(), NOW);
    expect(JSON.parse((await redis.hget(keys.silences, s.id))!)).toEqual(s);
    const b = new RedisSilenceStore(redis, keys);
    expect(await b.get(s.id)).toEqual(s);
  });

  it('concurrent expires of one silence: one write wins, the other sees it ended', async () => {
    const keys = keyspace(prefix);
    const store = new RedisSilenceStore(redis, keys);
    const s = await store.create(input({ startsAt: NOW - HOUR }), NOW - HOUR);
    const [x, y] = await Promise.all([store.expire(s.id, NOW), store.expire(s.id, NOW + 1)]);
    const stored = await store.get(s.id);
    expect(x).toEqual(stored);
    expect(y).toEqual(stored);
    expect([NOW, NOW + 1]).toContain(stored!.endsAt);
  });
});
