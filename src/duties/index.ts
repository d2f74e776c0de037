// The channel duties (渠道职责) beside the alert pipeline: weekly reminders of date rules, the own
// halls' monthly satisfaction ranking, and broadcasts to channel managers (docs/duties.md).
// Built once by the composition root; each role starts its part: the API creates broadcasts and
// serves reports, the worker sends the broadcast queue, the scheduler runs the crons.

import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { finallyFailed, reliableWorkerOptions } from '../queues/worker-options.js';
import type { CronHandle, Crons } from '../domain/clock.js';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/env.js';
import type { AlertRecord } from '../domain/alert.js';
import type { Calendar, Clock } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { pickFields } from '../domain/fields.js';
import type { Rule } from '../domain/rule.js';
import type { Channel } from '../notify/channels/channel.js';
import type { ChannelName } from '../domain/notification.js';
import type { NotifyObserver, Recipients } from '../notify/context.js';
import type { NotificationStore } from '../state/notification-store.js';
import type { Directory, Muter, PolicySet } from '../route/types.js';
import type { DailyReads } from '../state/daily-reads.js';
import type { DutyStore } from '../state/duty-store.js';
import { Broadcaster, type BroadcastRequest, type BroadcastSummary, type CreateOutcome } from './broadcast.js';
import { DUTY_QUEUES } from './queues.js';
import { RankingMailer, type RankingMailResult } from './ranking-mail.js';
import { hallRanking, monthOf, previousMonth, rankingView, type HallRanking, type RankingResult, type RankingSource } from './ranking.js';
import { ReminderDuty, type ReminderDeps } from './reminders.js';
import { DutySender } from './sender.js';
import { DutyTemplates } from './templates.js';

/** How often the scheduler looks for due reminders (local time). */
export const REMINDER_CRON = '*/10 * * * *';

export interface DutiesDeps {
  readonly config: AppConfig;
  readonly store: DutyStore;
  /** The daily buckets (the halls' ranking reads a month of scores). */
  readonly days: Pick<DailyReads, 'totals'>;
  readonly clock: Clock;
  readonly calendar: Calendar;
  readonly entities: { list(): Promise<Entity[]>; get(id: string): Promise<Entity | undefined> };
  readonly alerts: { listOpen(): Promise<AlertRecord[]> };
  readonly records: NotificationStore;
  readonly connection: ConnectionOptions;
  /** The notifier's `notify-email` queue (report emails). */
  readonly emailQueue: Queue;
  readonly directory: () => Directory;
  readonly recipients: () => Recipients;
  readonly policies: () => PolicySet;
  readonly rules: () => readonly Rule[];
  readonly muter: Muter;
  readonly dispatcher: ReminderDeps['dispatcher'];
  readonly enabled: () => boolean;
  readonly observer: NotifyObserver;
  readonly logger: Logger;
}

/** What the HTTP routes use (src/http/routes/broadcasts.ts, halls.ts). */
export interface DutiesApi {
  createBroadcast(req: BroadcastRequest): Promise<CreateOutcome>;
  broadcast(id: string): Promise<BroadcastSummary | undefined>;
  broadcasts(limit: number): Promise<BroadcastSummary[]>;
  /** The month the report defaults to: the last complete month. */
  defaultMonth(): string;
  ranking(month: string): Promise<RankingResult>;
  rankingHtml(r: HallRanking): string;
  sendRanking(month: string): Promise<RankingMailResult | { readonly error: string }>;
}

export class Duties extends pickFields<DutiesDeps>()('calendar', 'clock', 'records', 'recipients', 'policies', 'observer', 'logger', 'config') implements DutiesApi {
  readonly templates: DutyTemplates;
  readonly broadcaster: Broadcaster;
  readonly mailer: RankingMailer;
  readonly reminders: ReminderDuty;
  readonly broadcastQueue: Queue;
  private readonly source: RankingSource;
  private readonly workers: Worker[] = [];
  private readonly tasks: CronHandle[] = [];

  constructor(d: DutiesDeps) {
    super(d);
    const { config } = d;
    this.templates = new DutyTemplates(config.templatesDir, config.locale);
    this.templates.check();
    this.broadcastQueue = new Queue(DUTY_QUEUES.broadcast, { connection: d.connection, prefix: config.prefix });
    // A Queue emits 'error' while Redis is away (no listener would make it an uncaught exception);
    // the outage itself is tracked and logged by the connection's owner.
    this.broadcastQueue.on('error', () => undefined);
    const retry = () => d.policies().settings.retry;
    this.broadcaster = new Broadcaster({
      store: d.store,
      clock: d.clock,
      calendar: d.calendar,
      entities: () => d.entities.list(),
      directory: d.directory,
      records: d.records,
      queue: this.broadcastQueue,
      templates: this.templates,
      retry,
      rate: config.broadcastRate,
      retentionDays: config.retentionDays,
    });
    this.source = { days: d.days, calendar: d.calendar, retentionDays: config.retentionDays, halls: () => d.entities.list() };
    this.mailer = new RankingMailer({
      source: this.source,
      clock: d.clock,
      directory: d.directory,
      records: d.records,
      emailQueue: d.emailQueue,
      templates: this.templates,
      publicUrl: config.publicUrl,
      retry,
    });
    this.reminders = new ReminderDuty({
      store: d.store,
      clock: d.clock,
      calendar: d.calendar,
      alerts: d.alerts,
      rules: d.rules,
      entity: (id) => d.entities.get(id),
      policies: d.policies,
      recipients: d.recipients,
      muter: d.muter,
      dispatcher: d.dispatcher,
      enabled: d.enabled,
      logger: d.logger,
    });
  }

