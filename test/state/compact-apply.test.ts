// applyCompactCall (compact-apply.ts), the TypeScript port of the compact layout's apply script,
// against the script itself (APPLY_COMPACT_LUA) on the same calls: the Lua runs on Redis under one
// prefix (A), the port runs over a store holding the same keys under another prefix (B) and its
// writes are replayed there. After every call both sides must hold the same bytes and TTLs, and
// have issued the same reads and writes key by key (the script runs with its redis.call()s logged).
// Then a few examples of the port alone, to read.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Calendar, MS_PER_HOUR } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample } from '../../src/domain/sample.js';
import { mulberry32 } from '../../src/demo/simulate.js';
import { keyspace } from '../../src/state/keys.js';
import { applyCompactCall, type CallStore } from '../../src/state/compact-apply.js';
import { CompactSeriesView } from '../../src/state/compact-format.js';
import { APPLY_COMPACT_LUA } from '../../src/state/compact-lua.js';
import { CompactSeries, type CompactSettings, type ShardCall } from '../../src/state/compact-series.js';
import { idHash48, shardOf } from '../../src/state/shard.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';

const cal = new Calendar('Asia/Shanghai');
const SETTINGS: CompactSettings = { retentionDays: 35, hourlyRetentionDays: 28, shards: 64, maxFutureMs: 300_000, idWindowDays: 7 };
const START = Date.parse('2026-10-01T09:00:00+08:00');

const hex = (b: Buffer): string => b.toString('hex');

// ---------------------------------------------------------------------------------------------
// The port's side: a store over a Map of the call's keys, recording its calls.

type Write =
  | { readonly op: 'setrange'; readonly key: string; readonly offset: number; readonly value: Buffer }
  | { readonly op: 'set'; readonly key: string; readonly value: Buffer; readonly ttl: number }
  | { readonly op: 'del'; readonly key: string }
  | { readonly op: 'expire'; readonly key: string; readonly ttl: number };

/** A CallStore over a Map (null: absent), with Redis's semantics; records the writes and a log of every call. */
class MapStore implements CallStore {
  readonly writes: Write[] = [];
  /** Each call as 'COMMAND key args…' (strings as hex), as the logged script logs its redis.call()s. */
  readonly log: string[] = [];

  constructor(readonly values: Map<string, Buffer | null>) {}

  private value(key: string): Buffer | null {
    if (!this.values.has(key)) throw new Error(`key not in the call: ${key}`);
    return this.values.get(key)!;
  }

  get(key: string): Buffer | null {
    this.log.push(`GET ${key}`);
    return this.value(key);
  }

  getrange(key: string, start: number, end: number): Buffer {
    this.log.push(`GETRANGE ${key} ${start} ${end}`);
    // Redis's getrangeCommand.
    const v = this.value(key) ?? Buffer.alloc(0);
    const n = v.length;
    if (start < 0 && end < 0 && start > end) return Buffer.alloc(0);
    if (start < 0) start = n + start;
    if (end < 0) end = n + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= n) end = n - 1;
    if (start > end || n === 0) return Buffer.alloc(0);
    return v.subarray(start, end + 1);
  }

  setrange(key: string, offset: number, value: Buffer): void {
    this.log.push(`SETRANGE ${key} ${offset} ${hex(value)}`);
    this.writes.push({ op: 'setrange', key, offset, value });
    const old = this.value(key);
    if (value.length === 0) return;
    const next = Buffer.alloc(Math.max(old?.length ?? 0, offset + value.length));
    old?.copy(next);
    value.copy(next, offset);
    this.values.set(key, next);
  }

  set(key: string, value: Buffer, ttl: number): void {
    this.log.push(`SET ${key} ${hex(value)} ${hex(Buffer.from('EX'))} ${ttl}`);
    this.writes.push({ op: 'set', key, value, ttl });
    this.values.set(key, value);
  }

  del(key: string): void {
    this.log.push(`DEL ${key}`);
    this.writes.push({ op: 'del', key });
    this.values.set(key, null);
  }

  expire(key: string, ttl: number): void {
    this.log.push(`EXPIRE ${key} ${ttl}`);
    this.writes.push({ op: 'expire', key, ttl });
  }
}

// ---------------------------------------------------------------------------------------------
// The script's side: APPLY_COMPACT_LUA with its redis.call()s logged in the same form.

