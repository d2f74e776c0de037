// The compact layout's apply step in TypeScript: the same computation as APPLY_COMPACT_LUA
// (compact-lua.ts), line for line, over a CallStore that holds the call's keys as Redis held them
// and records the writes. The worker applies a call by reading its keys, running this, and sending
// the writes to Redis in one fenced script that checks nothing it read has changed since
// (compact-writes.ts): the Lua interpreter no longer does the per-sample work on Redis's one core.
//
// Porting notes (what keeps the bytes identical to the Lua's):
// - Strings are Buffers and every byte position is 1-based, as in the script (sub, find and the
//   readers below take Lua positions); CallStore offsets are Redis's, 0-based, as in redis.call.
// - Numbers are doubles as in Lua; `%` is Lua's floored modulo (mod); struct.pack truncates and
//   keeps the low bytes as lua_struct.c does on x86-64 (pack); the bit operations work on values
//   of at most 24 bits, where JavaScript's int32 operators agree with LuaBitOp.
// - Lua tables become Maps (the 6-byte id hashes as latin1 strings), and those keyed by a group's
//   days small maps searched in a line (DayMap; the daily cells in columns, DayCells),
//   which keep their arrays from group to group. Where the script iterates one
//   with pairs() it sorts what it collected, or issues writes that do not overlap (an id index's
//   changed entries) or touch other keys (the removal groups of several siblings): the stored bytes
//   do not depend on the order, only the order of those writes may differ from the script's.
// - Where the script builds bytes piece by piece and the same bytes can be had with less garbage,
//   the port may take the shorter way (a rebuilt series copies a stored ring of the same size in one
//   piece; a new series leaves its untouched cells zero): the writes and their bytes stay the same.
// - Test: test/state/compact-apply.test.ts runs both on the same calls and compares every write.

/** The keys of one apply call as Redis holds them, and the writes the call makes to them. */
export interface CallStore {
  /**
   * The whole value (a copy is not needed: callers never mutate it), or null when the key is absent.
   * A value returned must not change afterwards (a later write makes a new one): the computation
   * keeps what it read, as the script keeps its strings.
   */
  get(key: string): Buffer | null;
  /** Redis GETRANGE: bytes start..end inclusive, negative offsets count from the end; empty when absent. */
  getrange(key: string, start: number, end: number): Buffer;
  /** Redis SETRANGE: overwrite from offset, zero-padding a shorter (or absent) value. */
  setrange(key: string, offset: number, value: Buffer): void;
  /** Redis SET key value EX ttlSeconds. */
  set(key: string, value: Buffer, ttlSeconds: number): void;
  del(key: string): void;
  /** Redis EXPIRE key ttlSeconds. */
  expire(key: string, ttlSeconds: number): void;
}

export interface CallResult {
  /** False when the chunk marker (keys[0]) was already set: the call was applied before, nothing written. */
  readonly applied: boolean;
  /** The rejects, as the script returns them: 'index:code,…' ('' for none). */
  readonly rejects: string;
}

/**
 * Apply one (chunk, shard) call: `keys` and `args` exactly as CompactSeries.calls builds them (and
 * as APPLY_COMPACT_LUA takes them as KEYS and ARGV). Every read and write goes through `store`, in
 * the same order and with the same arguments as the Lua script's redis.call()s.
 */
export function applyCompactCall(store: CallStore, keys: readonly string[], args: readonly (string | number)[]): CallResult {
  const mark = store.get(key(keys, 1));
  if (mark !== null) return { applied: false, rejects: mark.toString() };
  return new ApplyCall(store, keys, args).run();
}

// ---------------------------------------------------------------------------------------------
// Lua's byte strings and struct library over Buffers.

const EMPTY = Buffer.alloc(0);

/** KEYS[i] (1-based): a missing one is an error (the script would fail on its nil). */
function key(keys: readonly string[], i: number): string {
  const k = keys[i - 1];
  if (k === undefined) throw new Error(`compact apply: KEYS[${i}] missing`);
  return k;
}

/** ARGV[i] (1-based). */
function arg(args: readonly (string | number)[], i: number): string | number {
  const a = args[i - 1];
  if (a === undefined) throw new Error(`compact apply: ARGV[${i}] missing`);
  return a;
}

/** Lua's a % b: a - floor(a / b) * b (floored: never negative for b > 0, unlike JavaScript's %). */
function mod(a: number, b: number): number {
  return a - Math.floor(a / b) * b;
}

/** string.sub(s, i, j): bytes i..j, 1-based and inclusive, negative positions from the end, clamped. */
function sub(s: Buffer, i: number, j = -1): Buffer {
  const l = s.length;
  if (i < 0) i = Math.max(i + l + 1, 0);
  if (j < 0) j = Math.max(j + l + 1, 0);
  if (i < 1) i = 1;
  if (j > l) j = l;
  return i <= j ? s.subarray(i - 1, j) : EMPTY;
}

/** string.find(s, pattern, init, true): the 1-based position of the first plain match from init, or null. */
function find(s: Buffer, pattern: Buffer | string, init: number): number | null {
  const from = Math.min(Math.max(init - 1, 0), s.length);
  const p = typeof pattern === 'string' ? s.indexOf(pattern, from, 'latin1') : s.indexOf(pattern, from);
  return p < 0 ? null : p + 1;
}

/** string.rep(Z, n) for a zero string Z of `width` bytes. */
function zeros(width: number, n: number): Buffer {
  return zeroed(width * Math.max(0, Math.trunc(n)));
}

/**
 * n zero bytes. Buffer.alloc gives every buffer its own ArrayBuffer, which the garbage collector
 * accounts one by one; a small one cut from Node's shared pool (allocUnsafe) costs it nothing.
 */
function zeroed(n: number): Buffer {
  return Buffer.allocUnsafe(n).fill(0);
}

const latin1 = (b: Buffer): string => b.toString('latin1');

// struct.unpack of one field at a 1-based position ('<': little-endian). Out of range throws, as
// struct.unpack fails on a string too short.
const readI5 = (s: Buffer, p: number): number => s.readIntLE(p - 1, 5);
const readI4 = (s: Buffer, p: number): number => s.readInt32LE(p - 1);
const readU3 = (s: Buffer, p: number): number => s.readUIntLE(p - 1, 3);
const readU2 = (s: Buffer, p: number): number => s.readUInt16LE(p - 1);

interface Format {
  /** Each field's size in bytes, negative for a big-endian one. */
  readonly fields: readonly number[];
  readonly size: number;
}
const FORMATS = new Map<string, Format>();

