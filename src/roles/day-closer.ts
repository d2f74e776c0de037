// The scheduler's duty: just after local midnight, judge the day that just ended for every
// registered entity (daily, absence and date rules), and catch up on start if a close was missed.

import type { Redis } from 'ioredis';
import { schedule, validate, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { Calendar, type Clock } from '../domain/clock.js';
import { ConfigError } from '../errors/catalogue.js';
import type { Keyspace } from '../queues/names.js';
import type { RedisAlertStore } from '../state/alert-store.js';
import type { RegistryStore } from '../state/ports.js';

export interface DayCloserDeps {
  readonly redis: Redis;
  readonly keys: Keyspace;
  /** Marks entities for evaluation (and wakes local drainers). */
  readonly markDirty: (ids: readonly string[]) => Promise<void>;
  readonly registry: RegistryStore;
  readonly alerts: RedisAlertStore;
  readonly calendar: Calendar;
  readonly clock: Clock;
  readonly cron: string;
  readonly logger: Logger;
  readonly retentionDays: number;
}

export class DayCloser {
  private task?: ScheduledTask;

  constructor(private readonly d: DayCloserDeps) {
    if (!validate(d.cron)) throw new ConfigError('bad_env', `LOOKOUT_DAY_CLOSE_CRON: "${d.cron}" is not a cron expression`, undefined, undefined, 'LOOKOUT_DAY_CLOSE_CRON');
  }

  async start(): Promise<void> {
    this.task = schedule(this.d.cron, () => void this.closeDue().catch((err) => this.d.logger.error({ err: (err as Error).message }, 'day close failed')), {
      timezone: this.d.calendar.timeZone,
      name: 'lookout-day-close',
      noOverlap: true,
    });
    await this.closeDue();
  }

  stop(): void {
    void this.task?.stop();
  }

  /** Close yesterday if it has not been closed yet. Returns the day closed, if any. */
  async closeDue(): Promise<string | undefined> {
    const now = this.d.clock.now();
    const yesterday = this.d.calendar.dayOf(now) - 1;
    const last = Number((await this.d.redis.get(this.d.keys.closedDay)) ?? -1);
    if (last >= yesterday) return undefined;
    await this.close(yesterday);
    return Calendar.isoDay(yesterday);
  }

  /** Mark every registered entity for evaluation; marking twice is harmless (several schedulers). */
  async close(day: number): Promise<number> {
    const ids = (await this.d.registry.list()).map((e) => e.id);
    await this.d.markDirty(ids);
    await this.d.redis.set(this.d.keys.closedDay, String(day));
    const pruned = await this.d.alerts.pruneResolved(this.d.calendar.startOfDay(day - this.d.retentionDays));
    this.d.logger.info({ day: Calendar.isoDay(day), entities: ids.length, prunedAlerts: pruned }, 'day closed');
    return ids.length;
  }
}
