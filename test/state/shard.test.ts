// The entity shard function of the compact layout: stable (a release must never move entities
// between shards without a migration), in range, and spread evenly.
import { describe, expect, it } from 'vitest';
import { fnv1a32, idHash48, idKey48, shardOf, shardTag } from '../../src/state/shard.js';

describe('shardOf', () => {
  it('is FNV-1a 32 (the published test vectors) modulo the shard count', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Pinned: changing these moves stored data.
    expect(shardOf('D0001', 64)).toBe(48);
    expect(shardOf('G0001', 64)).toBe(25);
    expect(shardOf('D0001', 1)).toBe(0);
  });

  it('spreads 64,000 channel ids over 64 shards within ±15 % of the mean', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[shardOf(`C${String(i).padStart(6, '0')}`, 64)]!++;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(850);
    expect(Math.max(...counts)).toBeLessThanOrEqual(1150);
  });

  it('refuses a shard count that is not a positive integer', () => {
    expect(() => shardOf('D0001', 0)).toThrow(RangeError);
    expect(() => shardOf('D0001', 1.5)).toThrow(RangeError);
  });

  it('tags keys with {s<shard>}', () => {
    expect(shardTag(7)).toBe('{s7}');
  });
});

describe('idHash48', () => {
  it('is 12 hex digits, the same for the same id and different for near ids', () => {
    const a = idHash48('D0001/card_opening/2026-11-21');
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(idHash48('D0001/card_opening/2026-11-21')).toBe(a);
    const seen = new Set<string>();
    for (let d = 0; d < 20_000; d++) seen.add(idHash48(`D0001/card_opening/${d}`));
    expect(seen.size).toBe(20_000);
  });
});

describe('idKey48', () => {
  it('is the 6 bytes idHash48 writes in hex, as a latin1 string', () => {
    for (const id of ['D0001/card_opening/2026-11-21', 'G7/air_recharge/2026-10-02T23', '', '营销案/投诉/1']) {
      const key = idKey48(id);
      expect(key).toHaveLength(6);
      expect(Buffer.from(key, 'latin1').toString('hex')).toBe(idHash48(id));
    }
  });

  it('agrees with idHash48 over many ids, long and short (its two passes are walked at once)', () => {
    for (let d = 0; d < 3000; d++) {
      const id = `${d % 7 === 0 ? '核心渠道' : 'G'}${d}/air_recharge/${'x'.repeat(d % 50)}${d * 7919}`;
      expect(Buffer.from(idKey48(id), 'latin1').toString('hex')).toBe(idHash48(id));
    }
  });
});
