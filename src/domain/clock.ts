// Time is injected everywhere below the composition root; only this file reads the system clock.

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The wall clock shifted so that it reads `nowMs` at the moment of the call, and runs on from there. */
export function shiftedClock(nowMs: number): Clock {
  const offset = nowMs - Date.now();
  return { now: () => Date.now() + offset };
}

/** A clock for tests and replays: it moves only when told. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  set(ms: number | string): void {
    this.ms = typeof ms === 'number' ? ms : Date.parse(ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

// The scheduler's crons (day close, intraday and absence passes, campaign reports and ticks,
// duty reminders, the halls' ranking) and the notifier's periods (digest tick, reconciler) are
// added through this port, so they run on the clock the process runs on: the wall clock in production (roles/crons.ts), and only when told beside a
// ManualClock (a test's clock does not move by itself, so a wall-clock tick would judge at
// whatever instant the test left it at — a flake seen only when a test spans a ten-minute tick).

export interface CronHandle {
  stop(): void;
}

export interface Crons {
  /**
   * Run `job` at the instants `expression` names in `timeZone`. Runs of one job never overlap:
   * a tick that finds the previous run still going is skipped. `job` logs its own failures.
   */
  add(name: string, expression: string, timeZone: string, job: () => Promise<unknown>): CronHandle;
  /** Run `job` every `ms` milliseconds (a period no cron expression holds), never two runs at once. */
  every(name: string, ms: number, job: () => Promise<unknown>): CronHandle;
}

/** Crons that run only when a test says so (`run(name)`), with the test's clock wherever it stands. */
export class ManualCrons implements Crons {
  private readonly jobs = new Map<string, { readonly expression: string; readonly job: () => Promise<unknown> }>();

  add(name: string, expression: string, _timeZone: string, job: () => Promise<unknown>): CronHandle {
    if (this.jobs.has(name)) throw new Error(`cron ${name} added twice`);
    this.jobs.set(name, { expression, job });
    return { stop: () => void this.jobs.delete(name) };
  }

  every(name: string, ms: number, job: () => Promise<unknown>): CronHandle {
    return this.add(name, `every ${ms} ms`, '', job);
  }

  /** The crons added and not stopped, by name, with their expressions. */
  list(): Array<[name: string, expression: string]> {
    return [...this.jobs].map(([name, j]) => [name, j.expression]);
  }

  /** One run of cron `name` now, as its tick would; rejects with what the job throws. */
  async run(name: string): Promise<void> {
    const j = this.jobs.get(name);
    if (!j) throw new Error(`no cron ${name} (added: ${[...this.jobs.keys()].join(', ') || 'none'})`);
    await j.job();
  }
}

export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;
const SLOT_MS = 15 * 60_000;

/**
 * Local calendar of one IANA time zone. A "day" is an integer: the number of local calendar
 * days since 1970-01-01 (so weekday and date arithmetic need no time zone). An "hour" is the
 * same for local hours. Offsets are cached per 15-minute UTC slot because the hot path buckets
 * every sample.
 */
export class Calendar {
  private readonly offsets = new Map<number, number>();
  private readonly fmt: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Offset of local time from UTC in ms at instant `ms`. */
  offsetAt(ms: number): number {
    const slot = Math.floor(ms / SLOT_MS);
    // Samples come in runs of one time (a day of an export): the last slot asked, without a lookup.
    if (slot === this.lastSlot) return this.lastOffset;
    let off = this.offsets.get(slot);
    if (off === undefined) {
      off = this.computeOffset(slot * SLOT_MS);
      if (this.offsets.size > 100_000) this.offsets.clear();
      this.offsets.set(slot, off);
    }
    this.lastSlot = slot;
    this.lastOffset = off;
    return off;
  }

  private lastSlot = NaN;
  private lastOffset = 0;

  private computeOffset(ms: number): number {
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(new Date(ms))) {
      if (part.type !== 'literal') p[part.type] = Number(part.value);
    }
    const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return asUtc - (ms - (ms % 1000));
  }

  dayOf(ms: number): number {
    return Math.floor((ms + this.offsetAt(ms)) / MS_PER_DAY);
  }

  hourOf(ms: number): number {
    return Math.floor((ms + this.offsetAt(ms)) / MS_PER_HOUR);
  }

  /** UTC instant at which local day `day` begins. */
  startOfDay(day: number): number {
    const local = day * MS_PER_DAY;
    let guess = local - this.offsetAt(local);
    guess = local - this.offsetAt(guess);
    return guess;
  }

  /** Local hour of day (0–23) of an hour index. */
  static hourOfDay(hour: number): number {
    return ((hour % 24) + 24) % 24;
  }

  /** 0 = Sunday … 6 = Saturday. */
  static weekday(day: number): number {
    return (((day + 4) % 7) + 7) % 7;
  }

  static dayOfHour(hour: number): number {
    return Math.floor(hour / 24);
  }

  /** `2026-11-21` for a day index. */
  static isoDay(day: number): string {
    return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
  }

  /** Day index of `2026-11-21` (a local calendar date, no time zone involved). */
  static parseIsoDay(s: string): number | undefined {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return undefined;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    if (Number.isNaN(ms) || Calendar.isoDay(ms / MS_PER_DAY) !== s) return undefined;
    return ms / MS_PER_DAY;
  }

  /** `2026-11-21T13` for an hour index. */
  static isoHour(hour: number): string {
    return new Date(hour * MS_PER_HOUR).toISOString().slice(0, 13);
  }

  /** ISO-8601 with this zone's offset, for messages people read. */
  formatLocal(ms: number): string {
    const off = this.offsetAt(ms);
    const local = new Date(ms + off).toISOString().slice(0, 19);
    const sign = off >= 0 ? '+' : '-';
    const abs = Math.abs(off) / 60_000;
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  }
}

/** True when `tz` names a zone this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Where live samples begin: the start of yesterday in the calendar's time zone (yesterday's daily export arrives today). */
export function liveFrom(calendar: Calendar, clock: Clock): number {
  return calendar.startOfDay(calendar.dayOf(clock.now()) - 1);
}