const LOG_SHIM = `
local __log, __call, __hex = {}, redis.call, {}
for i = 0, 255 do __hex[string.char(i)] = string.format('%02x', i) end
local function __arg(v)
  if type(v) == 'number' then return string.format('%.14g', v) end
  return (string.gsub(v, '.', __hex))
end
local redis = { call = function(cmd, key, ...)
  local a = { cmd, key }
  for i = 1, select('#', ...) do a[#a + 1] = __arg((select(i, ...))) end
  __log[#__log + 1] = table.concat(a, ' ')
  return __call(cmd, key, ...)
end }
`;
const LOGGED_LUA = (() => {
  let lua = APPLY_COMPACT_LUA;
  for (const ret of ['return {0, mark}', 'return {1, out}']) {
    if (!lua.includes(ret)) throw new Error(`APPLY_COMPACT_LUA no longer ends with ${ret}`);
    lua = lua.replace(ret, `${ret.slice(0, -1)}, table.concat(__log, '\\n')}`);
  }
  return LOG_SHIM + lua;
})();

/** The TTL of each of KEYS. */
const TTLS_LUA = `local t = {} for i, k in ipairs(KEYS) do t[i] = redis.call('TTL', k) end return t`;

/** The log grouped by key (the order between keys may differ: the Lua's pairs() over the moved ids), key names mapped by `name`. */
function byKey(log: readonly string[], name: (key: string) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of log) {
    const [cmd, key, ...rest] = line.split(' ');
    const k = name(key!);
    (out.get(k) ?? out.set(k, []).get(k)!).push([cmd, ...rest].join(' '));
  }
  // An id index's changed entries are written one SETRANGE each in the Lua's pairs() order (they
  // do not overlap): runs of SETRANGEs are compared sorted.
  for (const [k, ops] of out) {
    if (!k.includes(':i:')) continue;
    const sorted: string[] = [];
    for (let i = 0; i < ops.length; ) {
      let j = i;
      while (j < ops.length && ops[j]!.startsWith('SETRANGE ')) j++;
      if (j === i) sorted.push(ops[i++]!);
      else {
        sorted.push(...ops.slice(i, j).sort());
        i = j;
      }
    }
    out.set(k, sorted);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Both sides.

let redis: Redis;
let sha: string;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = connect();
  sha = (await redis.script('LOAD', LOGGED_LUA)) as string;
});

afterAll(async () => {
  for (const p of prefixes) await dropPrefix(redis, p);
  redis.disconnect();
});

/** Two prefixes, the same keys under each: A applied by the script, B by the port. */
class Twin {
  readonly a = freshPrefix('ca');
  readonly b = freshPrefix('cb');
  readonly series: CompactSeries;
  /** A ring of another size (a retention changed): stored strings are rebuilt in the new one. */
  readonly shorter: CompactSeries;
  calls = 0;
  applied = 0;

  constructor() {
    prefixes.push(this.a, this.b);
    this.series = new CompactSeries(redis, keyspace(this.a), cal, () => metricCatalogue(), SETTINGS);
    this.shorter = new CompactSeries(redis, keyspace(this.a), cal, () => metricCatalogue(), { ...SETTINGS, retentionDays: 30 });
  }

  toB(key: string): string {
    if (!key.startsWith(`${this.a}:`)) throw new Error(`not a key of A: ${key}`);
    return this.b + key.slice(this.a.length);
  }

  toA(key: string): string {
    if (!key.startsWith(`${this.b}:`)) throw new Error(`not a key of B: ${key}`);
    return this.a + key.slice(this.b.length);
  }