  // ---- API ----------------------------------------------------------------------------------

  createBroadcast(req: BroadcastRequest): Promise<CreateOutcome> {
    return this.broadcaster.create(req);
  }

  broadcast(id: string): Promise<BroadcastSummary | undefined> {
    return this.broadcaster.get(id);
  }

  broadcasts(limit: number): Promise<BroadcastSummary[]> {
    return this.broadcaster.list(limit);
  }

  defaultMonth(): string {
    return previousMonth(this.calendar.dayOf(this.clock.now()));
  }

  /** The month running now (for messages). */
  currentMonth(): string {
    return monthOf(this.calendar.dayOf(this.clock.now()));
  }

  ranking(month: string): Promise<RankingResult> {
    return hallRanking(this.source, month, this.clock.now());
  }

  rankingHtml(r: HallRanking): string {
    return this.templates.html('rankingHtml', rankingView(r, this.templates.locale, this.mailer.reportUrl(r.month)));
  }

  sendRanking(month: string): Promise<RankingMailResult | { readonly error: string }> {
    return this.mailer.send(month);
  }

  // ---- roles --------------------------------------------------------------------------------

  /** Worker role (with the notifier's channels): send the broadcast queue at the configured rate. */
  startSending(channels: Readonly<Record<ChannelName, Channel>>, connection: () => ConnectionOptions): void {
    const sender = new DutySender({
      records: this.records,
      channels,
      contact: (id) => this.recipients().contact(id),
      clock: this.clock,
      queue: this.broadcastQueue,
      retry: () => this.policies().settings.retry,
      observer: this.observer,
      logger: this.logger,
    });
    const w = new Worker<{ id: string }, string>(DUTY_QUEUES.broadcast, (job) => sender.process(job), {
      connection: connection(),
      prefix: this.config.prefix,
      concurrency: 1,
      limiter: { max: this.config.broadcastRate, duration: 1000 },
      ...reliableWorkerOptions(),
    });
    w.on('failed', (job, err) => {
      const final = job ? finallyFailed(job, err) : false;
      this.logger.warn({ queue: DUTY_QUEUES.broadcast, job: job?.id, attempts: job?.attemptsMade, final, err: err.message }, final ? 'broadcast job given up' : 'broadcast job failed, will retry');
      if (job && final) void sender.givenUp(job, DUTY_QUEUES.broadcast, err.message).catch((e) => this.logger.error({ job: job.id, err: (e as Error).message }, 'could not record a failed broadcast job'));
    });
    w.on('error', (err) => this.logger.error({ queue: DUTY_QUEUES.broadcast, err: err.message }, 'broadcast worker error'));
    this.workers.push(w);
  }

  /** Scheduler role: reminders every 10 minutes (and once now), the ranking on LOOKOUT_RANKING_CRON. */
  async startSchedule(crons: Crons): Promise<void> {
    const tz = this.calendar.timeZone;
    const log = this.logger;
    const reminders = () => this.reminders.run().catch((err) => log.error({ err: (err as Error).message }, 'reminder pass failed'));
    this.tasks.push(
      crons.add('lookout-reminders', REMINDER_CRON, tz, reminders),
      crons.add('lookout-halls-ranking', this.config.rankingCron, tz, () => this.monthlyRanking()),
    );
    await reminders();
  }

  /** What the ranking cron does: last month's ranking to its recipients. */
  async monthlyRanking(): Promise<RankingMailResult | { readonly error: string } | undefined> {
    const month = this.defaultMonth();
    try {
      const res = await this.mailer.send(month);
      if ('error' in res) this.logger.error({ month, err: res.error }, 'halls ranking not sent');
      else this.logger.info({ month, halls: res.halls, rated: res.rated, recipients: res.notifications.length }, 'halls satisfaction ranking sent');
      return res;
    } catch (err) {
      this.logger.error({ month, err: (err as Error).message }, 'halls ranking failed');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    for (const t of this.tasks.splice(0)) t.stop();
    await Promise.all(this.workers.map((w) => w.close()));
    await this.broadcastQueue.close();
  }
}

export type { BroadcastRequest, BroadcastSummary, CreateOutcome } from './broadcast.js';
export type { HallRanking, RankingResult } from './ranking.js';
export type { RankingMailResult } from './ranking-mail.js';
