// The scheduler role: the day close, intraday and absence passes with the feed guard, campaign
// reports and the channel duties' crons. Run it in one process per deployment.

import { ruleMetric } from '../domain/rule.js';
import type { CampaignReporter } from '../campaigns/reporter.js';
import type { Core } from './core.js';
import { DayCloser } from './day-closer.js';
import type { Features } from './features.js';
import { FeedGuard } from './feed-guard.js';
import { Role, type Close } from './role.js';
import { ScheduleStore } from '../state/schedule-store.js';

export class SchedulerRole extends Role {
  readonly name = 'scheduler';
  feedGuard?: FeedGuard;
  dayCloser?: DayCloser;
  /** run() is the LOOKOUT_REPORT_CRON job, reportDay(day) one day's reports. */
  campaignReporter?: CampaignReporter;

  constructor(
    private readonly core: Core,
    private readonly features: Features,
  ) {
    super();
  }

  protected async open(opened: (close: Close) => void): Promise<void> {
    const { core } = this;
    const { config, cfg, redis, keys, alerts, calendar, clock, cache, registry } = core;
    const schedule = new ScheduleStore(redis, keys);
    const logger = core.logger.child({ component: 'scheduler' });
    const evaluator = core.evaluator();
    const feedGuard = new FeedGuard({
      feeds: schedule,
      alerts,
      calendar,
      clock,
      metrics: () => [...new Set(cfg().ruleSet.rules.map((r) => ruleMetric(r)).filter((m): m is string => m !== undefined))],
      options: () => ({ expectedByMinute: cfg().policies.settings.feedStall.expectedByMinute, ratio: cfg().policies.settings.feedStall.ratio }),
    });
    const dayCloser = new DayCloser({
      feedGuard,
      intradayEntities: async () => {
        if (!cfg().ruleSet.rules.some((r) => r.kind === 'intraday')) return [];
        await cache.refresh();
        return (await registry.list()).filter((e) => evaluator.plan(e.id)?.rules.some((r) => r.kind === 'intraday')).map((e) => e.id);
      },
      notifications: core.notifications,
      marks: schedule,
      markDirty: (ids) => core.markDirty(ids),
      registry, calendar, clock, cron: config.dayCloseCron, crons: core.crons, logger, alerts, retentionDays: config.retentionDays, absenceMetrics: () => evaluator.absenceMetrics() });
    this.feedGuard = feedGuard;
    this.dayCloser = dayCloser;
    await dayCloser.start();
    opened(() => dayCloser.stop());
    this.campaignReporter = await this.features.forScheduler(opened, logger);
  }
}