  /** Apply one call on both sides and compare. */
  async call(call: ShardCall, what: string): Promise<void> {
    this.calls++;
    const { keys, args } = call;
    const lua = (await redis.evalsha(sha, keys.length, ...keys, ...args)) as [number, string, string];

    const keysB = keys.map((k) => this.toB(k));
    const uniqueA = [...new Set(keys)];
    const uniqueB = uniqueA.map((k) => this.toB(k));
    const before = await redis.mgetBuffer(...uniqueB);
    const store = new MapStore(new Map(uniqueB.map((k, i) => [k, before[i] ?? null])));
    const ts = applyCompactCall(store, keysB, args);
    const replay = redis.multi();
    for (const w of store.writes) {
      if (w.op === 'setrange') replay.setrange(w.key, w.offset, w.value);
      else if (w.op === 'set') replay.set(w.key, w.value, 'EX', w.ttl);
      else if (w.op === 'del') replay.del(w.key);
      else replay.expire(w.key, w.ttl);
    }
    await replay.exec();

    expect([ts.applied ? 1 : 0, ts.rejects], what).toEqual([lua[0], lua[1]]);
    if (ts.applied) this.applied++;
    const luaLog = byKey(lua[2] ? lua[2].split('\n') : [], (k) => k);
    const tsLog = byKey(store.log, (k) => this.toA(k));
    // (expect only on a difference: it is slow, and this runs for thousands of calls.)
    for (const k of new Set([...luaLog.keys(), ...tsLog.keys()])) {
      if (tsLog.get(k)?.join('\n') !== luaLog.get(k)?.join('\n')) expect(tsLog.get(k), `${what}: the calls on ${k}`).toEqual(luaLog.get(k));
    }

    const read = await redis.pipeline().mgetBuffer(...uniqueA).mgetBuffer(...uniqueB).eval(TTLS_LUA, uniqueA.length, ...uniqueA).eval(TTLS_LUA, uniqueB.length, ...uniqueB).exec();
    const [valuesA, valuesB, ttlsA, ttlsB] = (read ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    }) as [(Buffer | null)[], (Buffer | null)[], number[], number[]];
    const expiring: string[] = [];
    uniqueA.forEach((k, i) => {
      const [va, vb, ta, tb] = [valuesA[i] ?? null, valuesB[i] ?? null, ttlsA[i]!, ttlsB[i]!];
      if (!(va === null ? vb === null : vb !== null && va.equals(vb))) expect(vb && hex(vb), `${what}: ${k}`).toEqual(va && hex(va));
      if (ta < 0 || tb < 0 ? ta !== tb : Math.abs(ta - tb) > 1) expect(tb, `${what}: ttl of ${k}`).toBe(ta);
      // A key whose deadline has passed in the simulated time gets a TTL of a second: drop it on
      // both sides now rather than let real time expire one side before the other.
      if (ta >= 0 && ta <= 5) expiring.push(k, uniqueB[i]!);
    });
    if (expiring.length) await redis.del(...expiring);
  }

  async job(series: CompactSeries, jobId: string, samples: readonly Sample[], now: number, what: string, sealOldIds = false): Promise<void> {
    for (const c of series.calls(jobId, samples, now, { sealOldIds })) await this.call(c, `${what} (${jobId}, shard ${c.shard}, chunk ${c.chunk})`);
  }

  /** The same bytes under both prefixes (crafted strings of the earlier formats). */
  async put(key: string, value: Buffer, ttl: number): Promise<void> {
    await redis.set(key, value, 'EX', ttl);
    await redis.set(this.toB(key), value, 'EX', ttl);
  }
}

// ---------------------------------------------------------------------------------------------
// Random feeds.

const METRICS = ['card_opening', 'satisfaction', 'complaints', 'complaints.billing', 'complaints.tariff', 'complaints.network'];
const FAMILY = METRICS.filter((m) => m.startsWith('complaints.'));
/** Entities of two shards (calls with many groups), and a few spread over others. */
const ENTITIES: string[] = [];
for (let i = 0; ENTITIES.length < 24; i++) if ([7, 21].includes(shardOf(`D${i}`, 64))) ENTITIES.push(`D${i}`);
for (let i = 0; i < 8; i++) ENTITIES.push(`S${i}`);

interface Sent {
  readonly id: string;
  entity: string;
  metric: string;
  hour: number;
}

/** A feed of jobs over a moving clock: daily exports, hourly feeds, samples without ids, re-sends, corrections, moves between sibling metrics, backfills, overflows. */
class Feed {
  private readonly rnd: () => number;
  now = START;
  private readonly sent: Sent[] = [];
  private readonly byId = new Map<string, Sent>();
  private jobs = 0;
  private lastJob: { id: string; samples: Sample[]; now: number; seal: boolean; series: CompactSeries } | undefined;

