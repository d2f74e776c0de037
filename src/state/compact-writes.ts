// Applying the compact layout's samples in the worker: the worker leases a call's shard, reads the
// call's keys, computes the call's writes with applyCompactCall (compact-apply.ts, the TypeScript
// twin of the apply script), and sends them in one fenced script. The fence is the shard's lease:
// every writer of a shard's series holds its lease while it reads, computes and writes (or takes it
// from its holder in the same transaction, CompactSeries.runScripts), so a write made under the
// token the read was made under cannot land over another writer's change. The script also checks
// that every key read was still there (a series that expired between the read and the write would
// otherwise be patched from nothing) and that the chunk was not applied meanwhile. If anything
// fails, nothing is written and the worker reads again. All of a call's keys are under one shard's
// hash tag, so it runs on a Redis Cluster unchanged. Redis then only checks and writes; the
// per-sample work (decoding cells, finding ids, packing rows) runs in the workers, which scale out,
// instead of in the Lua interpreter on Redis's one core (docs/scaling.md "Apply in the worker").
//
// Until the fifteenth session the fence compared the bytes of every key the call read (sent with
// the writes, read again by MGET inside the script): a third of the script's time and more than half
// of its bytes (bench/README.md "The lease is the fence").

import type { CallStore } from './compact-apply.js';

/**
 * KEYS: the call's keys (KEYS[1] the chunk marker), then the shard's lease (CompactKeys.applying) last.
 * ARGV[1]: the checks and writes, packed (CallRecorder.payload); ARGV[2]: the marker's value (the
 * call's rejects); ARGV[3]: the lease token the call's keys were read under; ARGV[4] '1': give the
 * lease back once written (the worker's window is done with the shard: a round trip less than
 * releasing it after).
 * Checks: '<I2' the number of keys the call read and found, then '<I2' each one's key number: they
 * must all still exist.
 * Writes, after the checks: one byte, then
 *   'r' '<I2I4I4' key, offset, length, bytes: SETRANGE;  's' '<I2I4I4' key, ttl, length, bytes: SET … EX;
 *   'e' '<I2I4' key, ttl: EXPIRE;  'd' '<I2' key: DEL.
 * Returns {1, rejects}: written (and the lease given back, with ARGV[4]); {0, marker}: the chunk was applied meanwhile (nothing written);
 * {-2}: the lease is no longer the call's (nothing written: lease again, then read again);
 * {-1}: a key read has gone (nothing written: read again).
 */
