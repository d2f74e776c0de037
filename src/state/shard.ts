// Entity shards: every key of one entity carries the hash tag of its shard (`{s<n>}`), so on a
// Redis Cluster all of an entity's series live in one slot and one script call can touch them.
// Pure: the same id maps to the same shard in every process and every release.

/** Default number of shards (LOOKOUT_SHARDS). Changing it moves entities: it needs a migration. */
export const DEFAULT_SHARDS = 64;

/** FNV-1a 32-bit over the UTF-16 code units of `s` (stable, fast, no dependency). */
export function fnv1a32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard of an entity id: a stable hash of the id modulo `shards`. */
export function shardOf(entity: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  return fnv1a32(entity) % shards;
}

/** The hash tag of a shard: the part of a key Redis Cluster hashes. */
export function shardTag(shard: number): string {
  return `{s${shard}}`;
}

/** Second seed of the 48-bit id hash: its low 16 bits are the last two bytes. */
const ID_SEED_B = 0x050c5d1f;

/**
 * A 48-bit hash of a sample id as 12 hex digits (two independent FNV-1a passes): what the compact
 * id index stores instead of the id. Within one entity-metric's id window (a few hundred ids) a
 * collision has a probability of about n² / 2⁴⁹.
 */
export function idHash48(id: string): string {
  const a = fnv1a32(id);
  const b = fnv1a32(id, ID_SEED_B) & 0xffff;
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(4, '0');
}


/**
 * The 6 bytes idHash48's 12 hex digits stand for, as a latin1 string: the id index's own form
 * (compact-apply.ts), for the calls the worker computes itself (no hex to write and read back).
 */
export function idKey48(id: string): string {
  // Both FNV-1a passes in one walk over the id (a worker's round hashes every id it applies).
  let a = 0x811c9dc5;
  let b = ID_SEED_B;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  a >>>= 0;
  b &= 0xffff;
  return String.fromCharCode(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff, b >>> 8, b & 0xff);
}