  constructor(
    seed: number,
    private readonly twin: Twin,
  ) {
    this.rnd = mulberry32(seed);
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }
  private chance(p: number): boolean {
    return this.rnd() < p;
  }
  get today(): number {
    return cal.dayOf(this.now);
  }
  private ts(hour: number): number {
    const day = Math.floor(hour / 24);
    return cal.startOfDay(day) + (hour - day * 24) * MS_PER_HOUR + this.int(0, 59) * 60_000;
  }
  /** A value in thousandths: mostly small, some zero or negative, some past the cells' range. */
  private milli(): number {
    const u = this.rnd();
    if (u < 0.05) return 0;
    if (u < 0.12) return -this.int(1, 5_000_000);
    if (u < 0.14) return 2147483647 + this.int(-2, 3); // at and past the hourly cell's int32
    if (u < 0.15) return this.int(1_000_000_000, 2_147_483_000);
    return this.int(1, 500_000);
  }
  private sample(entity: string, metric: string, hour: number, milli: number, id?: string): Sample {
    return { entity, metric, value: milli / 1000, ts: this.ts(hour), ...(id === undefined ? {} : { id }) };
  }
  private remember(id: string, entity: string, metric: string, hour: number): void {
    const s = this.byId.get(id);
    if (s) {
      s.entity = entity;
      s.metric = metric;
      s.hour = hour;
    } else {
      const n = { id, entity, metric, hour };
      this.byId.set(id, n);
      this.sent.push(n);
    }
  }

  /** One job of a few kinds of samples. */
  private build(): { samples: Sample[]; seal: boolean; big: boolean } {
    const out: Sample[] = [];
    const today = this.today;
    const nowHour = cal.hourOf(this.now);
    const kinds = this.int(1, 3);
    let seal = this.chance(0.08);
    let big = false;
    for (let k = 0; k < kinds; k++) {
      const u = this.rnd();
      if (u < 0.22) {
        // A daily export: one sample a day per (entity, metric), mostly yesterday's.
        const day = this.chance(0.7) ? today - 1 : today - this.int(1, 12);
        const hour = day * 24 + (this.chance(0.5) ? 0 : this.int(0, 23));
        for (const e of ENTITIES) {
          if (this.chance(0.5)) continue;
          for (const m of METRICS) {
            if (this.chance(0.6)) continue;
            const id = `${e}/${m}/${day}`;
            out.push(this.sample(e, m, hour, this.milli(), id));
            this.remember(id, e, m, hour);
          }
        }
      } else if (u < 0.4) {
        // An hourly feed: several hours of a day, an id per hour.
        const day = today - (this.chance(0.6) ? 0 : this.int(1, 9));
        const h0 = this.int(0, 20);
        const h1 = Math.min(23, h0 + this.int(0, 8), day === today ? nowHour - day * 24 : 23);
        for (const e of ENTITIES.slice(0, this.int(2, 12))) {
          const m = this.pick(METRICS);
          for (let h = h0; h <= h1; h++) {
            if (this.chance(0.15)) continue;
            const id = `${e}/${m}/${day}T${h}`;
            out.push(this.sample(e, m, day * 24 + h, this.milli(), id));
            this.remember(id, e, m, day * 24 + h);
          }
        }
      } else if (u < 0.52) {
        // Samples without ids, anywhere in the ring and a little past it; old days take big values.
        for (let i = this.int(5, 60); i > 0; i--) {
          const day = today - this.int(0, 40);
          const old = day < today - 28;
          const milli = old && this.chance(0.3) ? this.pick([300_000_000_000, 549_755_813_887, 600_000_000_000, -4_000_000_000_000]) : this.milli();
          out.push(this.sample(this.pick(ENTITIES), this.pick(METRICS), day * 24 + this.int(0, 23), milli));
        }
      } else if (u < 0.75 && this.sent.length) {
        seal = seal || this.chance(0.1);
        // Re-sends: the same value or another, in place or moved to another hour or day, or under a
        // sibling metric; some sent twice in the job.
        for (let i = this.int(1, 40); i > 0; i--) {
          const s = this.pick(this.sent.length > 400 && this.chance(0.7) ? this.sent.slice(-400) : this.sent);
          let { metric, hour } = s;
          const v = this.rnd();
          if (v < 0.3) hour = s.hour;
          else if (v < 0.55) hour = s.hour + this.int(-6, 6);
          else if (v < 0.75) hour = s.hour + 24 * this.int(-3, 3);
          else hour = s.hour + this.int(-300, 100);
          hour = Math.min(hour, nowHour);
          if (FAMILY.includes(metric) && this.chance(0.3)) metric = this.pick(FAMILY);
          out.push(this.sample(s.entity, metric, hour, this.chance(0.3) ? 7_000 : this.milli(), s.id));
          this.remember(s.id, s.entity, metric, hour);
          if (this.chance(0.12)) {
            // Sent again in the same job: a little earlier, or older than the id window (in a job of
            // lookout migrate that takes it out of the index), and maybe back where it was.
            const back = this.chance(0.5) ? this.int(0, 30) : 24 * this.int(8, 20);
            out.push(this.sample(s.entity, metric, hour - back, this.milli(), s.id));
            if (this.chance(0.5)) out.push(this.sample(s.entity, metric, hour, this.milli(), s.id));
          }
        }
      } else if (u < 0.85) {
        // A backfill: days older than the id window, with ids (held a window from their arrival,
        // or sealed at once as lookout migrate does).
        seal = seal || this.chance(0.25);
        const e = this.pick(ENTITIES);
        const m = this.pick(METRICS);
        const hourly = this.chance(0.4);
        for (let day = today - this.int(20, 38); day < today - this.int(0, 8); day++) {
          for (let h = 0; h < 24; h += hourly ? 1 : 24) {
            const id = `${e}/${m}/bf${day}T${h}`;
            out.push(this.sample(e, m, day * 24 + h + (hourly ? 0 : 12), this.int(0, 90_000), id));
            this.remember(id, e, m, day * 24 + h);
          }
        }
        big = big || hourly;
      } else if (u < 0.93) {
        // A big group: one (entity, metric) hour by hour over weeks (whole rewrites), ids or not.
        const e = this.pick(ENTITIES);
        const m = this.pick(METRICS);
        const withIds = this.chance(0.7);
        const from = nowHour - this.int(48, 24 * 30);
        for (let hour = from; hour <= nowHour; hour++) {
          const id = withIds ? `${e}/${m}/big${hour}` : undefined;
          out.push(this.sample(e, m, hour, this.int(-1000, 60_000), id));
          if (id) this.remember(id, e, m, hour);
        }
        big = true;
      } else {
        // Many entities at once, this hour.
        for (const e of ENTITIES) {
          const m = this.pick(METRICS);
          const id = this.chance(0.5) ? `${e}/${m}/now${nowHour}` : undefined;
          out.push(this.sample(e, m, nowHour, this.milli(), id));
          if (id) this.remember(id, e, m, nowHour);
        }
      }
    }
    return { samples: out, seal, big };
  }

