// The scheduler's marks in Redis: the last closed local day, the absence pass done per metric and
// day, and the feed counters (samples per local day of one metric) the absence pass and the feed
// guard read.

import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';
import { parseFeed } from './series-store.js';

export class ScheduleStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  /** Samples per local day of one metric, across all entities. */
  async feed(metric: string): Promise<Map<number, number>> {
    return parseFeed(await this.redis.hgetall(this.keys.feed(metric)));
  }

  /** Forget the feed counters of days before `day`. */
  async pruneFeed(metric: string, day: number): Promise<void> {
    const key = this.keys.feed(metric);
    const old = (await this.redis.hkeys(key)).filter((f) => Number(f) < day);
    if (old.length) await this.redis.hdel(key, ...old);
  }

  /** Mark the absence pass of a metric and day as run (kept 3 days); false when it ran before. */
  async markAbsencePass(metric: string, day: number): Promise<boolean> {
    return (await this.redis.set(this.keys.absencePass(metric, day), '1', 'EX', 3 * 86_400, 'NX')) === 'OK';
  }

  /** The last local day closed; -1 before the first close. */
  async closedDay(): Promise<number> {
    return Number((await this.redis.get(this.keys.closedDay)) ?? -1);
  }

  async setClosedDay(day: number): Promise<void> {
    await this.redis.set(this.keys.closedDay, String(day));
  }
}
