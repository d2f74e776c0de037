// The fenced write of a call computed in the worker (src/state/compact-writes.ts): it writes only
// while the shard's lease is still the token the call's keys were read under, every key it read and
// found is still there and the chunk was not applied meanwhile; otherwise it writes nothing and
// says why.
import { beforeEach, describe, expect, it } from 'vitest';
import { APPLY_WRITES_LUA, CallRecorder, KeyNotRead } from '../../src/state/compact-writes.js';
import { redisPerTest } from '../support/redis.js';

const r = redisPerTest('cw');

/** Read `keys` as the worker does, then let `compute` write through a recorder. */
async function prepare(keys: string[], compute: (rec: CallRecorder) => void): Promise<Buffer> {
  const before = new Map<string, Buffer | null>();
  for (const k of keys) before.set(k, await r.redis.getBuffer(k));
  const rec = new CallRecorder(before);
  rec.get(keys[0]!); // the marker, read first as the apply does
  compute(rec);
  return rec.payload(keys);
}

/** The shard's lease the calls below are read and written under, and its holder's token. */
const lease = () => `${r.prefix}:applying`;
const TOKEN = 'worker-1';

/** The fenced write of a call read under TOKEN (the lease taken first, as the worker does). */
async function write(keys: string[], payload: Buffer, rejects = '', token = TOKEN, release = ''): Promise<[number, string?]> {
  return (await r.redis.eval(APPLY_WRITES_LUA, keys.length + 1, ...keys, lease(), payload, rejects, token, release)) as [number, string?];
}

beforeEach(async () => {
  await r.redis.set(lease(), TOKEN, 'PX', 60_000);
});