  /** The clock: hours, a day or a few, now and then past the whole ring. */
  private tick(): void {
    const u = this.rnd();
    if (u < 0.45) this.now += this.int(0, 5) * MS_PER_HOUR;
    else if (u < 0.9) this.now += 24 * MS_PER_HOUR;
    else if (u < 0.98) this.now += this.int(2, 5) * 24 * MS_PER_HOUR;
    else this.now += this.int(36, 45) * 24 * MS_PER_HOUR;
  }

  async round(): Promise<void> {
    const twin = this.twin;
    if (this.lastJob && this.chance(0.08)) {
      // The last job again (a retry): every call was applied, nothing changes, the rejects come back.
      const j = this.lastJob;
      await twin.job(j.series, j.id, j.samples, j.now, 'retry', j.seal);
    } else {
      const { samples, seal } = this.build();
      const id = `job${this.jobs++}`;
      const series = this.chance(0.05) ? twin.shorter : twin.series;
      await twin.job(series, id, samples, this.now, series === twin.shorter ? 'shorter ring' : 'job', seal);
      this.lastJob = { id, samples, now: this.now, seal, series };
    }
    this.tick();
  }

  /**
   * Series and id indexes of the earlier formats (header third field below 2³⁰, rows newest first;
   * an index without the hold field), under both prefixes, for ids the feed re-sends.
   */
  async legacy(): Promise<void> {
    const today = this.today;
    const RD = this.twin.series.dailyRing;
    for (const e of ENTITIES.slice(0, 6)) {
      for (const m of ['card_opening', 'complaints.billing']) {
        const days = Array.from({ length: this.int(1, 6) }, (_, i) => today - 1 - 2 * i);
        const head = Buffer.alloc(10);
        head.writeInt32LE(today - 1, 0);
        head.writeUInt16LE(RD, 4);
        head.writeInt32LE(days[days.length - 1]!, 6);
        const ring = Buffer.alloc(RD * 11);
        const rows: Buffer[] = [];
        const ids: Buffer[] = [];
        const base = (today - 14) * 24;
        for (const day of days) {
          const hours = this.chance(0.5) ? [12] : [1, 5, 9, 17];
          let sum = 0;
          const cells: Buffer[] = [];
          let mask = 0;
          for (const h of hours) {
            const v = this.int(1, 9_000);
            sum += v;
            mask |= 1 << h;
            const c = Buffer.alloc(6);
            c.writeInt32LE(v, 0);
            c.writeUInt16LE(1, 4);
            cells.push(c);
            const id = `${e}/${m}/legacy${day}T${h}`;
            const entry = Buffer.alloc(12);
            Buffer.from(idHash48(id), 'hex').copy(entry);
            entry.writeUInt16LE(day * 24 + h - base, 6);
            entry.writeInt32LE(v, 8);
            ids.push(entry);
            this.remember(id, e, m, day * 24 + h);
          }
          const cell = ring.subarray(((day % RD) + RD) % RD * 11);
          cell.writeIntLE(sum, 0, 5);
          cell.writeUIntLE(hours.length, 5, 3);
          const rh = Buffer.alloc(6);
          const implicit = hours.length === 1;
          rh.writeUIntLE(day + (implicit ? 0x800000 : 0), 0, 3);
          rh.writeUIntLE(mask, 3, 3);
          rows.push(implicit ? rh : Buffer.concat([rh, ...cells]));
        }
        await this.twin.put(this.twin.series.ck.series(e, m), Buffer.concat([head, ring, ...rows, Buffer.alloc(6 * this.int(0, 3))]), 40 * 86400);
        const ih = Buffer.alloc(8);
        ih.writeInt32LE(base, 0);
        ih.writeInt32LE(base, 4);
        await this.twin.put(this.twin.series.ck.ids(e, m), Buffer.concat([ih, ...ids, Buffer.alloc(12 * this.int(0, 2))]), 40 * 86400);
      }
      // The current format with the newest row's offset on the padding: no rows, or rows before it.
      for (const m of ['satisfaction', 'complaints']) {
        const rowsAt = 10 + RD * 11;
        const row = Buffer.alloc(6);
        row.writeUIntLE(today - 2 + 0x800000, 0, 3);
        row.writeUIntLE(1 << 12, 3, 3);
        const rows = m === 'complaints' ? [row] : [];
        const head = Buffer.alloc(10);
        head.writeInt32LE(today - 2, 0);
        head.writeUInt16LE(RD, 4);
        head.writeInt32LE(rowsAt + rows.length * 6 + 2 ** 30 + 2 ** 29, 6);
        const ring = Buffer.alloc(RD * 11);
        const cell = ring.subarray(((today - 2) % RD) * 11);
        cell.writeIntLE(4_000, 0, 5);
        cell.writeUIntLE(1, 5, 3);
        await this.twin.put(this.twin.series.ck.series(e, m), Buffer.concat([head, ring, ...rows, Buffer.alloc(6 * this.int(1, 3))]), 40 * 86400);
      }
    }
  }
}

