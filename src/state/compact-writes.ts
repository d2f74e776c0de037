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
 * Checks: '<I2i4' key number, expected length (-1: absent: nothing follows); then '<I2' the number
 * of ranges read, each '<I4I4' offset, length and the expected bytes (what the call read:
 * CallRecorder), or 65535 and the whole expected value.
 * Writes, after a '<I2' count of checks: one byte, then
 *   'r' '<I2I4I4' key, offset, length, bytes: SETRANGE;  's' '<I2I4I4' key, ttl, length, bytes: SET … EX;
 *   'e' '<I2I4' key, ttl: EXPIRE;  'd' '<I2' key: DEL.
 * Returns {1, rejects}: written; {0, marker}: the chunk was applied meanwhile (nothing written);
 * {-1}: a key read has changed (nothing written: read again).
 */
export const APPLY_WRITES_LUA = `
local P = ARGV[1]
local checks, p = struct.unpack('<I2', P, 1)
-- The keys read, fetched by MGET in pages (one command per page, not a GET per key), then each
-- compared with what the worker read: its length, and the bytes of the ranges the call read.
local ks, lens, nrs, at = {}, {}, {}, {}
for i = 1, checks do
  local k, len, nr
  k, len, p = struct.unpack('<I2i4', P, p)
  if len >= 0 then nr, p = struct.unpack('<I2', P, p) end
  ks[i], lens[i], nrs[i], at[i] = k, len, nr, p
  if nr == 65535 then
    p = p + len
  elseif nr then
    for _ = 1, nr do
      local _o, l
      _o, l, p = struct.unpack('<I4I4', P, p)
      p = p + l
    end
  end
end
local names, vs = {}, {}
for i = 1, checks do
  names[#names + 1] = KEYS[ks[i]]
  if #names == 500 or i == checks then
    local got = redis.call('MGET', unpack(names))
    for j = 1, #got do vs[#vs + 1] = got[j] end
    names = {}
  end
end
local conflict = false
for i = 1, checks do
  local k, len, v = ks[i], lens[i], vs[i]
  local same
  if len < 0 then
    same = not v
  else
    same = v and #v == len
    local q = at[i]
    if nrs[i] == 65535 then
      same = same and v == string.sub(P, q, q + len - 1)
    else
      for _ = 1, nrs[i] do
        if not same then break end
        local o, l
        o, l, q = struct.unpack('<I4I4', P, q)
        same = string.sub(v, o + 1, o + l) == string.sub(P, q, q + l - 1)
        q = q + l
      end
    end
  end
  if not same then
    if k == 1 and v then return {0, v} end
    conflict = true
  end
end
if conflict then return {-1} end
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

type Op =
  | { op: 'r'; key: string; offset: number; value: Buffer }
  | { op: 's'; key: string; value: Buffer; ttl: number }
  | { op: 'e'; key: string; ttl: number }
  | { op: 'd'; key: string }
  /** Several SETRANGEs of a key sent as one: bytes from..to of `base` with `ranges` laid over it (payload writes them). */
  | { op: 'j'; key: string; from: number; to: number; base: Buffer; ranges: readonly { offset: number; value: Buffer }[] };

/**
 * Where payloads are written: slices of shared chunks, so that a call's payload costs no buffer of
 * its own (a buffer per payload, grown by doubling, was most of the worker's garbage). A chunk is
 * freed once no payload cut from it is held any more.
 */
const CHUNK = 1 << 20;
let arena = Buffer.allocUnsafe(CHUNK);
let arenaUsed = 0;

/** Growable byte writer for the payload, in the arena's free space. */
class Bytes {
  private buf = arena;
  private start = arenaUsed;
  length = 0;

  private room(n: number): void {
    if (this.start + this.length + n <= this.buf.length) return;
    // Move what is written to a fresh chunk (at least twice what is needed) and go on there.
    const size = Math.max(CHUNK, 2 * (this.length + n));
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.start, this.start + this.length);
    this.buf = next;
    this.start = 0;
    arena = next;
  }
  byte(c: string): void {
    this.room(1);
    this.buf[this.start + this.length++] = c.charCodeAt(0);
  }
  u16(v: number): void {
    this.room(2);
    this.length = this.buf.writeUInt16LE(v, this.start + this.length) - this.start;
  }
  u32(v: number): void {
    this.room(4);
    this.length = this.buf.writeUInt32LE(v, this.start + this.length) - this.start;
  }
  i32(v: number): void {
    this.room(4);
    this.length = this.buf.writeInt32LE(v, this.start + this.length) - this.start;
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.start + this.length);
    this.length += b.length;
  }
  /** Bytes from..to of `base` (zeros past its end) with `ranges` laid over them in order. */
  span(base: Buffer, from: number, to: number, ranges: readonly { offset: number; value: Buffer }[]): void {
    this.room(to - from);
    const at = this.start + this.length;
    const kept = Math.max(0, Math.min(to, base.length) - from);
    if (kept > 0) base.copy(this.buf, at, from, from + kept);
    this.buf.fill(0, at + kept, at + (to - from));
    for (const r of ranges) {
      const a = Math.max(from, r.offset);
      const b = Math.min(to, r.offset + r.value.length);
      if (a < b) r.value.copy(this.buf, at + (a - from), a - r.offset, b - r.offset);
    }
    this.length += to - from;
  }
  /** The payload written: the arena's free space now begins after it. */
  done(): Buffer {
    const out = this.buf.subarray(this.start, this.start + this.length);
    arenaUsed = this.start + this.length; // (this.buf is the arena: room() moves both)
    if (arenaUsed > CHUNK - 4096) {
      arena = Buffer.allocUnsafe(CHUNK);
      arenaUsed = 0;
    }
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
/** The count of ranges that stands for the whole value (APPLY_WRITES_LUA). */
const WHOLE = 0xffff;

/** What a call read of one key's stored value: all of it, or these byte ranges ([start, end), merged later). */
interface Read {
  whole: boolean;
  readonly ranges: [start: number, end: number][];
  /** The call's SETRANGEs of the key, in order, unless it SET or DELeted the key (`replaced`). */
  setranges?: { offset: number; value: Buffer }[];
}

/**
 * The CallStore a worker runs a call against: the values read beforehand (absent keys as null), a
 * working copy the call's writes change (so a later read in the same call sees them, as in Redis),
 * what the call read of each key (to check at write time) and its writes in order.
 *
 * The call's writes are a function of the bytes it read and of the lengths of the values, nothing
 * else: so the check is the length (or absence) of every key read and the bytes of the ranges read,
 * not the whole value. An hourly series is several KB, of which a call reads its head and newest row.
 */
export class CallRecorder implements CallStore {
  private readonly current = new Map<string, Buffer | null>();
  private readonly reads = new Map<string, Read>();
  private readonly ops: Op[] = [];
  /**
   * SETRANGEs not yet laid over the working copy of their key: a call mostly writes a series and
   * never reads it again, so the copy is made only when a later read needs it.
   */
  private readonly pending = new Map<string, { offset: number; value: Buffer }[]>();

  constructor(private readonly before: ReadonlyMap<string, Buffer | null>) {}

  /** The key's read record (its length is checked from now on), created on first use. */
  private noted(key: string): Read {
    let r = this.reads.get(key);
    if (!r) {
      if (!this.before.has(key)) throw new KeyNotRead(key);
      this.reads.set(key, (r = { whole: false, ranges: [] }));
    }
    return r;
  }

  /** Whether the call has written the key: a read of it now sees its own writes, so all of it is checked. */
  private written(key: string): boolean {
    return this.pending.has(key) || this.current.has(key);
  }

  private value(key: string): Buffer | null {
    const ranges = this.pending.get(key);
    if (ranges) this.lay(key, ranges);
    if (this.current.has(key)) return this.current.get(key)!;
    this.noted(key);
    return this.before.get(key)!;
  }

  /**
   * The pending SETRANGEs of `key` laid over a copy of its value, in order: one copy for them all.
   * (Always a copy: a value once read is handed out, and what is handed out must not change under
   * the caller, as a Lua string does not.)
   */
  private lay(key: string, ranges: readonly { offset: number; value: Buffer }[]): void {
    this.pending.delete(key);
    const old = this.value(key) ?? EMPTY;
    let size = old.length;
    for (const r of ranges) size = Math.max(size, r.offset + r.value.length);
    const next = Buffer.allocUnsafe(size);
    old.copy(next);
    next.fill(0, old.length);
    for (const r of ranges) r.value.copy(next, r.offset);
    this.current.set(key, next);
  }

  get(key: string): Buffer | null {
    this.noted(key).whole = true;
    return this.value(key);
  }

  getrange(key: string, start: number, end: number): Buffer {
    const read = this.noted(key);
    const unwritten = !this.written(key);
    const v = this.value(key);
    if (!unwritten) read.whole = true;
    if (!v || v.length === 0) return EMPTY;
    const n = v.length;
    let s = start < 0 ? Math.max(0, n + start) : start;
    let e = end < 0 ? n + end : end;
    if (e >= n) e = n - 1;
    if (s < 0) s = 0;
    if (s > e || s >= n) return EMPTY;
    if (unwritten && !read.whole) read.ranges.push([s, e + 1]);
    return v.subarray(s, e + 1);
  }

  setrange(key: string, offset: number, value: Buffer): void {
    const read = this.noted(key); // its length is checked at write time
    const op = { op: 'r', key, offset, value } as const;
    this.ops.push(op);
    if (value.length === 0) return;
    if (!this.replaced.has(key)) (read.setranges ??= []).push(op);
    const ranges = this.pending.get(key);
    if (ranges) ranges.push(op);
    else this.pending.set(key, [op]);
  }

  /** Keys the call SET or DELeted (read or not yet): sent as recorded, their SETRANGEs not joined. */
  private readonly replaced = new Set<string>();

  set(key: string, value: Buffer, ttlSeconds: number): void {
    this.replaced.add(key);
    this.ops.push({ op: 's', key, value, ttl: ttlSeconds });
    this.pending.delete(key);
    this.current.set(key, value);
  }

  del(key: string): void {
    this.replaced.add(key);
    this.ops.push({ op: 'd', key });
    this.pending.delete(key);
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
   * The writes to send: the recorded ones, except that the SETRANGEs of a key the call neither SET
   * nor DELeted go as one when the bytes between them are few (JOIN_SPAN): the span's bytes are the
   * value as read with the SETRANGEs laid over it in order, zeros past its end, as Redis would leave
   * them. The span's stored bytes are added to what the call read, so the fence checks them: a
   * write never puts back stale bytes over another worker's change. The joined write takes the
   * place of the key's first SETRANGE; an EXPIRE keeps its place (for a key the call creates, the
   * first SETRANGE still comes before it).
   */
  private coalesced(): readonly Op[] {
    const joined = new Map<string, Op | null>(); // key → its one write; null once it has taken its place
    for (const [key, read] of this.reads) {
      const w = read.setranges;
      if (!w || w.length < 2 || this.replaced.has(key)) continue;
      let from = Infinity;
      let to = 0;
      let written = 0;
      for (const r of w) {
        from = Math.min(from, r.offset);
        to = Math.max(to, r.offset + r.value.length);
        written += r.value.length;
      }
      if (to - from > Math.max(2 * written, JOIN_SPAN)) continue;
      const base = this.before.get(key) ?? EMPTY;
      if (!read.whole && from < base.length) read.ranges.push([from, Math.min(to, base.length)]);
      joined.set(key, { op: 'j', key, from, to, base, ranges: w });
    }
    if (joined.size === 0) return this.ops;
    const out: Op[] = [];
    for (const o of this.ops) {
      const j = o.op === 'r' ? joined.get(o.key) : undefined;
      if (j === undefined) out.push(o);
      else if (j !== null) {
        out.push(j);
        joined.set(o.key, null);
      }
    }
    return out;
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
    const ops = this.coalesced();
    const out = new Bytes();
    out.u16(this.reads.size);
    for (const [key, read] of this.reads) {
      const v = this.before.get(key) ?? null;
      out.u16(at(key));
      out.i32(v ? v.length : -1);
      if (!v) continue;
      const ranges = read.whole ? [] : merged(read.ranges);
      if (read.whole || (ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === v.length)) {
        out.u16(WHOLE);
        out.bytes(v);
        continue;
      }
      out.u16(ranges.length);
      for (const [from, to] of ranges) {
        out.u32(from);
        out.u32(to - from);
        out.bytes(v.subarray(from, to));
      }
    }
    const marker = keys[0];
    for (const o of ops) {
      if (o.key === marker) continue;
      // A key written without being read would be written over another worker's change unseen.
      if (!this.reads.has(o.key)) throw new Error(`compact apply: wrote a key it did not read ${o.key}`);
      out.byte(o.op === 'j' ? 'r' : o.op);
      out.u16(at(o.key));
      if (o.op === 'j') {
        out.u32(o.from);
        out.u32(o.to - o.from);
        out.span(o.base, o.from, o.to, o.ranges);
      } else if (o.op === 'r') {
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

/**
 * A key's SETRANGEs go as one SETRANGE over the bytes they span when there are several and the span
 * is at most twice what they write, or this many bytes. Each is a redis.call in the fenced script
 * (~3.5 µs apiece with its AOF record), far dearer than a KB more of bytes. A daily series (~1 KB:
 * header, a cell, the newest row) goes as one; an hourly one's ring cell and newest row, several
 * KB apart, stay two.
 */
const JOIN_SPAN = 2048;

/** Byte ranges [start, end) sorted, the overlapping and adjacent ones joined. */
function merged(ranges: [number, number][]): [number, number][] {
  if (ranges.length <= 1) return ranges;
  // Insertion sort: a handful of ranges, mostly in order already (Array.sort allocates its work space).
  for (let i = 1; i < ranges.length; i++) {
    const r = ranges[i]!;
    let j = i - 1;
    for (; j >= 0 && ranges[j]![0] > r[0]; j--) ranges[j + 1] = ranges[j]!;
    ranges[j + 1] = r;
  }
  const out: [number, number][] = [[ranges[0]![0], ranges[0]![1]]];
  for (let i = 1; i < ranges.length; i++) {
    const last = out[out.length - 1]!;
    const [from, to] = ranges[i]!;
    if (from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}
