// Buckets kept day-major: one column per local day holding every series' sum (integer
// thousandths, as the Redis buckets keep them) and sample count, in SharedArrayBuffers. A daily
// export is written in day order, so a day's column stays in cache while its rows are applied;
// the judging threads read the same memory without copying it.

export interface ColumnData {
  readonly sums: Float64Array;
  readonly counts: Int32Array;
}

/** What a judging thread needs to read the columns (structured-cloneable; memory is shared). */
export interface ColumnsSnapshot {
  /** Slot (day or hour index) of columns[0]. */
  readonly base: number;
  /** Values per series in a column (1 for days, 24 for the hours of a day). */
  readonly width: number;
  readonly columns: readonly (ColumnData | undefined)[];
}

function shared(kind: 'f64' | 'i32', length: number): Float64Array | Int32Array {
  return kind === 'f64' ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Int32Array(new SharedArrayBuffer(length * 4));
}

export class Columns {
  private base = 0;
  private columns: (ColumnData | undefined)[] = [];
  private cap: number;
  private lastDay = NaN;
  private last: ColumnData | undefined;

  /** `width` values per series per column; room for `capacity` series before growing. */
  constructor(
    private readonly width: number,
    capacity = 1024,
  ) {
    this.cap = capacity;
  }

  /** The column of a local day, created on first use. */
  column(day: number): ColumnData {
    if (day === this.lastDay) return this.last!;
    if (this.columns.length === 0) this.base = day;
    if (day < this.base) {
      this.columns = [...new Array<undefined>(this.base - day), ...this.columns];
      this.base = day;
    }
    const i = day - this.base;
    let c = this.columns[i];
    if (!c) {
      c = { sums: shared('f64', this.cap * this.width) as Float64Array, counts: shared('i32', this.cap * this.width) as Int32Array };
      while (this.columns.length < i) this.columns.push(undefined);
      this.columns[i] = c;
    }
    this.lastDay = day;
    this.last = c;
    return c;
  }

  /** Make room for series indexes below `n` in every column. */
  ensure(n: number): void {
    if (n <= this.cap) return;
    let cap = this.cap;
    while (cap < n) cap *= 2;
    this.columns = this.columns.map((c) => {
      if (!c) return c;
      const sums = shared('f64', cap * this.width) as Float64Array;
      const counts = shared('i32', cap * this.width) as Int32Array;
      sums.set(c.sums);
      counts.set(c.counts);
      return { sums, counts };
    });
    this.cap = cap;
    this.lastDay = NaN;
    this.last = undefined;
  }

  /** Add to series `s` at offset `k` (the hour of day for hourly columns) of a day's column. */
  add(day: number, s: number, k: number, milli: number, count: number): void {
    const c = this.column(day);
    const i = s * this.width + k;
    c.sums[i]! += milli;
    c.counts[i]! += count;
  }

  snapshot(): ColumnsSnapshot {
    return { base: this.base, width: this.width, columns: this.columns };
  }
}
