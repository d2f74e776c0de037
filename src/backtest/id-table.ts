// Sample ids seen so far → where their value went, kept like the apply script keeps them
// (src/state/lua.ts): one table per local day (`P:ids:<day>`), an id looked up on its own day,
// then the day before, then the day after; an id found on another day moves to the new day.
//
// No id strings are kept: each id is reduced to two independent 32-bit hashes (64 bits; for 10
// million ids the chance that two different ids share both is about 3 in a million), stored in an
// open-addressing table with the bucket the sample went to (series, local hour) and its value in
// thousandths. A day's table of a daily export (~15,000 ids) stays in cache while that day's rows
// are applied, where one table for a year of ids (5.5 million) costs a cache and TLB miss per row.

const EMPTY = -1;
const DELETED = -2;
const MAX_LOAD = 0.7;
const STRIDE = 4; // int32 a, b, series (EMPTY / DELETED), hour

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32. */
export function idHashA(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A second, independent hash (murmur3-style multiply–rotate, another seed). */
export function idHashB(s: string): number {
  let h = 0x9747b28c | 0;
  for (let i = 0; i < s.length; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= s.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The ids of one local day. */
class DayIds {
  private mask: number;
  private slots: Int32Array;
  private milli: Float64Array;
  /** Live entries and slots in use (live + deleted). */
  private live = 0;
  private used = 0;

  constructor(cap = 1024) {
    this.mask = cap - 1;
    this.slots = DayIds.emptySlots(cap);
    this.milli = new Float64Array(cap);
  }

  private static emptySlots(cap: number): Int32Array {
    const s = new Int32Array(cap * STRIDE);
    for (let i = 2; i < s.length; i += STRIDE) s[i] = EMPTY;
    return s;
  }

  get size(): number {
    return this.live;
  }

  /** Slot of the id, or −1. */
  find(a: number, b: number): number {
    const slots = this.slots;
    let p = a & this.mask;
    for (;;) {
      const i = p * STRIDE;
      const s = slots[i + 2]!;
      if (s === EMPTY) return -1;
      if (s !== DELETED && slots[i] === a && slots[i + 1] === b) return p;
      p = (p + 1) & this.mask;
    }
  }

  series(p: number): number {
    return this.slots[p * STRIDE + 2]!;
  }

  hour(p: number): number {
    return this.slots[p * STRIDE + 3]!;
  }

  value(p: number): number {
    return this.milli[p]!;
  }

  update(p: number, series: number, hour: number, milli: number): void {
    this.slots[p * STRIDE + 2] = series;
    this.slots[p * STRIDE + 3] = hour;
    this.milli[p] = milli;
  }

  /** Add an id known not to be in the table. */
  insert(a: number, b: number, series: number, hour: number, milli: number): void {
    const cap = this.mask + 1;
    // Full of live entries: double; mostly deleted ones (ids moved away): rebuild at the same size.
    if (this.used + 1 > cap * MAX_LOAD) this.rehash(this.live + 1 > (cap * MAX_LOAD) / 2 ? cap * 2 : cap);
    const slots = this.slots;
    let p = a & this.mask;
    while (slots[p * STRIDE + 2]! >= 0) p = (p + 1) & this.mask;
    const i = p * STRIDE;
    if (slots[i + 2] === EMPTY) this.used++;
    slots[i] = a;
    slots[i + 1] = b;
    slots[i + 2] = series;
    slots[i + 3] = hour;
    this.milli[p] = milli;
    this.live++;
  }

  remove(p: number): void {
    this.slots[p * STRIDE + 2] = DELETED;
    this.live--;
  }

  private rehash(cap: number): void {
    const old = this.slots;
    const oldMilli = this.milli;
    this.mask = cap - 1;
    this.slots = DayIds.emptySlots(cap);
    this.milli = new Float64Array(cap);
    this.live = 0;
    this.used = 0;
    for (let q = 0; q < oldMilli.length; q++) {
      const i = q * STRIDE;
      if (old[i + 2]! < 0) continue;
      this.insert(old[i]!, old[i + 1]!, old[i + 2]!, old[i + 3]!, oldMilli[q]!);
    }
  }
}

export class IdTable {
  private readonly days = new Map<number, DayIds>();
  private lastDay = NaN;
  private lastTable: DayIds | undefined;
  private count = 0;
  /** Where the last `find` found the id. */
  private foundTable: DayIds | undefined;
  private foundSlot = -1;
  private foundOn = 0;

  /** Ids remembered (each on one day). */
  get size(): number {
    return this.count;
  }

  private table(day: number, create: boolean): DayIds | undefined {
    if (day === this.lastDay) return this.lastTable;
    let t = this.days.get(day);
    if (!t && create) this.days.set(day, (t = new DayIds()));
    if (t) {
      this.lastDay = day;
      this.lastTable = t;
    }
    return t;
  }

  /**
   * Look an id (its two hashes, idHashA and idHashB) up as the apply script does: on `day`, then
   * the day before, then the day after. When found, `foundDay`, `foundSeries`, `foundHour` and
   * `foundMilli` say where it was added (until the next call).
   */
  find(a: number, b: number, day: number): boolean {
    this.foundTable = undefined;
    return this.findOn(this.table(day, false), a, b, day) || this.findOn(this.days.get(day - 1), a, b, day - 1) || this.findOn(this.days.get(day + 1), a, b, day + 1);
  }

  private findOn(t: DayIds | undefined, a: number, b: number, day: number): boolean {
    const p = t ? t.find(a, b) : -1;
    if (p < 0) return false;
    this.foundTable = t;
    this.foundSlot = p;
    this.foundOn = day;
    return true;
  }

  get foundDay(): number {
    return this.foundOn;
  }

  get foundSeries(): number {
    return this.foundTable!.series(this.foundSlot);
  }

  get foundHour(): number {
    return this.foundTable!.hour(this.foundSlot);
  }

  get foundMilli(): number {
    return this.foundTable!.value(this.foundSlot);
  }

  /**
   * Remember the id looked up by the last `find` on `day`: the found entry is updated in place,
   * or moved from the other day it was found on, or a new entry is made.
   */
  set(a: number, b: number, day: number, series: number, hour: number, milli: number): void {
    const found = this.foundTable;
    if (found && this.foundOn === day) {
      found.update(this.foundSlot, series, hour, milli);
      return;
    }
    if (found) {
      found.remove(this.foundSlot);
      this.count--;
    }
    this.table(day, true)!.insert(a, b, series, hour, milli);
    this.count++;
    this.foundTable = undefined;
  }
}