/** First seed of the random feeds (COMPACT_APPLY_SEED=n to try others). */
const SEED = Number(process.env.COMPACT_APPLY_SEED ?? 1);

describe('applyCompactCall = APPLY_COMPACT_LUA', () => {
  // 6 feeds of 120 jobs over about 5 months of simulated time: some 4,000 calls.
  it.each(Array.from({ length: 6 }, (_, i) => SEED + i))('the same reads, writes, bytes and TTLs on a random feed (seed %i)', async (seed) => {
    const twin = new Twin();
    const feed = new Feed(seed, twin);
    await feed.legacy();
    for (let r = 0; r < 120; r++) await feed.round();
    expect(twin.calls).toBeGreaterThan(500);
    expect(twin.applied).toBeGreaterThan(450);
  });
});

// ---------------------------------------------------------------------------------------------
// The port alone: a call over the keys it reads, its writes applied to the same Map.

describe('applyCompactCall, examples', () => {
  const NOW = Date.parse('2026-11-22T09:00:00+08:00');
  const YESTERDAY = cal.dayOf(NOW) - 1;
  // CompactSeries only builds the calls here: it talks to no Redis.
  const noRedis = { defineCommand: () => undefined } as unknown as Redis;
  const series = new CompactSeries(noRedis, keyspace('ex'), cal, () => metricCatalogue(), SETTINGS);
  const seriesKey = series.ck.series('G0001', 'air_recharge');

  /** Run a job's calls over `db` (key → value; absent keys are read as null): the results and the writes. */
  function run(db: Map<string, Buffer | null>, samples: readonly Sample[], now: number, jobId: string) {
    const results = [];
    const writes: Write[] = [];
    for (const call of series.calls(jobId, samples, now)) {
      for (const k of call.keys) if (!db.has(k)) db.set(k, null);
      const store = new MapStore(db);
      results.push(applyCompactCall(store, call.keys, call.args));
      writes.push(...store.writes);
    }
    return { results, writes };
  }
  const recharge = (value: number, day: number, id = `G0001/${day}`): Sample => ({ entity: 'G0001', metric: 'air_recharge', value, ts: cal.startOfDay(day) + 12 * MS_PER_HOUR, id });
  const daily = (db: Map<string, Buffer | null>, day: number) => new CompactSeriesView(db.get(seriesKey)!).dailyCell(day);

  it('a daily sample, then its re-send: the value is replaced in place (a few bytes), not added', () => {
    const db = new Map<string, Buffer | null>();
    const first = run(db, [recharge(5, YESTERDAY)], NOW, 'j1');
    expect(first.results).toEqual([{ applied: true, rejects: '' }]);
    expect(daily(db, YESTERDAY)).toEqual({ sumMilli: 5_000, count: 1 });
    // A new series and id index are written whole (SET … EX), then the chunk marker.
    expect(first.writes.map((w) => w.op)).toEqual(['set', 'set', 'set']);

    const resend = run(db, [recharge(9, YESTERDAY)], NOW, 'j2');
    expect(resend.results).toEqual([{ applied: true, rejects: '' }]);
    expect(daily(db, YESTERDAY)).toEqual({ sumMilli: 9_000, count: 1 });
    const hours = new Map<number, number>();
    new CompactSeriesView(db.get(seriesKey)!).hourly(YESTERDAY * 24, YESTERDAY * 24 + 23, false, (h, v) => hours.set(h, v));
    expect([...hours]).toEqual([[YESTERDAY * 24 + 12, 9]]);
    // In place: the day's cell, the row (SETRANGE) and the id's entry; only the marker is SET. The
    // header does not change (the same last day, the same newest row): it is not written.
    expect(resend.writes.filter((w) => w.op === 'set').map((w) => w.key)).toEqual([series.ck.chunk(series.ck.shard('G0001'), 'j2', 0)]);
    const ranges = (writes: Write[]) => writes.flatMap((w) => (w.op === 'setrange' && w.key === seriesKey ? [w.offset] : []));
    expect(ranges(resend.writes)).not.toContain(0);
    expect(resend.writes.filter((w) => w.op === 'setrange').length).toBe(3);
    // A sample of a later day moves the header's last day: written.
    const next = run(db, [recharge(4, YESTERDAY + 1)], NOW + 86_400_000, 'j3');
    expect(next.results).toEqual([{ applied: true, rejects: '' }]);
    expect(ranges(next.writes)).toContain(0);
    expect(new CompactSeriesView(db.get(seriesKey)!).lastDay).toBe(YESTERDAY + 1);

    // A job applied before: nothing written, its rejects (none) returned.
    const again = run(db, [recharge(9, YESTERDAY)], NOW, 'j2');
    expect(again).toEqual({ results: [{ applied: false, rejects: '' }], writes: [] });
  });

  it('an id re-sent after it left the id window is refused (its hour is sealed); the same sample without an id is counted', () => {
    const db = new Map<string, Buffer | null>();
    run(db, [recharge(5, YESTERDAY)], NOW, 'j1');
    // Twelve days on: the id was dropped from the index (the window is 7 days, a small index keeps
    // them up to 3 more) and its hour sealed.
    const later = NOW + 12 * 86_400_000;
    const { results } = run(db, [recharge(9, YESTERDAY), { ...recharge(1, YESTERDAY), id: undefined }], later, 'j2');
    expect(results).toEqual([{ applied: true, rejects: '0:id_window_passed' }]);
    expect(daily(db, YESTERDAY)).toEqual({ sumMilli: 6_000, count: 2 });
  });

  it('a value past an hourly cell (int32 thousandths) is refused; one within it is counted', () => {
    const db = new Map<string, Buffer | null>();
    const { results } = run(db, [recharge(2_147_483.648, YESTERDAY, 'a'), recharge(2_147_483.647, YESTERDAY, 'b')], NOW, 'j1');
    expect(results).toEqual([{ applied: true, rejects: '0:value_out_of_range' }]);
    expect(daily(db, YESTERDAY)).toEqual({ sumMilli: 2_147_483_647, count: 1 });
  });
});
