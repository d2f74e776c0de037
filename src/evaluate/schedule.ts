// When judgements happen: the instants the scheduler's crons fire, derived from the same cron
// expressions the scheduler runs (LOOKOUT_DAY_CLOSE_CRON and the hourly intraday pass), so the
// backtest replays the moments production judges — change the cron and the replay follows.

import { createTask, parse, type ScheduledTask } from 'node-cron';
import { type Calendar, MS_PER_DAY, MS_PER_HOUR } from '../domain/clock.js';

/** LOOKOUT_DAY_CLOSE_CRON's default: the day just ended is judged at 00:05. */
export const DAY_CLOSE_CRON = '5 0 * * *';
/** Just after each hour: entities fed by the hour are judged by intraday rules even when silent. */
export const INTRADAY_PASS_CRON = '2 * * * *';
/** How often the scheduler looks whether yesterday's feed has arrived (absence pass, feed guard). */
export const FEED_CHECK_CRON = '*/10 * * * *';

/** One cron expression in one time zone: the instants it fires inside a local window. */
class CronTimes {
  private readonly task: ScheduledTask;
  /** Offsets (ms) from local midnight the expression can fire at, ascending. */
  private readonly offsets: number[];

  constructor(
    private readonly calendar: Calendar,
    expression: string,
  ) {
    const f = parse(expression);
    this.offsets = f.hour.flatMap((h) => f.minute.flatMap((m) => f.second.map((s) => ((h * 60 + m) * 60 + s) * 1000))).sort((a, b) => a - b);
    // Only its matcher is used (day of month, month, weekday with the library's own rules).
    this.task = createTask(expression, () => undefined, { timezone: calendar.timeZone });
  }

  /** The epoch instant of local wall-clock `offset` ms after the start of local `day`. */
  private instant(day: number, offset: number): number {
    const local = day * MS_PER_DAY + offset;
    return local - this.calendar.offsetAt(local - this.calendar.offsetAt(local));
  }

  /** The first instant it fires at in [day start + from, day start + to) local time, if any. */
  first(day: number, from = 0, to = MS_PER_DAY): number | undefined {
    for (const o of this.offsets) {
      if (o < from || o >= to) continue;
      const at = this.instant(day, o);
      // A wall-clock time that does not exist (skipped by summer time) does not fire.
      if (at + this.calendar.offsetAt(at) !== day * MS_PER_DAY + o) continue;
      if (this.task.match(new Date(at))) return at;
    }
    return undefined;
  }

  close(): void {
    void this.task.destroy();
  }
}

export interface ScheduleOptions {
  readonly dayCloseCron?: string;
  readonly intradayCron?: string;
}

/** The judgement times of a deployment: the day close and the hourly intraday pass. */
export class JudgementSchedule {
  private readonly dayClose: CronTimes;
  private readonly intraday: CronTimes;
  private readonly closes = new Map<number, number | undefined>();

  constructor(calendar: Calendar, opts: ScheduleOptions = {}) {
    this.dayClose = new CronTimes(calendar, opts.dayCloseCron ?? DAY_CLOSE_CRON);
    this.intraday = new CronTimes(calendar, opts.intradayCron ?? INTRADAY_PASS_CRON);
  }

  /**
   * When the day close judges `day`: the cron's first run on the next local day (the scheduler
   * closes yesterday). Undefined when the cron does not run that day: nothing closes `day`.
   */
  closeAt(day: number): number | undefined {
    if (!this.closes.has(day)) this.closes.set(day, this.dayClose.first(day + 1));
    return this.closes.get(day);
  }

  /** When the hourly pass judges intraday rules in local hour `hour` of `day`, if it runs then. */
  hourPassAt(day: number, hour: number): number | undefined {
    return this.intraday.first(day, hour * MS_PER_HOUR, (hour + 1) * MS_PER_HOUR);
  }

  /** Release the cron matchers. */
  close(): void {
    this.dayClose.close();
    this.intraday.close();
  }
}
