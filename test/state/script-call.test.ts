// A script whose Buffer arguments go to the socket uncopied (src/state/script-call.ts): the bytes
// arrive whole and in order, replies come back to their own calls, a server without the script gets
// it by EVAL, and a command sent before the connection is up still goes out right.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScriptCall, ScriptCalls } from '../../src/state/script-call.js';
import { connect, redisPerTest } from '../support/redis.js';

const r = redisPerTest('sc');

/** Each call's own answer: its first key, the length and SHA-1 of ARGV[1], and ARGV[2]. */
const ECHO = new ScriptCall(`return {KEYS[1], #ARGV[1], redis.sha1hex(ARGV[1]), ARGV[2]}`);
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('ScriptCall', () => {
  it('sends binary Buffers of any size whole, beside string arguments with multi-byte characters', async () => {
    for (const size of [0, 1, 1000, 300_000]) {
      const payload = randomBytes(size);
      const reply = (await ECHO.run(r.redis, [`${r.prefix}:k`], [payload, '渠道 ✓'])) as [string, number, string, string];
      expect(reply).toEqual([`${r.prefix}:k`, size, sha1(payload), '渠道 ✓']);
    }
  });

  it('writes a Buffer argument to the socket as it is (no copy of its bytes)', async () => {
    const socket = (r.redis as unknown as { stream: { write: (chunk: unknown, ...rest: unknown[]) => boolean } }).stream;
    const written: unknown[] = [];
    const write = socket.write;
    socket.write = function (chunk: unknown, ...rest: unknown[]) {
      written.push(chunk);
      return write.call(this, chunk, ...rest);
    };
    try {
      const payload = randomBytes(64 * 1024);
      await ECHO.run(r.redis, [`${r.prefix}:k`], [payload, 'x']);
      expect(written).toContain(payload);
    } finally {
      socket.write = write;
    }
  });

  it('answers each of many calls sent in one tick with its own reply, errors to their own calls', async () => {
    const calls = new ScriptCalls(r.redis, ECHO);
    const payloads = Array.from({ length: 300 }, (_, i) => randomBytes(i * 37));
    payloads.forEach((p, i) => {
      calls.run([`${r.prefix}:k${i}`], [p, String(i)]);
      if (i === 150) calls.run([`${r.prefix}:bad`], []); // ARGV[1] missing: a script error
    });
    const replies = await calls.exec();
    expect(replies).toHaveLength(301);
    const [badErr] = replies[151]!;
    expect(badErr?.message).toMatch(/ERR|attempt/);
    const good = replies.filter((_, j) => j !== 151);
    good.forEach(([err, reply], i) => {
      expect(err).toBeNull();
      expect(reply).toEqual([`${r.prefix}:k${i}`, payloads[i]!.length, sha1(payloads[i]!), String(i)]);
    });
  });

  it('loads the script by EVAL where the server does not have it, then runs it by its SHA', async () => {
    // A script this server has never seen: EVALSHA answers NOSCRIPT, the call goes again as EVAL.
    const fresh = new ScriptCall(`-- ${randomUUID()}\nreturn ARGV[1]`);
    expect(await fresh.run(r.redis, [`${r.prefix}:k`], [Buffer.from('first')])).toBe('first');
    expect(await fresh.run(r.redis, [`${r.prefix}:k`], [Buffer.from('second')])).toBe('second');
  });

  it('goes out right when sent before the connection is up (from the offline queue)', async () => {
    const early = connect();
    try {
      const payload = randomBytes(10_000);
      const reply = (await ECHO.run(early, [`${r.prefix}:k`], [payload, 'early'])) as [string, number, string, string];
      expect(reply).toEqual([`${r.prefix}:k`, payload.length, sha1(payload), 'early']);
    } finally {
      early.disconnect();
    }
  });
});
