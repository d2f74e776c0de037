// Commands built with their arguments as given (src/state/flat-command.ts): the same answers as
// ioredis's own MGET / HMGET, on a pipeline, a MULTI and the one-by-one batch, and keys still
// prefixed on a client with a key prefix.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { separately } from '../../src/state/client.js';
import { FlatCommand, hmgetStrings, mgetBuffers, mgetStrings } from '../../src/state/flat-command.js';
import { redisPerTest, testRedisUrl } from '../support/redis.js';

const r = redisPerTest('fc');

describe('flat commands', () => {
  it('answer MGET as Buffers or strings and HMGET as strings, absent keys and fields as null', async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `${r.prefix}:k${i}`);
    const bytes = (i: number) => Buffer.from([i % 256, 0xff, 0x00, (i * 7) % 256]);
    const tx = r.redis.multi();
    keys.forEach((k, i) => i % 3 !== 0 && tx.set(k, bytes(i)));
    tx.hset(`${r.prefix}:h`, 'a', '甲', 'c', '丙');
    await tx.exec();
    for (const make of [() => r.redis.pipeline(), () => r.redis.multi(), () => separately(r.redis)]) {
      const b = make();
      mgetBuffers(b, keys);
      mgetStrings(b, [`${r.prefix}:k1`, `${r.prefix}:nope`]);
      hmgetStrings(b, `${r.prefix}:h`, ['a', 'b', 'c']);
      type Reply = [Error | null, unknown];
      const [[e1, buffers], [e2, strings], [e3, fields]] = (await b.exec()) as [Reply, Reply, Reply];
      expect([e1, e2, e3]).toEqual([null, null, null]);
      expect(buffers).toEqual(keys.map((_, i) => (i % 3 !== 0 ? bytes(i) : null)));
      expect(strings).toEqual([bytes(1).toString(), null]);
      expect(fields).toEqual(['甲', null, '丙']);
    }
  });

  it('prefixes the keys on a client with a key prefix, as ioredis does', async () => {
    const prefixed = new Redis(testRedisUrl(), { keyPrefix: `${r.prefix}:p:` });
    try {
      await r.redis.set(`${r.prefix}:p:x`, 'in the prefix');
      await r.redis.set('x-unprefixed-fc', 'outside');
      const b = prefixed.pipeline();
      (b as unknown as { sendCommand(c: unknown): void }).sendCommand(new FlatCommand('mget', ['x'], { replyEncoding: 'utf8', keyPrefix: prefixed.options.keyPrefix }));
      const [[err, got]] = (await b.exec()) as [[Error | null, unknown]];
      expect(err).toBeNull();
      expect(got).toEqual(['in the prefix']);
    } finally {
      await r.redis.del('x-unprefixed-fc');
      prefixed.disconnect();
    }
  });
});