describe('fenced writes of a call computed in the worker', () => {
  it('replays SETRANGE, SET EX, EXPIRE and DEL as the computation made them, then sets the marker', async () => {
    const [m, a, b, c] = ['mark', 'a', 'b', 'c'].map((k) => `${r.prefix}:${k}`) as [string, string, string, string];
    await r.redis.set(a, 'hello world');
    await r.redis.set(c, 'gone');
    const payload = await prepare([m, a, b, c], (rec) => {
      expect(rec.getrange(a, 0, 4).toString()).toBe('hello');
      expect(rec.get(b)).toBeNull();
      rec.setrange(a, 6, Buffer.from('there'));
      rec.setrange(a, 14, Buffer.from('!'));
      expect(rec.get(a)!.toString('latin1')).toBe('hello there\0\0\0!');
      rec.expire(a, 500);
      rec.set(b, Buffer.from([0, 1, 255, 0]), 100);
      rec.get(c);
      rec.del(c);
    });
    expect(await write([m, a, b, c], payload, '3:ts_too_old')).toEqual([1, '3:ts_too_old']);
    expect((await r.redis.getBuffer(a))!.toString('latin1')).toBe('hello there\0\0\0!');
    expect(await r.redis.ttl(a)).toBeGreaterThan(490);
    expect([...(await r.redis.getBuffer(b))!]).toEqual([0, 1, 255, 0]);
    expect(await r.redis.ttl(b)).toBeGreaterThan(90);
    expect(await r.redis.exists(c)).toBe(0);
    expect(await r.redis.get(m)).toBe('3:ts_too_old');
  });

  it('a later read in the call sees its SETRANGEs laid in order (absent keys zero-padded); a value handed out earlier never changes', async () => {
    const [m, a, d] = ['mark', 'a', 'd'].map((k) => `${r.prefix}:${k}`) as [string, string, string];
    await r.redis.set(a, 'abcdef');
    const payload = await prepare([m, a, d], (rec) => {
      const held = rec.get(a)!;
      rec.setrange(a, 1, Buffer.from('XY'));
      rec.setrange(a, 2, Buffer.from('Z'));
      rec.setrange(a, 8, Buffer.from('!'));
      expect(held.toString('latin1')).toBe('abcdef');
      const after = rec.getrange(a, 0, -1);
      expect(after.toString('latin1')).toBe('aXZdef\0\0!');
      // Written again after a read: the earlier read keeps its bytes.
      rec.setrange(a, 0, Buffer.from('_'));
      expect(rec.get(a)!.toString('latin1')).toBe('_XZdef\0\0!');
      expect(after.toString('latin1')).toBe('aXZdef\0\0!');
      rec.setrange(d, 2, Buffer.from('x'));
      expect(rec.get(d)!.toString('latin1')).toBe('\0\0x');
      rec.setrange(d, 0, Buffer.alloc(0));
    });
    expect(await write([m, a, d], payload)).toEqual([1, '']);
    expect((await r.redis.getBuffer(a))!.toString('latin1')).toBe('_XZdef\0\0!');
    expect((await r.redis.getBuffer(d))!.toString('latin1')).toBe('\0\0x');
  });

  it('writes nothing unless the lease is still the token the call was read under (lapsed, released, or taken by another), and says so', async () => {
    const [m, a] = ['mark', 'a'].map((k) => `${r.prefix}:${k}`) as [string, string];
    for (const meanwhile of [() => r.redis.del(lease()), () => r.redis.set(lease(), 'worker-2', 'PX', 60_000)] as const) {
      await r.redis.set(lease(), TOKEN, 'PX', 60_000);
      await r.redis.set(a, 'one');
      const payload = await prepare([m, a], (rec) => {
        rec.get(a);
        rec.set(a, Buffer.from('derived'), 60);
      });
      // Another worker may now read the shard and write it: this call's values may be stale.
      await meanwhile();
      await r.redis.set(a, 'theirs');
      expect(await write([m, a], payload)).toEqual([-2]);
      expect(await r.redis.get(a)).toBe('theirs');
      expect(await r.redis.exists(m)).toBe(0);
    }
    // A lease that lapsed by its own time (a worker paused past SHARD_LEASE_MS) is not the call's either.
    await r.redis.set(lease(), TOKEN, 'PX', 20);
    const payload = await prepare([m, a], (rec) => {
      rec.get(a);
      rec.set(a, Buffer.from('late'), 60);
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await write([m, a], payload)).toEqual([-2]);
    expect(await r.redis.get(a)).toBe('theirs');
    // The holder's own token: written.
    await r.redis.set(lease(), TOKEN, 'PX', 60_000);
    expect(await write([m, a], payload)).toEqual([1, '']);
    expect(await r.redis.get(a)).toBe('late');
  });

  it('gives the lease back once written when asked (the window is done with the shard), and keeps it when nothing was written', async () => {
    const [m, a] = ['mark', 'a'].map((k) => `${r.prefix}:${k}`) as [string, string];
    await r.redis.set(a, 'one');
    const payload = await prepare([m, a], (rec) => {
      rec.get(a);
      rec.set(a, Buffer.from('two'), 60);
    });
    // Not written (a key read has gone): the lease stays the worker's, to read again under it.
    await r.redis.del(a);
    expect(await write([m, a], payload, '', TOKEN, '1')).toEqual([-1]);
    expect(await r.redis.get(lease())).toBe(TOKEN);
    await r.redis.set(a, 'one');
    // Written without the ask: the lease stays (released after, as before).
    expect(await write([m, a], payload)).toEqual([1, '']);
    expect(await r.redis.get(lease())).toBe(TOKEN);
    // Written with it: the lease is gone with the write, in the same script.
    await r.redis.del(m);
    expect(await write([m, a], payload, '', TOKEN, '1')).toEqual([1, '']);
    expect(await r.redis.get(a)).toBe('two');
    expect(await r.redis.exists(lease())).toBe(0);
    // Another's lease is never given back: the call is not written.
    await r.redis.set(lease(), 'worker-2', 'PX', 60_000);
    await r.redis.del(m);
    expect(await write([m, a], payload, '', TOKEN, '1')).toEqual([-2]);
    expect(await r.redis.get(lease())).toBe('worker-2');
  });

  it('writes nothing when a key the call read and found has gone since (its time ran out), so no series is patched from nothing', async () => {
    const [m, a, b] = ['mark', 'a', 'b'].map((k) => `${r.prefix}:${k}`) as [string, string, string];
    await r.redis.set(a, 'head....tail', 'PX', 60_000);
    const payload = await prepare([m, a, b], (rec) => {
      rec.getrange(a, 0, 3);
      expect(rec.get(b)).toBeNull();
      rec.setrange(a, 4, Buffer.from('XX'));
      rec.set(b, Buffer.from('derived'), 60);
    });
    await r.redis.pexpire(a, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await write([m, a, b], payload)).toEqual([-1]);
    expect(await r.redis.exists(a, b, m)).toBe(0);
    // Many keys found (the script asks in pages of 500): one gone among them is seen.
    const keys = Array.from({ length: 1200 }, (_, i) => `${r.prefix}:k${i}`);
    for (const k of keys) await r.redis.set(k, 'v');
    const many = await prepare([m, ...keys], (rec) => {
      for (const k of keys) rec.get(k);
      rec.set(keys[0]!, Buffer.from('w'), 60);
    });
    await r.redis.del(keys[1100]!);
    expect(await write([m, ...keys], many)).toEqual([-1]);
    expect(await r.redis.get(keys[0]!)).toBe('v');
    await r.redis.set(keys[1100]!, 'v');
    expect(await write([m, ...keys], many)).toEqual([1, '']);
    expect(await r.redis.get(keys[0]!)).toBe('w');
  });

  it('sends the SETRANGEs of a key as one over the bytes between them', async () => {
    const [m, a] = ['mark', 'a'].map((k) => `${r.prefix}:${k}`) as [string, string];
    const compute = (rec: CallRecorder) => {
      rec.getrange(a, 0, 1);
      rec.setrange(a, 0, Buffer.from('H'));
      rec.setrange(a, 8, Buffer.from('T'));
      rec.setrange(a, 14, Buffer.from('!'));
    };
    // One SETRANGE op in the payload instead of three: the count of 'r' ops after the checks.
    await r.redis.set(a, 'head....tail');
    const payload = await prepare([m, a], compute);
    expect(payload.toString('latin1').split('r\u0002\u0000').length - 1).toBe(1);
    expect(await write([m, a], payload)).toEqual([1, '']);
    expect((await r.redis.getBuffer(a))!.toString('latin1')).toBe('Head....Tail\0\0!');
    // A key the call SET (before reading it) and then patched: sent as recorded, never joined over
    // the value it replaced.
    await r.redis.del(m);
    await r.redis.set(a, 'head....tail');
    const replaced = await prepare([m, a], (rec) => {
      rec.set(a, Buffer.from('0123456789'), 60);
      rec.setrange(a, 0, Buffer.from('A'));
      rec.setrange(a, 5, Buffer.from('B'));
    });
    expect(await write([m, a], replaced)).toEqual([1, '']);
    expect(await r.redis.get(a)).toBe('A1234B6789');
  });

  it('answers the recorded rejects, writing nothing, when the chunk was applied meanwhile', async () => {
    const [m, a] = ['mark', 'a'].map((k) => `${r.prefix}:${k}`) as [string, string];
    const payload = await prepare([m, a], (rec) => {
      rec.get(a);
      rec.set(a, Buffer.from('mine'), 60);
    });
    await r.redis.set(m, '0:id_window_passed');
    expect(await write([m, a], payload)).toEqual([0, '0:id_window_passed']);
    expect(await r.redis.exists(a)).toBe(0);
  });

  it('refuses a key the worker did not read beforehand, a write to a key the call did not declare, and a write to a key it did not read', () => {
    const rec = new CallRecorder(new Map([['k', null], ['u', null]]));
    expect(() => rec.get('other')).toThrow(KeyNotRead);
    rec.get('k');
    rec.set('k', Buffer.from('v'), 1);
    expect(rec.payload(['mark', 'k']).length).toBeGreaterThan(0);
    rec.get('u');
    rec.set('u', Buffer.from('v'), 1);
    expect(() => rec.payload(['mark', 'k'])).toThrow(/does not declare: u/);
    const blind = new CallRecorder(new Map([['k', Buffer.from('theirs')]]));
    blind.set('k', Buffer.from('mine'), 1);
    expect(() => blind.payload(['mark', 'k'])).toThrow(/did not read/);
  });
});
