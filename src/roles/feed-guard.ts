// The ingest-stall guard: when a whole daily feed fails to arrive, absence rules hold fire (they
// judge only days the feed delivered) and this raises one `feed_stalled` alert per metric for
// ops instead of thousands of no-data warnings. It resolves once the export arrives.

import type { Verdict } from '../domain/alert.js';
import { Calendar, type Clock } from '../domain/clock.js';
import { FEED_STALLED_RULE } from '../notify/escalation.js';
import type { RedisAlertStore } from '../state/alert-store.js';
import type { ScheduleStore } from '../state/schedule-store.js';
import { stepAll } from '../evaluate/kernel.js';
import { pickFields } from '../domain/fields.js';

const OPS = { team: 'ops' } as const;

export interface FeedGuardOptions {
  /** Local minute of the day by which yesterday's export is expected. */
  readonly expectedByMinute: number;
  /** Stalled when yesterday's samples < ratio × the 7-day median. */
  readonly ratio: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Judge yesterday's feed of one metric; null when there is too little history to say. */
export function judgeFeed(feed: ReadonlyMap<number, number>, yesterday: number, opts: { ratio: number }): { stalled: boolean; got: number; median: number } | null {
  const before: number[] = [];
  for (let d = yesterday - 7; d < yesterday; d++) {
    const c = feed.get(d);
    if (c) before.push(c);
  }
  if (before.length < 3) return null;
  const m = median(before);
  const got = feed.get(yesterday) ?? 0;
  return { stalled: got < opts.ratio * m, got, median: m };
}

export interface FeedGuardDeps {
  /** The feed counters. */
  readonly feeds: Pick<ScheduleStore, 'feed'>;
  readonly alerts: RedisAlertStore;
  readonly calendar: Calendar;
  readonly clock: Clock;
  /** The metrics rules read. */
  readonly metrics: () => readonly string[];
  readonly options: () => FeedGuardOptions;
}

export class FeedGuard extends pickFields<FeedGuardDeps>()('feeds', 'alerts', 'calendar', 'clock', 'metrics', 'options') {
  /** Look at the latest due export (yesterday's from expected_by on) of every metric rules read; returns the stalled ones. */
  async check(): Promise<string[]> {
    const { calendar, clock, feeds } = this;
    const now = clock.now();
    const today = calendar.dayOf(now);
    const opts = this.options();
    const due = now >= calendar.startOfDay(today) + opts.expectedByMinute * 60_000;
    // The latest export that should be here: yesterday's once it is due, else the day before's
    // (before 06:00 an alert about a still-missing export must not read as "recovered").
    const day = due ? today - 1 : today - 2;
    const stalled: string[] = [];
    for (const metric of this.metrics()) {
      const verdictOf = judgeFeed(await feeds.feed(metric), day, opts);
      if (!verdictOf) continue;
      const isStalled = verdictOf.stalled;
      if (isStalled) stalled.push(metric);
      const entity = `feed:${metric}`;
      const v: Verdict = {
        rule: FEED_STALLED_RULE,
        entity,
        severity: isStalled ? 'critical' : null,
        confirmed: true,
        period: Calendar.isoDay(day),
        value: verdictOf.got,
        baseline: verdictOf.median,
        notify: true,
        summary: `${metric} 数据源中断：昨日仅 ${verdictOf.got} 条样本，7 日中位 ${verdictOf.median}`,
      };
      // The same lifecycle as every rule's alert (a stalled feed fires, a recovered one resolves).
      await this.alerts.update(entity, [FEED_STALLED_RULE], (priors) => stepAll([v], priors, now, () => OPS), now);
    }
    return stalled;
  }
}