/** A struct format of integer fields: '<' / '>' set the byte order, 'i' / 'I' + size in bytes. */
function format(fmt: string): Format {
  let f = FORMATS.get(fmt);
  if (f) return f;
  const fields: number[] = [];
  let big = false;
  let total = 0;
  for (let i = 0; i < fmt.length; ) {
    const c = fmt[i++];
    if (c === '<') big = false;
    else if (c === '>') big = true;
    else if (c === 'i' || c === 'I') {
      let size = 0;
      while (i < fmt.length && fmt[i]! >= '0' && fmt[i]! <= '9') size = size * 10 + Number(fmt[i++]);
      if (size < 1 || size > 6) throw new Error(`compact apply: struct size ${size} in ${fmt}`);
      fields.push(big ? -size : size);
      total += size;
    } else throw new Error(`compact apply: struct format ${fmt}`);
  }
  FORMATS.set(fmt, (f = { fields, size: total }));
  return f;
}

/**
 * The low `size` bytes of a number as lua_struct.c's putinteger stores it on x86-64: truncated
 * toward zero to a 64-bit integer (signed below zero, unsigned above), so a value out of a field's
 * range wraps, and one out of the 64-bit range (or NaN) converts to 2⁶³ and stores zero bytes.
 */
function wrap(n: number, size: number): number {
  const m = RANGE[size]!;
  // The usual case: a whole number within the field.
  if (n >= 0 && n < m && Math.floor(n) === n) return n;
  if (!(n >= -9223372036854775808 && n < 18446744073709551616)) return 0;
  const v = Math.trunc(n) % m;
  return v < 0 ? v + m : v;
}
const RANGE = [1, 2 ** 8, 2 ** 16, 2 ** 24, 2 ** 32, 2 ** 40, 2 ** 48];

/** struct.pack(fmt, ...values). */
function pack(fmt: string, ...values: number[]): Buffer {
  const { fields, size } = format(fmt);
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (let k = 0; k < fields.length; k++) {
    const v = values[k];
    if (v === undefined) throw new Error(`compact apply: struct.pack ${fmt}: value ${k + 1} missing`);
    const f = fields[k]!;
    if (f < 0) p = out.writeUIntBE(wrap(v, -f), p, -f);
    else p = putLE(out, p, v, f);
  }
  return out;
}

/** One little-endian field of struct.pack written in place: the low `size` bytes of `v` at `at` (as pack stores it); returns the position after it. */
function putLE(out: Buffer, at: number, v: number, size: number): number {
  return out.writeUIntLE(wrap(v, size), at, size);
}

/** struct.pack('<i4I2i4', M, R, third) written at the start of `out`: a series' header. */
function seriesHead(out: Buffer, M: number, R: number, third: number): void {
  putLE(out, 0, M, 4);
  putLE(out, 4, R, 2);
  putLE(out, 6, third, 4);
}

/** struct.pack('<i4i4i4', base, lowest, hold) written at the start of `out`: an id index's header. */
function idsHead(out: Buffer, base: number, lowest: number, hold: number): void {
  putLE(out, 0, base, 4);
  putLE(out, 4, lowest, 4);
  putLE(out, 8, hold, 4);
}

/** A value the script would use as a number, where Lua would fail on nil. */
function need<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new Error(`compact apply: ${what} is nil`);
  return v;
}

/** tonumber(s, 16) of a hex string (the script then packs it; a nil would fail there). */
function hexNumber(s: string): number {
  if (!/^[0-9a-fA-F]+$/.test(s)) throw new Error(`compact apply: bad id hash part '${s}'`);
  return parseInt(s, 16);
}

// ---------------------------------------------------------------------------------------------
// The script's constants and pure helpers.

const DMAX = 549755813887;
const DCMAX = 16777215;
const HMAX = 2147483647;
const HCMAX = 65535;
const OFF = 1073741824;
// Added to the header's third field: the key's expiry is the deadline below (whole weeks). Without
// it (a key written before), the next write sets it.
const WK = 536870912;
/** Bytes read past the ring with the header: a daily-fed series (rows of 6 bytes a day) comes whole. */
const WHOLE = 256;
/** Days of an implicit row, +2²³ in its header. */
const IMPLICIT = 8388608;
/** Seconds the chunk marker is kept. */
export const MARK_TTL = 172800;
const Z6 = zeros(6, 1);
const Z12 = zeros(12, 1);

function popcount(m: number): number {
  m = m - ((m >>> 1) & 0x555555);
  m = (m & 0x333333) + ((m >>> 2) & 0x333333);
  m = (m + (m >>> 4)) & 0x0f0f0f;
  return mod(m, 256) + mod(Math.floor(m / 256), 256) + Math.floor(m / 65536);
}

/** The map or set, emptied (a call's per-group maps are reused: a Map per group was much of its garbage). */
function emptied(m: { readonly size: number; clear(): void }): void {
  if (m.size > 0) m.clear();
}

/** Numbers sorted ascending in place (insertion sort: a handful, where Array.sort allocates its work space). */
function sortedNumbers(xs: number[]): number[] {
  for (let i = 1; i < xs.length; i++) {
    const x = xs[i]!;
    let j = i - 1;
    for (; j >= 0 && xs[j]! > x; j--) xs[j + 1] = xs[j]!;
    xs[j + 1] = x;
  }
  return xs;
}

/**
 * Bytes a string of n bytes may grow to within its allocation: jemalloc's size class of the sds
 * (header and NUL), less the header, rounded down to whole units. A write that stays within the
 * stored length never reallocates; one past it would double the allocation (sds greedy growth).
 * (log(x) / log(2), as the Lua computes it: checked to floor the same for every x up to 2²⁵ and
 * around every power of two up to 2⁶⁰.)
 */
function roomy(n: number, unit: number): number {
  const hdr = n < 252 ? 4 : 6;
  const s = n + hdr;
  let cls: number;
  if (s <= 128) {
    cls = Math.ceil(s / 16) * 16;
  } else {
    const step = 2 ** (Math.floor(Math.log(s - 1) / Math.log(2)) - 2);
    cls = Math.ceil(s / step) * step;
  }
  const cap = cls - (cls - 4 < 256 ? 4 : 6);
  if (cap < n) return n;
  return n + Math.floor((cap - n) / unit) * unit;
}

/** struct.pack('>I4I2', tonumber(idh:sub(1, 8), 16), tonumber(idh:sub(9, 12), 16)): the 6-byte id hash, as a Map key. */
const HEX12 = /^[0-9a-fA-F]{12}$/;
function idKey(idh: string): string {
  // The worker's round calls pass the 6 bytes themselves (idKey48), never sent to the script.
  if (idh.length === 6) return idh;
  // The usual case, 12 hex digits (idHash48): their 6 bytes, big-endian, are that pack.
  if (HEX12.test(idh)) return Buffer.from(idh, 'hex').toString('latin1');
  return latin1(pack('>I4I2', hexNumber(idh.slice(0, 8)), hexNumber(idh.slice(8, 12))));
}

// ---------------------------------------------------------------------------------------------
// The state of a call and of the group being applied.

/** A decoded hourly row: [h] the sum of hour h, [h + 24] its count; undefined where the hour has none. */
type Row = (number | undefined)[];