export const APPLY_WRITES_LUA = `
if redis.call('GET', KEYS[#KEYS]) ~= ARGV[3] then return {-2} end
local marker = redis.call('GET', KEYS[1])
if marker then return {0, marker} end
local P = ARGV[1]
local found, p = struct.unpack('<I2', P, 1)
local names = {}
for i = 1, found do
  local k
  k, p = struct.unpack('<I2', P, p)
  names[#names + 1] = KEYS[k]
  -- EXISTS in pages (one command per page, not one per key).
  if #names == 500 or i == found then
    if redis.call('EXISTS', unpack(names)) ~= #names then return {-1} end
    names = {}
  end
end
-- Numbers go to redis.call as strings made once: Lua's own conversion formats a double each time.
local digits = {}
local function str(x)
  local s = digits[x]
  if not s then
    s = string.format('%d', x)
    digits[x] = s
  end
  return s
end
local n = #P
while p <= n do
  local op = string.sub(P, p, p)
  local k, a, len
  if op == 'r' then
    k, a, len, p = struct.unpack('<I2I4I4', P, p + 1)
    redis.call('SETRANGE', KEYS[k], str(a), string.sub(P, p, p + len - 1))
    p = p + len
  elseif op == 's' then
    k, a, len, p = struct.unpack('<I2I4I4', P, p + 1)
    redis.call('SET', KEYS[k], string.sub(P, p, p + len - 1), 'EX', str(a))
    p = p + len
  elseif op == 'e' then
    k, a, p = struct.unpack('<I2I4', P, p + 1)
    redis.call('EXPIRE', KEYS[k], str(a))
  elseif op == 'd' then
    k, p = struct.unpack('<I2', P, p + 1)
    redis.call('DEL', KEYS[k])
  else
    return redis.error_reply('lookout: bad write op ' .. op)
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', 172800)
if ARGV[4] == '1' then redis.call('DEL', KEYS[#KEYS]) end
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

  /**
   * A writer whose payload will be about `expected` bytes: begun in a fresh chunk when the arena's
   * free space is shorter, so the bytes are written once and never moved (a payload of a round's
   * shard call is ~1 MB: begun in the arena's tail, it was copied into a chunk of twice its size,
   * sometimes twice).
   */
  constructor(expected = 0) {
    if (arenaUsed + expected > arena.length) {
      arena = Buffer.allocUnsafe(Math.max(CHUNK, expected));
      arenaUsed = 0;
      this.buf = arena;
      this.start = 0;
    }
  }

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

/** A key the call read. */
interface Read {
  /** The call's SETRANGEs of the key, in order, unless it SET or DELeted the key (`replaced`). */
  setranges?: { offset: number; value: Buffer }[];
}

/**
 * The CallStore a worker runs a call against: the values read beforehand (absent keys as null), a
 * working copy the call's writes change (so a later read in the same call sees them, as in Redis),
 * the keys the call read (those found must still exist at write time) and its writes in order.
 * The values read are not checked again: the shard's lease keeps every other writer away from
 * them (APPLY_WRITES_LUA).
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

  /** The key's read record (found, it must still exist when the call is written), created on first use. */
  private noted(key: string): Read {
    let r = this.reads.get(key);
    if (!r) {
      if (!this.before.has(key)) throw new KeyNotRead(key);
      this.reads.set(key, (r = {}));
    }
    return r;
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
    return this.value(key);
  }

  getrange(key: string, start: number, end: number): Buffer {
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
    const read = this.noted(key);
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
   * them (the bytes between are those read, still there under the lease). The joined write takes
   * the place of the key's first SETRANGE; an EXPIRE keeps its place (for a key the call creates,
   * the first SETRANGE still comes before it).
   */
  private coalesced(): readonly Op[] {
    const joined = new Map<string, Op | null>(); // key → its one write; null once it has taken its place
    for (const [key, { setranges: w }] of this.reads) {
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
      joined.set(key, { op: 'j', key, from, to, base: this.before.get(key) ?? EMPTY, ranges: w });
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
   * The fenced script's ARGV[1] for a call with `keys` (the script's KEYS, before the lease): the
   * keys the call read and found (each must still exist), then its writes (the marker's own SET
   * excepted: the script sets it last, with ARGV[2]).
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
    let found = 0;
    for (const key of this.reads.keys()) if (this.before.get(key)) found++;
    const out = new Bytes(2 + 2 * found + payloadBytes(ops));
    out.u16(found);
    for (const key of this.reads.keys()) if (this.before.get(key)) out.u16(at(key));
    const marker = keys[0];
    for (const o of ops) {
      if (o.key === marker) continue;
      // A key written without being read: the computation did not know what it held.
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

/** The bytes `ops` take in the payload (CallRecorder.payload): op, key and lengths, and what each writes. */
function payloadBytes(ops: readonly Op[]): number {
  let n = 0;
  for (const o of ops) {
    if (o.op === 'j') n += 11 + (o.to - o.from);
    else if (o.op === 'r' || o.op === 's') n += 11 + o.value.length;
    else if (o.op === 'e') n += 7;
    else n += 3;
  }
  return n;
}

/**
 * A key's SETRANGEs go as one SETRANGE over the bytes they span when there are several and the span
 * is at most twice what they write, or this many bytes. Each is a redis.call in the fenced script
 * (~3.5 µs apiece with its AOF record), far dearer than a KB more of bytes. A daily series (~1 KB:
 * header, a cell, the newest row) goes as one; an hourly one's ring cell and newest row, several
 * KB apart, stay two.
 */
const JOIN_SPAN = 2048;
