// The fenced write of a call computed in the worker (src/state/compact-writes.ts): it writes only
// if every key the computation read still holds what was read and the chunk was not applied
// meanwhile; otherwise it writes nothing and says why.
import { describe, expect, it } from 'vitest';
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

const write = (keys: string[], payload: Buffer, rejects = '') => r.redis.eval(APPLY_WRITES_LUA, keys.length, ...keys, payload, rejects) as Promise<[number, string?]>;

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

  it('writes nothing when a key read has changed since (or appeared, or went), and says so', async () => {
    const [m, a, b] = ['mark', 'a', 'b'].map((k) => `${r.prefix}:${k}`) as [string, string, string];
    await r.redis.set(a, 'one');
    for (const meanwhile of [() => r.redis.set(a, 'two'), () => r.redis.setrange(a, 0, 'o'), () => r.redis.del(a)] as const) {
      await r.redis.set(a, 'one');
      const payload = await prepare([m, a, b], (rec) => {
        rec.get(a);
        rec.get(b);
        rec.set(b, Buffer.from('derived'), 60);
      });
      await meanwhile();
      const was = await r.redis.get(a);
      // SETRANGE of the same byte leaves 'one': that is no change, and the write goes through.
      if (was === 'one') {
        expect(await write([m, a, b], payload)).toEqual([1, '']);
        await r.redis.del(m, b);
        continue;
      }
      expect(await write([m, a, b], payload)).toEqual([-1]);
      expect(await r.redis.exists(b, m)).toBe(0);
    }
    // A key read as absent that appeared meanwhile.
    await r.redis.set(a, 'one');
    const payload = await prepare([m, a, b], (rec) => {
      rec.get(a);
      rec.get(b);
      rec.set(a, Buffer.from('x'), 60);
    });
    await r.redis.set(b, 'new');
    expect(await write([m, a, b], payload)).toEqual([-1]);
    expect(await r.redis.get(a)).toBe('one');
  });

  it('checks what the call read of a key: its length and the ranges read, not bytes it never looked at', async () => {
    const [m, a] = ['mark', 'a'].map((k) => `${r.prefix}:${k}`) as [string, string];
    const compute = (rec: CallRecorder) => {
      // Reads bytes 0–3 and 8–11 of 'head....tail' (two ranges; the second through a negative offset).
      const head = rec.getrange(a, 0, 3).toString('latin1');
      const tail = rec.getrange(a, -4, -1).toString('latin1');
      rec.setrange(a, 4, Buffer.from(`${head[0]}${tail[3]}`));
    };
    const cases: [meanwhile: string, changed: boolean][] = [
      ['head....tail', false],
      ['head.XY.tail', false], // bytes the call never read: its write still holds, over them
      ['hXad....tail', true], // a byte of the first range
      ['head....taiX', true], // a byte of the second range
      ['head....tail!', true], // the length (a negative offset would point elsewhere)
    ];
    for (const [meanwhile, changed] of cases) {
      await r.redis.del(m);
      await r.redis.set(a, 'head....tail');
      const payload = await prepare([m, a], compute);
      await r.redis.set(a, meanwhile);
      if (changed) {
        expect(await write([m, a], payload), meanwhile).toEqual([-1]);
        expect(await r.redis.get(a)).toBe(meanwhile);
      } else {
        expect(await write([m, a], payload), meanwhile).toEqual([1, '']);
        expect(await r.redis.get(a)).toBe(`${meanwhile.slice(0, 4)}hl${meanwhile.slice(6)}`);
      }
    }
    // Read after the call wrote it: the whole value read beforehand is checked.
    await r.redis.del(m);
    await r.redis.set(a, 'head....tail');
    const payload = await prepare([m, a], (rec) => {
      rec.setrange(a, 0, Buffer.from('H'));
      rec.getrange(a, 0, 0);
    });
    await r.redis.set(a, 'head....taiX');
    expect(await write([m, a], payload)).toEqual([-1]);
  });

  it('sends the SETRANGEs of a key as one over the bytes between them, and checks those bytes', async () => {
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
    // A byte between the writes, changed meanwhile: the joined write would put it back, so it conflicts.
    await r.redis.del(m);
    await r.redis.set(a, 'head....tail');
    const again = await prepare([m, a], compute);
    await r.redis.set(a, 'head.XY.tail');
    expect(await write([m, a], again)).toEqual([-1]);
    expect(await r.redis.get(a)).toBe('head.XY.tail');
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
