// Campaigns and channel duties on top of the core. Each role plugs them in through one hook:
// the API reads and writes them over the request connection, the worker sends broadcasts over
// its channels, the scheduler runs their crons.

import type { ConnectionOptions } from 'bullmq';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { CampaignReporter } from '../campaigns/reporter.js';
import { ComplaintRouter } from '../campaigns/routing.js';
import { CampaignService } from '../campaigns/service.js';
import { routingFrom } from '../domain/complaints.js';
import { ruleMetric } from '../domain/rule.js';
import { Duties, type DutiesDeps } from '../duties/index.js';
import { nullNotifyObserver } from '../notify/context.js';
import { Dispatcher } from '../notify/dispatcher.js';
import { QUEUES } from '../queues/names.js';
import { RedisCampaignStore } from '../state/campaign-store.js';
import { dailyCellsFor } from '../state/daily-cells.js';
import { RedisDailyReads } from '../state/daily-reads.js';
import { RedisDutyStore } from '../state/duty-store.js';
import type { Core } from './core.js';
import { NO_CHANNELS, notifyContext, type Channels, type ComplaintLead } from './notify-context.js';
import type { Close } from './role.js';

export interface Features {
  /** Phases, figures, daily reports, post-evaluation records (src/campaigns). */
  readonly campaigns: CampaignService;
  /** Reminders, the halls' satisfaction ranking, broadcasts (src/duties). */
  readonly duties: Duties;
  /** The notifier asks the campaigns' complaint routing who leads an alert. */
  readonly complaintLead: ComplaintLead;
  /** API hook: campaigns and duties over the request connection (503 within the bound while Redis is away). */
  forApi(opened: (close: Close) => void): { readonly campaigns: CampaignService; readonly duties: Duties };
  /** Worker hook: broadcasts go out over the worker's channels, stopped before they close. */
  forWorker(opened: (close: Close) => void, channels: Channels, connection: () => ConnectionOptions): void;
  /** Scheduler hook: campaign reports and the duties' crons. */
  forScheduler(opened: (close: Close) => void, logger: Logger): Promise<CampaignReporter>;
  /** Stop the duties (if no worker did). */
  close(): Promise<void>;
}

export function openFeatures(core: Core): Features {
  const { config, cfg } = core;
  const routing = () => routingFrom(cfg().policies.complaintRouting);
  const days = new RedisDailyReads(core.redis, core.keys, dailyCellsFor(core.redis, core.keys, config));
  const complaintRouter = new ComplaintRouter({
    days,
    routing,
    ruleMetric: (id) => {
      const rule = cfg().ruleSet.rules.find((r) => r.id === id);
      return rule ? ruleMetric(rule) : undefined;
    },
    locale: config.locale,
  });
  const complaintLead: ComplaintLead = (a, e) => complaintRouter.leadFor(a, e);
  const campaignDeps = {
    store: new RedisCampaignStore(core.redis, core.keys), days, registry: core.registry, alerts: core.alerts, calendar: core.calendar, clock: core.clock,
    retentionDays: config.retentionDays, locale: config.locale, templatesDir: config.templatesDir, routing,
    ruleName: (id: string) => cfg().ruleNames.get(id) ?? id,
    contactName: (id: string) => cfg().directory.contacts.get(id)?.name,
  };
  const campaigns = new CampaignService(campaignDeps);
  /** Channel duties over the given connection (the core's, or the API's request connection). */
  const dutiesOver = (over: Pick<DutiesDeps, 'store' | 'days' | 'entities' | 'alerts' | 'records' | 'connection' | 'emailQueue'>) =>
    new Duties({
      ...over, config, clock: core.clock, calendar: core.calendar,
      directory: () => cfg().directory, recipients: () => cfg().recipients, policies: () => cfg().policies, rules: () => cfg().ruleSet.rules,
      muter: core.muter, dispatcher: new Dispatcher(notifyContext(core, complaintLead, NO_CHANNELS)), enabled: () => cfg().directory.contacts.size > 0,
      observer: core.metrics.notify ?? nullNotifyObserver, logger: core.logger.child({ component: 'duties' }),
    });
  const coreDuties = dutiesOver({ store: new RedisDutyStore(core.redis, core.keys), days, entities: core.registry, alerts: core.alerts, records: core.notifications, connection: core.connection, emailQueue: core.queues.email });
  let stopping: Promise<void> | undefined;
  const stopDuties = () => (stopping ??= coreDuties.stop());

  return {
    campaigns,
    duties: coreDuties,
    complaintLead,
    forApi(opened) {
      const { request } = core;
      const emailQueue = new Queue(QUEUES.email, { connection: request.connection, prefix: config.prefix });
      emailQueue.on('error', () => undefined);
      const requestDays = new RedisDailyReads(request.redis, core.keys, dailyCellsFor(request.redis, core.keys, config));
      const requestDuties = dutiesOver({ store: new RedisDutyStore(request.redis, core.keys), days: requestDays, entities: request.registry, alerts: request.alerts, records: request.notifications, connection: request.connection, emailQueue });
      opened(() => Promise.all([requestDuties.stop(), emailQueue.close()]));
      return { campaigns: new CampaignService({ ...campaignDeps, store: new RedisCampaignStore(request.redis, core.keys), days: requestDays, registry: request.registry, alerts: request.alerts }), duties: requestDuties };
    },
    forWorker(opened, channels, connection) {
      coreDuties.startSending(channels, connection);
      opened(stopDuties);
    },
    async forScheduler(opened, logger) {
      const reporter = new CampaignReporter({
        service: campaigns, store: campaignDeps.store, days, calendar: core.calendar, clock: core.clock, logger, cron: config.reportCron, crons: core.crons,
        records: core.notifications, emailQueue: core.queues.email,
        retry: () => cfg().policies.settings.retry, recipients: () => cfg().recipients, enabled: () => cfg().directory.contacts.size > 0,
      });
      await reporter.start();
      opened(() => reporter.stop());
      await coreDuties.startSchedule(core.crons);
      return reporter;
    },
    close: stopDuties,
  };
}
