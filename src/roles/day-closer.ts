// The day close, the scheduler's nightly job: just after local midnight, judge the day that just
// ended for every registered entity (daily, absence and date rules), and catch up on start if a
// close was missed. Beside it run the hourly intraday pass and the absence pass with the feed guard.

import { validate } from 'node-cron';
import type { Logger } from 'pino';
import { Calendar, type Clock } from '../domain/clock.js';
import { ConfigError } from '../errors/catalogue.js';
import { feedDelivered } from '../evaluate/kinds/absence.js';
import { FEED_CHECK_CRON, INTRADAY_PASS_CRON } from '../evaluate/schedule.js';
import type { RedisAlertStore } from '../state/alert-store.js';
import type { RegistryStore } from '../state/ports.js';
import type { ScheduleStore } from '../state/schedule-store.js';
import { pickFields } from '../domain/fields.js';
import type { CronHandle, Crons } from '../domain/clock.js';

export interface DayCloserDeps {
  /** The closed day, absence-pass marks and feed counters. */
  readonly marks: ScheduleStore;
  /** Marks entities for evaluation (and wakes local drainers). */
  readonly markDirty: (ids: readonly string[]) => Promise<void>;
  readonly registry: RegistryStore;
  readonly alerts: RedisAlertStore;
  readonly calendar: Calendar;
  readonly clock: Clock;
  readonly cron: string;
  /** Where the crons run (the wall clock, or a test's hand). */
  readonly crons: Crons;
  readonly logger: Logger;
  readonly retentionDays: number;
  /** Metrics read by absence rules. */
  readonly absenceMetrics: () => readonly string[];
  /** Raises one feed-stalled alert when a whole daily feed is missing (checked with the absence pass). */
  readonly feedGuard?: { check(): Promise<string[]> };
  /** Entities in scope of intraday rules: judged every hour even when their feed sends nothing. */
  readonly intradayEntities?: () => Promise<string[]>;
  /** Notification records are kept as long as resolved alerts. */
  readonly notifications?: { prune(before: number): Promise<number> };
}

export class DayCloser extends pickFields<DayCloserDeps>()(
  'marks', 'markDirty', 'registry', 'alerts', 'calendar', 'clock', 'cron', 'crons', 'logger', 'retentionDays', 'absenceMetrics', 'feedGuard', 'intradayEntities', 'notifications',
) {
  private readonly tasks: CronHandle[] = [];

  constructor(deps: DayCloserDeps) {
    super(deps);
    if (!validate(deps.cron)) throw new ConfigError('bad_env', `LOOKOUT_DAY_CLOSE_CRON: "${deps.cron}" is not a cron expression`, undefined, undefined, 'LOOKOUT_DAY_CLOSE_CRON');
  }

  async start(): Promise<void> {
    const { crons, logger } = this;
    const tz = this.calendar.timeZone;
    const feedCheck = async () => {
      await this.absencePass().catch((err) => logger.error({ err: (err as Error).message }, 'absence pass failed'));
      const stalled = await this.feedGuard?.check().catch((err) => logger.error({ err: (err as Error).message }, 'feed guard failed'));
      if (stalled?.length) logger.warn({ metrics: stalled }, 'daily feed stalled');
    };
    this.tasks.push(
      crons.add('lookout-day-close', this.cron, tz, () => this.closeDue().catch((err) => logger.error({ err: (err as Error).message }, 'day close failed'))),
      crons.add('lookout-intraday-pass', INTRADAY_PASS_CRON, tz, () => this.intradayPass().catch((err) => logger.error({ err: (err as Error).message }, 'intraday pass failed'))),
      crons.add('lookout-absence-pass', FEED_CHECK_CRON, tz, feedCheck),
    );
    await this.closeDue();
  }

  stop(): void {
    for (const t of this.tasks.splice(0)) t.stop();
  }

  /**
   * Daily exports arrive hours after midnight. Once yesterday's feed of an absence metric has
   * arrived in normal volume, judge every entity once more: those that stayed silent while the
   * others reported are absent now, not a day later. Returns the metrics passed.
   */
  async absencePass(): Promise<string[]> {
    const yesterday = this.calendar.dayOf(this.clock.now()) - 1;
    const passed: string[] = [];
    for (const metric of this.absenceMetrics()) {
      const feed = await this.marks.feed(metric);
      if (!feedDelivered(feed, yesterday) || !feed.get(yesterday)) continue;
      if (!(await this.marks.markAbsencePass(metric, yesterday))) continue;
      const entities = await this.markAll();
      this.logger.info({ metric, day: Calendar.isoDay(yesterday), entities }, 'feed arrived: absence pass');
      passed.push(metric);
    }
    return passed;
  }

  /** Mark the entities intraday rules watch, so a silent feed is judged too. Returns how many. */
  async intradayPass(): Promise<number> {
    const ids = (await this.intradayEntities?.()) ?? [];
    if (ids.length) await this.markDirty(ids);
    return ids.length;
  }

  /** Close yesterday if it has not been closed yet. Returns the day closed, if any. */
  async closeDue(): Promise<string | undefined> {
    const now = this.clock.now();
    const yesterday = this.calendar.dayOf(now) - 1;
    const last = await this.marks.closedDay();
    if (last >= yesterday) return undefined;
    await this.close(yesterday);
    return Calendar.isoDay(yesterday);
  }

  /** Mark every registered entity for evaluation; marking twice is harmless (several schedulers). */
  async close(day: number): Promise<number> {
    const entities = await this.markAll();
    await this.marks.setClosedDay(day);
    const horizon = this.calendar.startOfDay(day - this.retentionDays);
    const pruned = await this.alerts.pruneResolved(horizon);
    const prunedNotifications = (await this.notifications?.prune(horizon)) ?? 0;
    for (const metric of this.absenceMetrics()) await this.marks.pruneFeed(metric, day - this.retentionDays);
    this.logger.info({ day: Calendar.isoDay(day), entities, prunedAlerts: pruned }, 'day closed');
    if (prunedNotifications) this.logger.info({ notifications: prunedNotifications }, 'old notification records pruned');
    return entities;
  }

  /** Mark every registered entity, a page of ids at a time (a country's registry is never read whole here). Returns how many. */
  private async markAll(): Promise<number> {
    let n = 0;
    for await (const ids of this.registry.idPages()) {
      await this.markDirty(ids);
      n += ids.length;
    }
    return n;
  }
}
