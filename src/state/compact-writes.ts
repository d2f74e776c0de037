// Applying the compact layout's samples in the worker: the worker reads a call's keys, computes the
// call's writes with applyCompactCall (compact-apply.ts, the TypeScript twin of the apply script),
// and sends them in one fenced script that first checks that every key the computation read still
// holds what was read (and that the chunk was not applied meanwhile). If anything changed, nothing
// is written and the worker reads again: a compare-and-set over the call's keys, all under one
// shard's hash tag, so it runs on a Redis Cluster unchanged. Redis then only compares and writes;
// the per-sample work (decoding cells, finding ids, packing rows) runs in the workers, which scale
// out, instead of in the Lua interpreter on Redis's one core (docs/scaling.md "Apply in the worker").

import type { CallStore } from './compact-apply.js';

/**
 * KEYS: the call's keys (KEYS[1] the chunk marker). ARGV[1]: the checks and writes, packed
 * (CallRecorder.payload); ARGV[2]: the marker's value (the call's rejects).
 * Checks: '<I2i4' key number, expected length (-1: absent), then the expected bytes.
 * Writes, after a '<I2' count of checks: one byte, then
 *   'r' '<I2I4I4' key, offset, length, bytes: SETRANGE;  's' '<I2I4I4' key, ttl, length, bytes: SET … EX;
 *   'e' '<I2I4' key, ttl: EXPIRE;  'd' '<I2' key: DEL.
 * Returns {1, rejects}: written; {0, marker}: the chunk was applied meanwhile (nothing written);
 * {-1}: a key read has changed (nothing written: read again).
 */
export const APPLY_WRITES_LUA = `
local P = ARGV[1]
local checks, p = struct.unpack('<I2', P, 1)
for _ = 1, checks do
  local k, len
  k, len, p = struct.unpack('<I2i4', P, p)
  local v = redis.call('GET', KEYS[k])
  if len < 0 then
    if v then
      if k == 1 then return {0, v} end
      return {-1}
    end
  else
    if not v or #v ~= len or v ~= string.sub(P, p, p + len - 1) then
      if k == 1 and v then return {0, v} end
      return {-1}
    end
    p = p + len
  end
end
local n = #P
while p <= n do
  local op = string.sub(P, p, p)
  local k, a, len
  if op == 'r' then
    k, a, len, p = struct.unpack('<I2I4I4', P, p + 1)
    redis.call('SETRANGE', KEYS[k], a, string.sub(P, p, p + len - 1))
    p = p + len
  elseif op == 's' then
    k, a, len, p = struct.unpack('<I2I4I4', P, p + 1)
    redis.call('SET', KEYS[k], string.sub(P, p, p + len - 1), 'EX', a)
    p = p + len
  elseif op == 'e' then
    k, a, p = struct.unpack('<I2I4', P, p + 1)
    redis.call('EXPIRE', KEYS[k], a)
  elseif op == 'd' then
    k, p = struct.unpack('<I2', P, p + 1)
    redis.call('DEL', KEYS[k])
  else
    return redis.error_reply('lookout: bad write op ' .. op)
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', 172800)
return {1, ARGV[2]}
`;

/** A key a computation asked for that was not read beforehand. */
export class KeyNotRead extends Error {
  constructor(readonly key: string) {
    super(`compact apply: key not read beforehand: ${key}`);
  }
}

type Op = { op: 'r'; key: string; offset: number; value: Buffer } | { op: 's'; key: string; value: Buffer; ttl: number } | { op: 'e'; key: string; ttl: number } | { op: 'd'; key: string };