/** One stored hourly row (the Lua's {str, first cell position, mask, implicit, cells, p}). */
interface RowAt {
  /** The string holding it (the whole series, or the tail read with the newest row). */
  readonly str: Buffer;
  /** Position of its first cell in str. */
  readonly cells: number;
  readonly mask: number;
  readonly implicit: boolean;
  /** Number of cells (0 when implicit). */
  readonly nc: number;
  /** Its own position: in str, or in the series for the newest row read with the tail. */
  at: number;
}

/** An id index entry looked up or added in this call (the Lua's {stored position or false, hour, value, removed, changed}). */
interface IdEntry {
  /** Position of the stored entry in I, or null for an entry new in this call. */
  readonly pos: number | null;
  hour: number;
  value: number;
  removed: boolean;
  changed: boolean;
}

/** Removals of ids a group moved from a sibling metric: {series, id index, keys}, applied right after it. */
interface Removal {
  readonly series: string;
  readonly ids: string;
  readonly keys: readonly string[];
}

/** A sibling's id index, read once per group: the string, its first entry's position, the sibling's number. */
interface SiblingIndex {
  readonly s: Buffer;
  readonly e0: number;
  readonly j: number;
}

/** SameValueZero on numbers, as a Map compares its keys (a NaN day, from arguments that are not numbers, is one key). */
function sameDay(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/**
 * A small map from days to values, in insertion order, as a Map<number, T> behaves: a group's rows
 * and touched days (a few days; at most the ring's). Searched in a line, and emptied without giving its
 * arrays back (n counts what is held): a Map emptied for each group and grown again was a fresh
 * hash table or two per group, and so was an array emptied by setting its length to 0.
 */
class DayMap<T> {
  private readonly days: number[] = [];
  private readonly vals: T[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  private at(day: number): number {
    const days = this.days;
    for (let i = 0; i < this.n; i++) if (sameDay(days[i]!, day)) return i;
    return -1;
  }

  get(day: number): T | undefined {
    const i = this.at(day);
    return i < 0 ? undefined : this.vals[i];
  }

  has(day: number): boolean {
    return this.at(day) >= 0;
  }

  set(day: number, v: T): void {
    const i = this.at(day);
    if (i >= 0) {
      this.vals[i] = v;
      return;
    }
    const n = this.n++;
    if (n < this.days.length) {
      this.days[n] = day;
      this.vals[n] = v;
    } else {
      this.days.push(day);
      this.vals.push(v);
    }
  }

  /** The days, in the order they were first set (a copy: the caller may sort it). */
  keyList(): number[] {
    return this.days.slice(0, this.n);
  }

  /** Each day and its value, in the order they were first set. */
  each(f: (day: number, v: T) => void): void {
    for (let i = 0; i < this.n; i++) f(this.days[i]!, this.vals[i]!);
  }

  /** Emptied; the values it held are let go of only as they are written over (they are the call's own). */
  clear(): void {
    this.n = 0;
  }
}

/**
 * A group's daily cells (sum, count, sealed hours) by day, in columns: a cell is its index here,
 * found in a line (a group touches a few days, at most the ring's) and emptied without giving the
 * columns back (as DayMap; a cell of its own was an array per day of every group).
 */
class DayCells {
  private readonly days: number[] = [];
  readonly sum: number[] = [];
  readonly count: number[] = [];
  readonly sealed: number[] = [];
  private n = 0;

  /** The cell of `day`, or -1. */
  find(day: number): number {
    const days = this.days;
    for (let i = 0; i < this.n; i++) if (sameDay(days[i]!, day)) return i;
    return -1;
  }

  /** A cell for `day` (not held yet) with these fields; its index. */
  add(day: number, sum: number, count: number, sealed: number): number {
    const i = this.n++;
    if (i < this.days.length) {
      this.days[i] = day;
      this.sum[i] = sum;
      this.count[i] = count;
      this.sealed[i] = sealed;
    } else {
      this.days.push(day);
      this.sum.push(sum);
      this.count.push(count);
      this.sealed.push(sealed);
    }
    return i;
  }

  has(day: number): boolean {
    return this.find(day) >= 0;
  }

  get size(): number {
    return this.n;
  }

  clear(): void {
    this.n = 0;
  }
}

const newRow = (): Row => new Array<number | undefined>(48);

/**
 * One call of the apply step (the script's comment, compact-lua.ts):
 *
 * KEYS[1]: the chunk marker; then per (entity, metric) group: its series string, its id index.
 * ARGV: appNowMs, dailyRing, minHour, idCutoffHour, dailyRetentionDays, holdDay (today: an id
 * older than the window arriving today is held until the cutoff passes today; -1: such an id seals
 * its hour at once, as lookout migrate replays them), then per group:
 *   n, k, n × (sample index, local hour index, value in thousandths, id hash (12 hex; or its 6 bytes, in the worker's round calls: idKey48) or '').
 * KEYS per group: series, id index, then series and id index of k sibling metrics (same family): an
 * id new to its own index but held by a sibling moves here (the buckets layout's global ids do the
 * same): it is taken out of the sibling's cells and index after the group (a removal group).
 *
 * Series string: '<i4I2i4' (last day M, ring size R, offset of the newest hourly row + 2^30, + 2^29
 * once its expiry is on whole weeks), R daily cells '<i5I3I3' (sum, count, mask of the hours of the
 * day whose ids have left the id window: sealed) for the days (M-R, M] at position day % R, then
 * hourly rows, OLDEST first: '<I3I3' (day, +2^23 when implicit; mask of the hours with data), then
 * one '<i4I2' cell (sum, count) per hour in the mask. An implicit row has one hour and no cell: that
 * hour holds the whole day (the day's daily cell), the usual case of a daily export. Rows older than
 * the hourly retention are dropped when the string is rebuilt; until then readers pass over them.
 * (A header whose third field is below 2^30 is the earlier format, rows newest first and that
 * field the oldest row's day: read whole and rebuilt in this one.)
 *
 * Id index: '<i4i4i4' (base hour + 2^30, lowest hour held, hold day), then 12-byte entries: 6-byte
 * id hash, '<I2' hour - base, '<i4' value. Held: the ids of hours >= the cutoff, and the older ones
 * while the hold day (the last day an id older than the window arrived) is not older than the
 * cutoff's day: a backfill's ids are kept a window from their arrival. An id dropped seals its hour.
 * (A header whose first field is below 2^30 is the earlier format, '<i4i4' with no hold: entries
 * from byte 9, rewritten in this one on the next change.)
 *
 * Writes touch only the bytes that change: the daily cells (SETRANGE), the header, the newest hourly
 * row and the rows of new days (one SETRANGE at the end of the string), new ids and replaced ids
 * (SETRANGE). A call that touches an older row, shrinks the newest, moves the ring by R days or
 * more, or must trim rows reads the whole string and rewrites it.
 */
class ApplyCall {
  private readonly appNow: number;
  private readonly RD: number;
  private readonly minHour: number;
  private readonly minDay: number;
  private readonly cutoff: number;
  private readonly dret: number;
  private readonly holdArg: number;
  private readonly cutoffDay: number;
  private readonly rejects: string[] = [];
  private readonly later: Removal[] = [];
  /** The KEYS and ARGV cursors (1-based). */
  private ki = 2;
  private ai = 7;

  // The state of the (entity, metric) group being applied (the methods below read it).
  private weekly = false;
  private sWhole = false;
  private n = 0;
  private sKey = '';
  private iKey = '';
  private S: Buffer | null = null;
  private Ms: number | null = null;
  private Rs = 0;
  private Ts: number | null = null;
  private rowsAt = 0;
  private newestAt: number | null = null;
  private newestDay: number | null = null;
  private full = false;
  private room = 0;
  private readonly rowAt = new DayMap<RowAt>();
  private M: number | null = null;
  private readonly dc = new DayCells();
  /** Days whose daily cell changed (a set: the value is unused). */
  private readonly dtouched = new DayMap<true>();
  private readonly rows = new DayMap<Row>();
  /** Rows of the groups before, cleared: a call decodes a row per touched day of each group, and reuses them. */
  private readonly spare: Row[] = [];
  private changed = false;
  private I: Buffer | null = null;
  private base = 0;
  private lowest: number | null = null;
  private cap = 0;
  private storedLen = 0;
  private storedLowest: number | null = null;
  private idsChanged = false;
  private idsWhole = false;
  private readonly over = new Map<string, IdEntry | false>();
  private readonly adds: string[] = [];
  /** Sibling number (0-based) → the ids the group moved from it (created when one moves: seldom). */
  private moves: Map<number, string[]> | undefined;
  private E0 = 13;
  private hold = -1;
  private storedHold = -1;
  /** {series, id index} of each sibling metric of the group. */
  private sibKeys: (readonly [string, string])[] = [];
  private sibI: SiblingIndex[] | null = null;

  constructor(
    private readonly store: CallStore,
    private readonly keys: readonly string[],
    private readonly args: readonly (string | number)[],
  ) {
    this.appNow = Math.floor(Number(arg(args, 1)) / 1000);
    this.RD = Number(arg(args, 2));
    this.minHour = Number(arg(args, 3));
    this.minDay = Math.floor(this.minHour / 24);
    this.cutoff = Number(arg(args, 4));
    this.dret = Number(arg(args, 5));
    this.holdArg = Number(arg(args, 6));
    this.cutoffDay = Math.floor(this.cutoff / 24);
  }

  /**
   * The day a key expires: the retention + 2 days after its last day, rounded up to a whole week, so
   * that a new day moves it (and costs an EXPIRE) once a week, not every day.
   */
  private deadline(day: number): number {
    return Math.ceil((day + this.dret + 2) / 7) * 7;
  }

  run(): CallResult {
    for (;;) {
      let removals: readonly string[] | null = null;
      if (this.later.length > 0) {
        // First the removals the last group left, so the next group finds its ids where they are now.
        const g = this.later.pop()!;
        this.sKey = g.series;
        this.iKey = g.ids;
        removals = g.keys;
        this.n = removals.length;
        this.sibKeys = [];
        this.sibI = null;
      } else if (this.ai <= this.args.length) {
        this.n = Number(arg(this.args, this.ai));
        const k = Number(arg(this.args, this.ai + 1));
        this.ai += 2;
        const ki = this.ki;
        this.sKey = key(this.keys, ki);
        this.iKey = key(this.keys, ki + 1);
        this.sibKeys = [];
        this.sibI = null;
        for (let j = 1; j <= k; j++) this.sibKeys.push([key(this.keys, ki + 2 * j), key(this.keys, ki + 2 * j + 1)]);
        this.ki = ki + 2 + 2 * k;
      } else {
        break;
      }
      this.group(removals);
    }
    const out = this.rejects.join(',');
    this.store.set(key(this.keys, 1), Buffer.from(out), MARK_TTL);
    return { applied: true, rejects: out };
  }

  /** Apply one group: its samples, or (removals) the ids the group before moved out of this sibling. */
  private group(removals: readonly string[] | null): void {
    this.openSeries();
    this.openIds();

    for (let r = 1; r <= this.n; r++) {
      if (removals) {
        // An id this call moved to a sibling metric: out of this one's cells and index.
        const e = this.findId(removals[r - 1]!);
        if (e) {
          this.addDaily(Math.floor(e.hour / 24), -e.value, -1);
          this.addHourly(e.hour, -e.value, -1);
          e.removed = true;
          this.idsChanged = true;
          this.idsWhole = true;
        }
      } else {
        this.sample();
      }
    }
    if (this.stale()) this.rebuildIds();

    if (this.changed) this.writeSeries();
    if (this.idsChanged) this.writeIds();
    // (The Lua's pairs(moves): the order of the removal groups does not matter, each writes only its
    // own sibling's keys.)
    const moves = this.moves;
    this.moves = undefined;
    if (!moves) return;
    for (const j of sortedNumbers([...moves.keys()])) {
      const [series, ids] = this.sibKeys[j]!;
      this.later.push({ series, ids, keys: moves.get(j)! });
    }
  }

  /**
   * The series: header, ring and the oldest row's header in one GETRANGE, the newest row in
   * another; the whole string only when needed (loadFull).
   */
  private openSeries(): void {
    const RD = this.RD;
    const S = this.store.getrange(this.sKey, 0, 15 + RD * 11 + WHOLE);
    this.S = S;
    this.Ms = null;
    this.Rs = 0;
    this.Ts = null;
    this.rowsAt = 0;
    this.newestAt = null;
    this.newestDay = null;
    this.full = false;
    this.room = 0;
    this.weekly = false;
    emptied(this.rowAt);
    this.sWhole = S.length < 16 + RD * 11 + WHOLE; // the first read held the whole string (a daily-fed series)
    if (S.length === 0) {
      this.S = null;
    } else {
      // struct.unpack('<i4I2i4', S)
      this.Ms = readI4(S, 1);
      this.Rs = readU2(S, 5);
      const third = readI4(S, 7);
      this.weekly = third >= OFF + WK;
      this.rowsAt = 11 + this.Rs * 11;
      if (this.Rs !== RD || third < OFF) {
        this.loadFull();
      } else if (S.length >= this.rowsAt + 5) {
        this.Ts = mod(readU3(S, this.rowsAt), IMPLICIT);
        const newestAt = mod(third - OFF, WK) + 1;
        this.newestAt = newestAt;
        // The newest row and the padding after it (room for new rows without reallocating).
        const tail = this.sWhole ? sub(S, newestAt) : this.store.getrange(this.sKey, newestAt - 1, -1);
        const [day, at] = rowHeader(tail, 1);
        if (this.Ts === 0 || day === 0) {
          this.loadFull();
        } else {
          at.at = newestAt;
          this.newestDay = day;
          this.rowAt.set(day, at);
          this.room = tail.length - 6 - at.nc * 6;
        }
      }
    }
    this.M = this.Ms;
    emptied(this.dc);
    emptied(this.dtouched);

    // Hourly rows, decoded when touched (r[h]: the sum of hour h, r[h + 24]: its count); a row older
    // than the newest stored one needs the whole string.
    this.rows.each((_, r) => this.spare.push(r.fill(undefined)));
    emptied(this.rows);
    this.changed = false;
  }

  /**
   * The id index: the stored entries searched in place (an entry starts at E0 + 12k; they end at
   * the padding, zero entries), this call's changes in `over` (key → entry, or false: not held)
   * and `adds` (new keys, in order). Written back as the changed entries (SETRANGE) and the new ones
   * over the padding, or whole after a removal or a rebase, or when the padding is used up.
   */
  private openIds(): void {
    const I = this.store.get(this.iKey);
    this.I = I;
    this.base = this.cutoff;
    this.lowest = null;
    this.hold = -1;
    this.E0 = 13;
    this.cap = I ? I.length : 0;
    this.storedLen = this.cap;
    let v1 = false;
    if (I) {
      this.base = readI4(I, 1);
      this.lowest = readI4(I, 5);
      if (this.base >= OFF) {
        this.base = this.base - OFF;
        this.hold = readI4(I, 9);
      } else {
        v1 = true;
        this.E0 = 9;
      }
      let init = this.E0;
      for (;;) {
        const z = find(I, Z12, init);
        if (z === null) break;
        if (mod(z - this.E0, 12) === 0) {
          this.storedLen = z - 1;
          break;
        }
        init = z + 1;
      }
    }
    this.storedLowest = this.lowest;
    this.storedHold = this.hold;
    // The Lua writes `I == nil or v1`, but GET gives false (never nil) for an absent index: the
    // index is whole only in the earlier format here (an absent one is written whole anyway as soon
    // as it gets an entry: its stored length 0 has no room).
    this.idsChanged = false;
    this.idsWhole = v1;
    emptied(this.over);
    this.adds.length = 0;
    // Entries no longer held are dropped (their hours sealed) before this call's samples are looked up.
    if (this.stale()) this.rebuildIds();
  }

  /** One sample of the group: ARGV sample index, local hour index, value in thousandths, id hash or ''. */
  private sample(): void {
    const ai = this.ai;
    const idx = arg(this.args, ai);
    const hour = Number(arg(this.args, ai + 1));
    const val = Number(arg(this.args, ai + 2));
    const idh = String(arg(this.args, ai + 3));
    this.ai = ai + 4;
    const day = Math.floor(hour / 24);
    let key: string | null = null;
    // The stored sample this one replaces (an id already held): its hour and value.
    let old = false;
    let oldHour = 0;
    let oldValue = 0;
    if (idh !== '') {
      key = idKey(idh);
      const e = this.findId(key);
      if (e) {
        old = true;
        oldHour = e.hour;
        oldValue = e.value;
      }
    }
    let code: string | null = null;
    let moved: number | null = null;
    // An id new here but held by a sibling metric moves here (it is a known sample: never sealed).
    if (key !== null && !old) moved = this.inSibling(key);
    if (!this.inDaily(day)) {
      code = 'ts_too_old';
    } else if (key !== null && !old && moved === null && (this.dc.sealed[this.dget(day)]! & (1 << (hour - day * 24))) !== 0) {
      code = 'id_window_passed';
    } else if (val > HMAX && (key !== null || hour >= this.minHour)) {
      code = 'value_out_of_range';
    } else {
      const d = this.dget(day);
      let ds = this.dc.sum[d]! + val;
      let dn = this.dc.count[d]! + 1;
      if (old && Math.floor(oldHour / 24) === day) {
        ds = ds - oldValue;
        dn = dn - 1;
      }
      if (ds > DMAX || dn > DCMAX) code = 'value_out_of_range';
      if (hour >= this.minHour) {
        const r = this.hrow(day);
        const h = hour - day * 24;
        let hs = (r[h] ?? 0) + val;
        let hn = (r[h + 24] ?? 0) + 1;
        if (old && oldHour === hour) {
          hs = hs - oldValue;
          hn = hn - 1;
        }
        if (hs > HMAX || hn > HCMAX) code = 'value_out_of_range';
      }
    }
    if (code !== null) {
      this.rejects.push(`${idx}:${code}`);
      return;
    }
    if (old) {
      this.addDaily(Math.floor(oldHour / 24), -oldValue, -1);
      this.addHourly(oldHour, -oldValue, -1);
    }
    this.addDaily(day, val, 1);
    this.addHourly(hour, val, 1);
    if (key === null) return;
    // An id of the window's two oldest days or older: the ids older than the window are held a
    // window from its arrival (a backfill; not when migrating).
    if (hour < this.cutoff + 48 && this.holdArg >= 0 && this.hold < this.holdArg) this.hold = this.holdArg;
    const keep = this.held(hour);
    if (keep && (hour < this.base || hour - this.base > 65535)) this.rebuildIds(hour);
    const e = this.findId(key);
    if (keep) {
      if (e) {
        e.hour = hour;
        e.value = val;
        e.changed = true;
      } else {
        const prev = this.over.get(key);
        if (prev) {
          // Removed earlier in this call: back in its place.
          prev.hour = hour;
          prev.value = val;
          prev.removed = false;
          prev.changed = true;
        } else {
          this.over.set(key, { pos: null, hour, value: val, removed: false, changed: false });
          this.adds.push(key);
        }
      }
      if (this.lowest === null || hour < this.lowest) this.lowest = hour;
    } else {
      // Older than the window: remembered no longer than this call.
      if (e) {
        e.removed = true;
        this.idsWhole = true;
      }
      this.seal(hour);
    }
    this.idsChanged = true;
    if (moved !== null) {
      const moves = (this.moves ??= new Map());
      let m = moves.get(moved);
      if (!m) moves.set(moved, (m = []));
      m.push(key);
    }
  }

  // --- The series string ------------------------------------------------------------------------

  private loadFull(): void {
    if (this.full) return;
    this.full = true;
    if (this.Ms === null) return;
    if (!this.sWhole) this.S = this.store.get(this.sKey);
    const S = need(this.S, 'the series');
    emptied(this.rowAt);
    let p = this.rowsAt;
    // Rows end at the string's end or at the padding (zero rows: day 0, no hours).
    while (p + 5 <= S.length && !sub(S, p, p + 5).equals(Z6)) {
      const [day, at] = rowHeader(S, p);
      this.rowAt.set(day, at);
      p = p + 6 + at.nc * 6;
    }
  }

  /** The daily cell of `day` (its index in dc): decoded from the ring when first asked, zero for a day the ring does not hold. */
  private dget(day: number): number {
    const c = this.dc.find(day);
    if (c >= 0) return c;
    const Ms = this.Ms;
    if (Ms !== null && day <= Ms && day > Ms - this.Rs) {
      // struct.unpack('<i5I3I3', S, 11 + (day % Rs) * 11)
      const S = need(this.S, 'the series');
      const p = 11 + mod(day, this.Rs) * 11;
      return this.dc.add(day, readI5(S, p), readU3(S, p + 5), readU3(S, p + 8));
    }
    return this.dc.add(day, 0, 0, 0);
  }

  private inDaily(day: number): boolean {
    return this.M === null || day > this.M - this.RD;
  }

  private hrow(day: number): Row {
    let r = this.rows.get(day);
    if (r) return r;
    if (this.newestDay !== null && day < this.newestDay) this.loadFull();
    r = this.spare.pop() ?? newRow();
    const at = this.rowAt.get(day);
    if (at) {
      let mask = at.mask;
      // The cells in order, from the first (the Lua unpacks them all at once).
      let k = at.cells;
      for (let h = 0; h <= 23; h++) {
        if (mod(mask, 2) === 1) {
          if (at.implicit) {
            const d = this.dget(day);
            r[h] = this.dc.sum[d]!;
            r[h + 24] = this.dc.count[d]!;
          } else {
            r[h] = readI4(at.str, k);
            r[h + 24] = readU2(at.str, k + 4);
            k += 6;
          }
        }
        mask = Math.floor(mask / 2);
        if (mask === 0) break;
      }
    }
    this.rows.set(day, r);
    return r;
  }

  private addDaily(day: number, dv: number, dn: number): void {
    if (!this.inDaily(day)) return;
    if (day >= this.minDay) this.hrow(day); // an implicit row reads the daily cell: decode it first
    const c = this.dget(day);
    const dc = this.dc;
    dc.sum[c] = dc.sum[c]! + dv;
    dc.count[c] = dc.count[c]! + dn;
    if (dc.count[c]! <= 0) {
      dc.sum[c] = 0;
      dc.count[c] = 0;
    }
    this.dtouched.set(day, true);
    if (this.M === null || day > this.M) this.M = day;
    this.changed = true;
  }

  private addHourly(hour: number, dv: number, dn: number): void {
    if (hour < this.minHour) return;
    const day = Math.floor(hour / 24);
    const r = this.hrow(day);
    const h = hour - day * 24;
    const n = (r[h + 24] ?? 0) + dn;
    if (n <= 0) {
      r[h] = undefined;
      r[h + 24] = undefined;
    } else {
      r[h] = (r[h] ?? 0) + dv;
      r[h + 24] = n;
    }
    this.changed = true;
  }

  /**
   * An id that leaves the window seals its hour: a sample with an id for that hour can no longer
   * be told from a re-send of a forgotten one (id_window_passed).
   */
  private seal(hour: number): void {
    const day = Math.floor(hour / 24);
    if (!this.inDaily(day)) return;
    const c = this.dget(day);
    const hb = 1 << (hour - day * 24);
    if ((this.dc.sealed[c]! & hb) === 0) {
      this.dc.sealed[c] = this.dc.sealed[c]! | hb;
      this.dtouched.set(day, true);
      if (this.M === null || day > this.M) this.M = day;
      this.changed = true;
    }
  }

  /**
   * The bytes the touched row of `day` is stored in: 0 when it holds no hour, 6 when implicit (its
   * one hour is the whole day), else the row header and a cell per hour (rowInto writes them).
   */
  private rowSize(day: number): number {
    const r = need(this.rows.get(day), 'the row');
    let nc = 0;
    let only = 0;
    for (let h = 0; h <= 23; h++) {
      if (r[h + 24] !== undefined) {
        nc = nc + 1;
        only = h;
        need(r[h], 'the hour sum');
      }
    }
    if (nc === 0) return 0;
    if (nc === 1) {
      const d = this.dget(day);
      if (this.dc.sum[d] === r[only] && this.dc.count[d] === r[only + 24]) return 6;
    }
    return 6 + 6 * nc;
  }

  /**
   * The touched row of `day` written into `out` at byte `at` (0-based), in the `size` bytes rowSize
   * gave: struct.pack('<I3I3', day + 2²³, mask) when implicit, else
   * struct.pack('<I3I3' .. string.rep('i4I2', nc), day, mask, sum, count, …).
   */
  private rowInto(day: number, size: number, out: Buffer, at: number): void {
    const r = this.rows.get(day)!;
    let mask = 0;
    let bitv = 1;
    for (let h = 0; h <= 23; h++) {
      if (r[h + 24] !== undefined) mask = mask + bitv;
      bitv = bitv * 2;
    }
    putLE(out, at, size === 6 ? day + IMPLICIT : day, 3);
    putLE(out, at + 3, mask, 3);
    if (size === 6) return;
    let p = at + 6;
    for (let h = 0; h <= 23; h++) {
      const cnt = r[h + 24];
      if (cnt === undefined) continue;
      putLE(out, p, r[h]!, 4);
      putLE(out, p + 4, cnt, 2);
      p += 6;
    }
  }

  private encodeRow(day: number): Buffer {
    const size = this.rowSize(day);
    if (size === 0) return EMPTY;
    const out = Buffer.allocUnsafe(size);
    this.rowInto(day, size, out, 0);
    return out;
  }

  private cellAt(q: number): Buffer {
    const out = Buffer.allocUnsafe(11);
    this.cellInto(q, out, 0);
    return out;
  }

  /** cellAt(q) written into `out` at byte `at` (0-based): struct.pack('<i5I3I3', …) without a Buffer of its own. */
  private cellInto(q: number, out: Buffer, at: number): void {
    const M = need(this.M, 'M');
    const c = this.dget(M - mod(M - q, this.RD));
    putLE(out, at, this.dc.sum[c]!, 5);
    putLE(out, at + 5, this.dc.count[c]!, 3);
    putLE(out, at + 8, this.dc.sealed[c]!, 3);
  }

  private writeSeries(): void {
    const RD = this.RD;
    const M = need(this.M, 'M');
    const ttl = Math.max(1, this.deadline(M) * 86400 - this.appNow);
    let patched = false;
    const Ms = this.Ms;
    if (!this.full && Ms !== null && M - Ms < RD) {
      // The rows from the newest stored one (if touched) on: the only rows this call may write,
      // over the newest row and into the padding after it.
      const tdays = sortedNumbers(this.rows.keyList());
      let from = this.rowsAt;
      let oldLen = 0;
      let last: number | null = null;
      const newestDay = this.newestDay;
      if (newestDay !== null) {
        const newestAt = need(this.newestAt, 'the newest row');
        oldLen = 6 + need(this.rowAt.get(newestDay), 'the newest row').nc * 6;
        from = newestAt;
        if (!this.rows.has(newestDay)) {
          from = newestAt + oldLen;
          oldLen = 0;
          last = newestAt;
        }
      }
      const parts: Buffer[] = [];
      let p = from;
      for (const day of tdays) {
        const b = this.encodeRow(day);
        if (b.length > 0) {
          parts.push(b);
          last = p;
          p = p + b.length;
        }
      }
      if (p - from <= oldLen + this.room && (last !== null || newestDay === null)) {
        patched = true;
        if (p - from < oldLen) parts.push(zeros(6, (oldLen - (p - from)) / 6));
        // The header, each run of adjacent touched daily cells (those of new days too) and the
        // rows, each in its own write: only the bytes that change go to the AOF and the replicas.
        for (let day = Ms + 1; day <= M; day++) this.dtouched.set(day, true);
        const pos: number[] = [];
        this.dtouched.each((day) => pos.push(mod(day, RD)));
        sortedNumbers(pos);
        last = last ?? this.rowsAt;
        // (The header only when it changes: not for another hour of the same day.)
        const head = Buffer.allocUnsafe(10);
        seriesHead(head, M, RD, last - 1 + OFF + WK);
        if (!head.equals(need(this.S, 'the series').subarray(0, 10))) this.store.setrange(this.sKey, 0, head);
        let q = 0;
        while (q < pos.length) {
          const cells = [this.cellAt(pos[q]!)];
          let r = q;
          while (r < pos.length - 1 && pos[r + 1]! <= pos[r]! + 1) {
            r = r + 1;
            if (pos[r] !== pos[r - 1]) cells.push(this.cellAt(pos[r]!));
          }
          this.store.setrange(this.sKey, 10 + pos[q]! * 11, Buffer.concat(cells));
          q = r + 1;
        }
        if (parts.length > 0) this.store.setrange(this.sKey, from - 1, Buffer.concat(parts));
        if (!this.weekly || this.deadline(M) !== this.deadline(Ms)) this.store.expire(this.sKey, ttl);
      }
    }
    if (!patched) {
      // Rebuild the whole string, dropping days past the retentions, with room for new rows.
      this.loadFull();
      const days: number[] = [];
      this.rowAt.each((day) => {
        if (!this.rows.has(day)) days.push(day);
      });
      this.rows.each((day) => days.push(day));
      sortedNumbers(days);
      // The rows as pieces [bytes, start, end) (0-based), a stored row next to the stored row before
      // it joining its piece, so that the string is copied in a few runs; a touched row as
      // [null, day, size], encoded in its place (rowInto).
      const pieces: [Buffer | null, number, number][] = [];
      let p = 11 + RD * 11;
      let last: number | null = null;
      for (const day of days) {
        if (day >= this.minDay) {
          if (this.rows.has(day)) {
            const size = this.rowSize(day);
            if (size > 0) {
              pieces.push([null, day, size]);
              last = p;
              p = p + size;
            }
          } else {
            const at = this.rowAt.get(day)!;
            const b = at.str;
            const from = at.at - 1;
            const to = Math.min(at.cells + at.nc * 6 - 1, b.length);
            if (to > from) {
              const prev = pieces[pieces.length - 1];
              if (prev && prev[0] === b && prev[2] === from) prev[2] = to;
              else pieces.push([b, from, to]);
              last = p;
              p = p + (to - from);
            }
          }
        }
      }
      // Header, ring (the cells decoded in this call packed again, the others copied as they are
      // stored, or zero: a day the ring no longer holds), rows, then zero rows up to the
      // allocation's room for new ones.
      const size = last !== null ? roomy(p - 1, 6) : p - 1;
      const out = zeroed(size);
      seriesHead(out, M, RD, (last ?? p) - 1 + OFF + WK);
      const same = Ms !== null && this.Rs === RD;
      // (A stored ring of the same size is copied in one piece, then the cells this call decoded
      // and those of days it no longer holds are written over it: the same bytes as cell by cell.
      // A new series leaves the cells it has not touched zero.)
      if (same) need(this.S, 'the series').copy(out, 10, 10, 10 + RD * 11);
      for (let q = 0; q <= RD - 1; q++) {
        const day = M - mod(M - q, RD);
        if (this.dc.has(day) || (!same && Ms !== null)) this.cellInto(q, out, 10 + q * 11);
        else if (same && !(day <= Ms && day > Ms - RD)) out.fill(0, 10 + q * 11, 21 + q * 11); // a day the ring no longer holds
      }
      let at = 10 + RD * 11;
      for (const [b, from, to] of pieces) {
        if (b === null) {
          this.rowInto(from, to, out, at);
          at += to;
        } else {
          at += b.copy(out, at, from, to);
        }
      }
      this.store.set(this.sKey, out, ttl);
    }
  }

  // --- The id index -----------------------------------------------------------------------------

  private findId(key: string): IdEntry | null {
    const seen = this.over.get(key);
    if (seen !== undefined) {
      if (seen && !seen.removed) return seen;
      return null;
    }
    let e: IdEntry | false = false;
    const I = this.I;
    if (I) {
      let init = this.E0;
      for (;;) {
        const p = find(I, key, init);
        if (p === null || p > this.storedLen) break;
        if (mod(p - this.E0, 12) === 0) {
          // struct.unpack('<I2i4', I, p + 6)
          e = { pos: p, hour: this.base + readU2(I, p + 6), value: readI4(I, p + 8), removed: false, changed: false };
          break;
        }
        init = p + 1;
      }
    }
    this.over.set(key, e);
    return e || null;
  }

  /** Every entry held now: each(key, hour, value). */
  private eachId(each: (key: string, hour: number, v: number) => void): void {
    const I = this.I;
    if (I) {
      for (let p = this.E0; p <= this.storedLen; p += 12) {
        const key = latin1(sub(I, p, p + 5));
        const e = this.over.get(key);
        if (e === undefined) {
          each(key, this.base + readU2(I, p + 6), readI4(I, p + 8));
        } else if (e && !e.removed) {
          each(key, e.hour, e.value);
        }
      }
    }
    for (const key of this.adds) {
      const e = this.over.get(key);
      if (e && !e.removed) each(key, e.hour, e.value);
    }
  }

  /**
   * Whether an entry of an hour is held: in the window, or older while the hold lasts (and its day
   * is still in the daily ring).
   */
  private held(hour: number): boolean {
    return hour >= this.cutoff || (this.hold >= this.cutoffDay && this.inDaily(Math.floor(hour / 24)));
  }

  /** The lowest hour the daily ring holds: the base of an index that holds ids older than the window. */
  private ringFloor(): number {
    return this.M !== null ? (this.M - this.RD + 1) * 24 : this.cutoff;
  }

  /**
   * Whether the index holds entries to drop now: a small index (a daily feed's, up to 12 entries)
   * keeps them up to 3 days more, so it is rewritten every 4 days rather than daily. (An entry kept
   * longer only keeps replacing; its hour is sealed when it goes.)
   */
  private stale(): boolean {
    if (this.lowest === null || this.held(this.lowest)) return false;
    return this.lowest < this.cutoff - 72 || this.storedLen - this.E0 + 1 + 12 * this.adds.length > 144;
  }

  /**
   * Drop (and seal) the entries no longer held; rebase the rest on the cutoff, or on the ring's first
   * hour when older ids are held (or `low` is about to be added), so a backfill rebases once.
   */
  private rebuildIds(low: number | null = null): void {
    const kept: [key: string, hour: number, v: number][] = [];
    this.eachId((key, hour, v) => {
      if (this.held(hour)) {
        kept.push([key, hour, v]);
        if (low === null || hour < low) low = hour;
      } else {
        this.seal(hour);
      }
    });
    this.base = this.cutoff;
    if (low !== null && low < this.cutoff) this.base = Math.min(low, this.ringFloor());
    this.lowest = kept.length > 0 ? low : null;
    if (kept.length > 0) {
      // struct.pack('<i4i4i4', base, lowest, hold), then each entry: its id hash, struct.pack('<I2i4', hour - base, value).
      const I = Buffer.allocUnsafe(12 + 12 * kept.length);
      idsHead(I, this.base + OFF, need(this.lowest, 'lowest'), this.hold);
      let p = 12;
      for (const [key, hour, v] of kept) {
        I.write(key, p, 6, 'latin1');
        this.entryInto(I, p, hour, v);
        p += 12;
      }
      this.I = I;
    } else {
      this.I = null;
    }
    this.E0 = 13;
    this.storedLen = this.I ? this.I.length : 0;
    this.cap = this.storedLen;
    emptied(this.over);
    this.adds.length = 0;
    this.idsChanged = true;
    this.idsWhole = true;
  }

  /**
   * The sibling metric (its number) whose id index holds this id hash, if any (the indexes are read
   * once per group).
   */
  private inSibling(key: string): number | null {
    if (this.sibKeys.length === 0) return null;
    if (!this.sibI) {
      const sibI: SiblingIndex[] = [];
      this.sibKeys.forEach(([, ids], j) => {
        const s = this.store.get(ids);
        if (s) sibI.push({ s, e0: readI4(s, 1) >= OFF ? 13 : 9, j });
      });
      this.sibI = sibI;
    }
    for (const x of this.sibI) {
      let init = x.e0;
      for (;;) {
        const p = find(x.s, key, init);
        if (p === null) break;
        if (mod(p - x.e0, 12) === 0) return x.j;
        init = p + 1;
      }
    }
    return null;
  }

  private writeIds(): void {
    const I = this.I;
    const ttl = Math.max(1, this.deadline(this.M ?? this.cutoffDay) * 86400 - this.appNow);
    if (this.idsWhole || this.storedLen + 12 * this.adds.length > this.cap) {
      // The stored entries copied in runs (they are encoded on the current base), the changed ones
      // packed in their place, the removed ones left out; then the new ones; then zero entries up
      // to the allocation's room. Measured first, then written into one buffer.
      const at: (IdEntry & { readonly pos: number })[] = [];
      for (const e of this.over.values()) {
        if (e && e.pos !== null && (e.removed || e.changed)) at.push(e as IdEntry & { readonly pos: number });
      }
      if (at.length > 1) at.sort((a, b) => a.pos - b.pos);
      let len = 12;
      let from = this.E0;
      for (const e of at) {
        if (e.pos > from) len += e.pos - from;
        if (!e.removed) len += 12;
        from = e.pos + 12;
      }
      if (I && this.storedLen >= from) len += this.storedLen - from + 1;
      for (const key of this.adds) {
        const e = this.over.get(key);
        if (e && !e.removed) len += 12;
      }
      if (len === 12) {
        this.store.del(this.iKey);
        return;
      }
      const size = roomy(len, 12);
      const out = Buffer.allocUnsafe(size);
      idsHead(out, this.base + OFF, this.lowest ?? this.cutoff, this.hold);
      let p = 12;
      from = this.E0;
      for (const e of at) {
        const stored = need(I, 'the id index');
        if (e.pos > from) p += stored.copy(out, p, from - 1, e.pos - 1);
        if (!e.removed) {
          stored.copy(out, p, e.pos - 1, e.pos + 5);
          this.entryInto(out, p, e.hour, e.value);
          p += 12;
        }
        from = e.pos + 12;
      }
      if (I && this.storedLen >= from) p += I.copy(out, p, from - 1, this.storedLen);
      for (const key of this.adds) {
        const e = this.over.get(key);
        if (e && !e.removed) {
          out.write(key, p, 6, 'latin1');
          this.entryInto(out, p, e.hour, e.value);
          p += 12;
        }
      }
      out.fill(0, p);
      this.store.set(this.iKey, out, ttl);
    } else {
      // (The Lua's pairs(over): one write per entry, at its own 12 bytes, so their order does not matter.)
      for (const [key, e] of this.over) {
        if (e && e.pos !== null && e.changed) {
          const one = Buffer.allocUnsafe(12);
          one.write(key, 0, 6, 'latin1');
          this.entryInto(one, 0, e.hour, e.value);
          this.store.setrange(this.iKey, e.pos - 1, one);
        }
      }
      if (this.adds.length > 0) {
        const body = Buffer.allocUnsafe(12 * this.adds.length);
        let p = 0;
        for (const key of this.adds) {
          body.write(key, p, 6, 'latin1');
          const e = need(this.over.get(key) || null, 'an added id');
          this.entryInto(body, p, e.hour, e.value);
          p += 12;
        }
        this.store.setrange(this.iKey, this.storedLen, body);
      }
      if (this.lowest !== this.storedLowest || this.hold !== this.storedHold) {
        this.store.setrange(this.iKey, 4, pack('<i4i4', need(this.lowest, 'lowest'), this.hold));
      }
      if (this.deadline(this.M ?? this.cutoffDay) !== this.deadline(this.Ms ?? this.cutoffDay)) this.store.expire(this.iKey, ttl);
    }
  }

  /** An entry's last 6 bytes, struct.pack('<I2i4', hour - base, value), at byte `at` + 6 of `out` (its id hash is at `at`). */
  private entryInto(out: Buffer, at: number, hour: number, value: number): void {
    putLE(out, at + 6, hour - this.base, 2);
    putLE(out, at + 8, value, 4);
  }
}

/** One stored hourly row at position p of str: its day and where it is. */
function rowHeader(str: Buffer, p: number): [day: number, at: RowAt] {
  // struct.unpack('<I3I3', str, p)
  const dd = readU3(str, p);
  const mask = readU3(str, p + 3);
  const implicit = dd >= IMPLICIT;
  return [mod(dd, IMPLICIT), { str, cells: p + 6, mask, implicit, nc: implicit ? 0 : popcount(mask), at: p }];
}