/** Growable byte writer for the payload. */
class Bytes {
  private buf = Buffer.allocUnsafe(4096);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  byte(c: string): void {
    this.room(1);
    this.buf[this.length++] = c.charCodeAt(0);
  }
  u16(v: number): void {
    this.room(2);
    this.length = this.buf.writeUInt16LE(v, this.length);
  }
  u32(v: number): void {
    this.room(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }
  i32(v: number): void {
    this.room(4);
    this.length = this.buf.writeInt32LE(v, this.length);
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The CallStore a worker runs a call against: the values read beforehand (absent keys as null), a
 * working copy the call's writes change (so a later read in the same call sees them, as in Redis),
 * the keys the call read (to check at write time) and its writes in order.
 */
export class CallRecorder implements CallStore {
  private readonly current = new Map<string, Buffer | null>();
  private readonly read = new Set<string>();
  private readonly ops: Op[] = [];

  constructor(private readonly before: ReadonlyMap<string, Buffer | null>) {}

  /** Keys whose working copy is this recorder's own and not handed out since: written in place. */
  private readonly owned = new Set<string>();

  private value(key: string): Buffer | null {
    if (this.current.has(key)) return this.current.get(key)!;
    if (!this.before.has(key)) throw new KeyNotRead(key);
    this.read.add(key);
    return this.before.get(key)!;
  }

  get(key: string): Buffer | null {
    // What is handed out must not change under the caller (a Lua string does not).
    this.owned.delete(key);
    return this.value(key);
  }

  getrange(key: string, start: number, end: number): Buffer {
    this.owned.delete(key);
    const v = this.value(key);
    if (!v || v.length === 0) return EMPTY;
    const n = v.length;
    let s = start < 0 ? Math.max(0, n + start) : start;
    let e = end < 0 ? n + end : end;
    if (e >= n) e = n - 1;
    if (s < 0) s = 0;
    if (s > e || s >= n) return EMPTY;
    return v.subarray(s, e + 1);
  }

  setrange(key: string, offset: number, value: Buffer): void {
    const old = this.value(key) ?? EMPTY;
    this.ops.push({ op: 'r', key, offset, value });
    if (value.length === 0) return;
    if (this.owned.has(key) && offset + value.length <= old.length) {
      value.copy(old, offset);
      return;
    }
    const next = Buffer.alloc(Math.max(old.length, offset + value.length));
    old.copy(next);
    value.copy(next, offset);
    this.current.set(key, next);
    this.owned.add(key);
  }

  set(key: string, value: Buffer, ttlSeconds: number): void {
    this.ops.push({ op: 's', key, value, ttl: ttlSeconds });
    this.owned.delete(key);
    this.current.set(key, value);
  }

  del(key: string): void {
    this.ops.push({ op: 'd', key });
    this.owned.delete(key);
    this.current.set(key, null);
  }

  expire(key: string, ttlSeconds: number): void {
    this.ops.push({ op: 'e', key, ttl: ttlSeconds });
  }

  /** Whether the call wrote anything besides its marker. */
  get writes(): number {
    return this.ops.length;
  }

  /**
   * The fenced script's ARGV[1] for a call with `keys` (the script's KEYS): a check of every key the
   * call read (the marker among them), then its writes (the marker's own SET excepted: the script
   * sets it last, with ARGV[2]).
   */
  payload(keys: readonly string[]): Buffer {
    const index = new Map<string, number>();
    keys.forEach((k, i) => {
      if (!index.has(k)) index.set(k, i + 1);
    });
    const at = (key: string): number => {
      const i = index.get(key);
      if (i === undefined) throw new Error(`compact apply: a key the call does not declare: ${key}`);
      return i;
    };
    const out = new Bytes();
    out.u16(this.read.size);
    for (const key of this.read) {
      const v = this.before.get(key) ?? null;
      out.u16(at(key));
      out.i32(v ? v.length : -1);
      if (v) out.bytes(v);
    }
    const marker = keys[0];
    for (const o of this.ops) {
      if (o.key === marker) continue;
      // A key written without being read would be written over another worker's change unseen.
      if (!this.read.has(o.key)) throw new Error(`compact apply: wrote a key it did not read ${o.key}`);
      out.byte(o.op);
      out.u16(at(o.key));
      if (o.op === 'r') {
        out.u32(o.offset);
        out.u32(o.value.length);
        out.bytes(o.value);
      } else if (o.op === 's') {
        out.u32(o.ttl);
        out.u32(o.value.length);
        out.bytes(o.value);
      } else if (o.op === 'e') {
        out.u32(o.ttl);
      }
    }
    return out.done();
  }
}
