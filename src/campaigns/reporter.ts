// The scheduler's campaign reports: at LOOKOUT_REPORT_CRON (default 09:00 local), one daily
// implementation monitoring report (实施监测报告) per campaign live yesterday, by email to its
// owner and the service department; and, the day after a campaign ends, its post-evaluation
// record (后评估), stored without expiry and emailed to the owner once.
//
// Both go through notification records with stable ids and the email queue with the same ids,
// so two schedulers, a retried run or a restart send each report once.

import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import { validate } from 'node-cron';
import type { CronHandle, Crons } from '../domain/clock.js';
import type { Logger } from 'pino';
import type { AlertRecord } from '../domain/alert.js';
import { Calendar, type Clock } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { pickFields } from '../domain/fields.js';
import { ConfigError } from '../errors/catalogue.js';
import type { NotificationRecord } from '../domain/notification.js';
import type { NotificationStore } from '../state/notification-store.js';
import type { Contact } from '../route/types.js';
import type { CampaignStore } from '../state/campaign-store.js';
import type { DailyReads } from '../state/daily-reads.js';
import type { EvaluationRecord } from './figures.js';
import { campaignWindow, phaseOn } from './lifecycle.js';
import type { RenderedMail } from './render.js';
import type { CampaignService } from './service.js';
import { exportArrived } from './series.js';

/** Resolves recipient refs for an entity (the org directory of the loaded config). */
export interface ReportRecipients {
  resolve(refs: readonly string[], alert: AlertRecord, entity: Entity | undefined, now: number, calendar: Calendar): { contacts: Contact[]; missing: { ref: string; reason: string }[] };
  ofRole(role: Contact['role'], scope?: string): readonly Contact[];
}

export interface CampaignReporterDeps {
  readonly service: CampaignService;
  readonly store: CampaignStore;
  readonly days: Pick<DailyReads, 'arrived'>;
  readonly calendar: Calendar;
  readonly clock: Clock;
  readonly logger: Logger;
  /** node-cron expression, local time (LOOKOUT_REPORT_CRON). */
  readonly cron: string;
  /** Where the crons run (the wall clock, or a test's hand). */
  readonly crons: Crons;
  readonly records: NotificationStore;
  readonly emailQueue: Queue;
  readonly retry: () => { readonly attempts: number; readonly backoffMs: number };
  readonly recipients: () => ReportRecipients;
  /** False without contacts.csv: reports and evaluations are made, nobody is emailed. */
  readonly enabled: () => boolean;
}

export interface ReportOutcome {
  readonly campaign: string;
  readonly date: string;
  /** Notification record ids, one per recipient. */
  readonly records: readonly string[];
  readonly recipients: readonly string[];
  /** Why nothing was made (already made, waiting for the export). */
  readonly skipped?: string;
}

export interface EvaluationOutcome {
  readonly campaign: string;
  readonly created: boolean;
  readonly records: readonly string[];
  readonly skipped?: string;
}

export interface ReportRunOutcome {
  readonly date: string;
  readonly reports: readonly ReportOutcome[];
  readonly evaluations: readonly EvaluationOutcome[];
}

/** The service department hears about every campaign: on-call (rota) and its lead. */
export const REPORT_RECIPIENTS = ['campaign_owner', 'service_oncall', 'dept_lead:customer_service'] as const;

/** Evaluations wait at most this many days for the campaign's last export. */
const EVALUATION_WAIT_DAYS = 3;
/** How often deferred reports are retried and the alert ledger is swept. */
const TICK_CRON = '*/10 * * * *';

function shortId(...parts: string[]): string {
  return createHash('sha1').update(parts.join('\0')).digest('hex').slice(0, 20);
}

/** `m h * * *` → minute of the day; undefined for any other expression. */
export function dailyCronMinute(cron: string): number | undefined {
  const m = /^\s*(\d{1,2})\s+(\d{1,2})\s+\*\s+\*\s+\*\s*$/.exec(cron);
  if (!m) return undefined;
  const [minute, hour] = [Number(m[1]), Number(m[2])];
  return minute < 60 && hour < 24 ? hour * 60 + minute : undefined;
}

/** An alert-shaped stub for resolving recipients that need only the entity. */
function stubAlert(e: Entity, now: number, day: string): AlertRecord {
  return { id: `report:${e.id}`, fingerprint: `report:${e.id}`, rule: 'campaign_report', entity: e.id, state: 'firing', severity: 'info', episode: 0, seq: 0, notify: true, period: day, summary: '', startsAt: now, updatedAt: now, labels: {} };
}

export class CampaignReporter extends pickFields<CampaignReporterDeps>()(
  'service', 'store', 'days', 'calendar', 'clock', 'logger', 'cron', 'crons', 'records', 'emailQueue', 'retry', 'recipients', 'enabled',
) {
  private readonly tasks: CronHandle[] = [];

  constructor(deps: CampaignReporterDeps) {
    super(deps);
    if (!validate(this.cron)) throw new ConfigError('bad_env', `LOOKOUT_REPORT_CRON: "${this.cron}" is not a cron expression`, undefined, undefined, 'LOOKOUT_REPORT_CRON');
  }

  async start(): Promise<void> {
    const log = this.logger;
    const tz = this.calendar.timeZone;
    this.tasks.push(
      this.crons.add('lookout-campaign-reports', this.cron, tz, () => this.run().catch((err) => log.error({ err: (err as Error).message }, 'campaign reports failed'))),
      this.crons.add('lookout-campaign-tick', TICK_CRON, tz, () => this.tick().catch((err) => log.error({ err: (err as Error).message }, 'campaign tick failed'))),
    );
    await this.catchUp().catch((err) => log.error({ err: (err as Error).message }, 'campaign report catch-up failed'));
  }

  stop(): void {
    for (const t of this.tasks.splice(0)) t.stop();
  }

  /**
   * A restarted scheduler that missed its report run (a daily `m h * * *` cron whose time passed
   * today, and an earlier run recorded) runs it now. A new deployment waits for its first run.
   */
  async catchUp(): Promise<ReportRunOutcome | undefined> {
    const minute = dailyCronMinute(this.cron);
    const last = await this.store.lastRun();
    if (minute === undefined || last === undefined) return undefined;
    const now = this.clock.now();
    const today = this.calendar.dayOf(now);
    if (last >= today - 1 || now < this.calendar.startOfDay(today) + minute * 60_000) return undefined;
    this.logger.info({ last: Calendar.isoDay(last) }, 'catching up a missed campaign report run');
    return this.run();
  }

  /**
   * The scheduled run: yesterday's report for every campaign live yesterday, and the evaluations
   * due. A report waits (retried every 10 minutes today) until yesterday's campaign export
   * arrived; `force` makes it now regardless (the demo).
   */
  async run(opts: { force?: boolean; only?: readonly string[] } = {}): Promise<ReportRunOutcome> {
    const today = this.calendar.dayOf(this.clock.now());
    const day = today - 1;
    const campaigns = (await this.service.campaigns()).filter((e) => !opts.only || opts.only.includes(e.id));
    await this.service.ledger.sweep(new Set(campaigns.map((e) => e.id)));
    const live = campaigns.filter((e) => phaseOn(e, day) === 'live');
    const arrived = opts.force || (await exportArrived(this.days, day));
    const reports: ReportOutcome[] = [];
    for (const e of live) {
      if (!arrived) {
        await this.store.defer({ what: 'report', campaign: e.id, day });
        reports.push({ campaign: e.id, date: Calendar.isoDay(day), records: [], recipients: [], skipped: 'waiting for the export' });
        continue;
      }
      reports.push(await this.report(e, day));
    }
    if (!arrived && live.length) this.logger.warn({ day: Calendar.isoDay(day), campaigns: live.length }, "yesterday's campaign export has not arrived: daily reports wait for it");
    const evaluations = await this.evaluateDue(opts);
    if (!opts.only) await this.store.setLastRun(day);
    return { date: Calendar.isoDay(day), reports, evaluations };
  }

  /** Reports for every campaign live on `day` (a day index or `YYYY-MM-DD`), now (tests, the demo). */
  async reportDay(day: number | string): Promise<ReportOutcome[]> {
    const d = typeof day === 'number' ? day : Calendar.parseIsoDay(day);
    if (d === undefined) throw new RangeError(`not a date: ${String(day)}`);
    const campaigns = await this.service.campaigns();
    await this.service.ledger.sweep(new Set(campaigns.map((e) => e.id)));
    const out: ReportOutcome[] = [];
    for (const e of campaigns) if (phaseOn(e, d) === 'live') out.push(await this.report(e, d));
    return out;
  }

  /** The daily report of one campaign and day: made once, emailed once to each recipient. */
  async report(e: Entity, day: number): Promise<ReportOutcome> {
    const date = Calendar.isoDay(day);
    const done = await this.store.report(day, e.id);
    if (done) return { ...(JSON.parse(done) as Omit<ReportOutcome, 'skipped'>), skipped: 'already made' };
    // Callers (run, reportDay, tick) swept every campaign's alerts into the ledger just before.
    const report = await this.service.dailyReport(e, day, { sweep: false });
    const mail = await this.service.renderReport(report);
    if (mail.chartError) this.logger.warn({ campaign: e.id, date, err: mail.chartError }, 'daily report chart has no PNG: the email inlines the SVG');
    const contacts = this.reportRecipients(e, date);
    const ids: string[] = [];
    for (const c of contacts) ids.push(await this.email(shortId('campaign-report', e.id, date, c.id), c, mail, { report: 'daily', campaign: e.id, date }));
    const outcome: ReportOutcome = { campaign: e.id, date, records: ids, recipients: contacts.map((c) => c.id) };
    await this.store.recordReport(day, e.id, JSON.stringify(outcome));
    this.logger.info({ campaign: e.id, date, recipients: outcome.recipients }, 'campaign daily report made');
    return outcome;
  }

  private reportRecipients(e: Entity, date: string): Contact[] {
    if (!this.enabled()) return [];
    const org = this.recipients();
    const now = this.clock.now();
    const { contacts, missing } = org.resolve(['campaign_owner', 'service_oncall'], stubAlert(e, now, date), e, now, this.calendar);
    for (const m of missing) this.logger.warn({ campaign: e.id, ref: m.ref, reason: m.reason }, 'daily report: a recipient is missing');
    // The service department's lead, when there is one (optional).
    for (const c of org.ofRole('dept_lead', 'customer_service')) if (!contacts.some((x) => x.id === c.id)) contacts.push(c);
    return contacts;
  }

  /** Evaluations of campaigns that ended (within the retention) and have none yet. */
  async evaluateDue(opts: { force?: boolean; only?: readonly string[] } = {}): Promise<EvaluationOutcome[]> {
    const today = this.calendar.dayOf(this.clock.now());
    const oldest = this.service.oldestDay();
    const out: EvaluationOutcome[] = [];
    for (const e of await this.service.campaigns()) {
      if (opts.only && !opts.only.includes(e.id)) continue;
      const w = campaignWindow(e);
      if (!w || w.end >= today || w.end < oldest) continue;
      const waited = today - w.end >= EVALUATION_WAIT_DAYS;
      if (!opts.force && !waited && !(await exportArrived(this.days, w.end))) {
        if (!(await this.store.isEvaluated(e.id))) {
          await this.store.defer({ what: 'evaluation', campaign: e.id });
          out.push({ campaign: e.id, created: false, records: [], skipped: 'waiting for the last export' });
        }
        continue;
      }
      out.push(await this.evaluate(e));
      await this.store.undefer({ what: 'evaluation', campaign: e.id });
    }
    return out;
  }

  /** Make (once) and email (once) the post-evaluation record of an ended campaign. */
  async evaluate(e: Entity): Promise<EvaluationOutcome> {
    let record = await this.service.evaluation(e.id);
    let created = false;
    if (!record) {
      ({ record, created } = await this.service.storeEvaluation(await this.service.buildEvaluation(e)));
      if (created) this.logger.info({ campaign: e.id, complaints: record.totals.complaints, alerts: record.alerts.total }, 'campaign post-evaluation recorded');
    }
    const records = await this.emailEvaluation(e, record);
    return { campaign: e.id, created, records };
  }

  private async emailEvaluation(e: Entity, record: EvaluationRecord): Promise<string[]> {
    if (!this.enabled()) return [];
    const now = this.clock.now();
    const { contacts } = this.recipients().resolve(['campaign_owner'], stubAlert(e, now, record.window.end), e, now, this.calendar);
    const ids: string[] = [];
    let mail: RenderedMail | undefined;
    for (const c of contacts) {
      const id = shortId('campaign-evaluation', e.id, c.id);
      if (await this.records.get(id)) {
        ids.push(id);
        continue;
      }
      if (!mail) {
        mail = await this.service.renderEvaluation(record);
        if (mail.chartError) this.logger.warn({ campaign: e.id, err: mail.chartError }, 'evaluation chart has no PNG: the email inlines the SVG');
      }
      ids.push(await this.email(id, c, mail, { report: 'evaluation', campaign: e.id }));
    }
    return ids;
  }

  /** One email as a notification record (stable id: created once) queued on the email channel. */
  private async email(id: string, c: Contact, mail: RenderedMail, data: Record<string, string>): Promise<string> {
    const now = this.clock.now();
    const base: NotificationRecord = {
      id,
      channel: 'email',
      contact: c.id,
      kind: 'report',
      items: [],
      state: 'queued',
      attempts: 0,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      ...(mail.attachments.length && { attachments: mail.attachments }),
      data,
      providerIds: [],
      receipts: [],
      createdAt: now,
      updatedAt: now,
    };
    if (!c.email) {
      await this.records.create({ ...base, state: 'failed', error: { code: 'no_address', message: `contact ${c.id} has no email for the campaign report` } });
      return id;
    }
    const { record } = await this.records.create(base);
    if (record.state !== 'queued') return id;
    const retry = this.retry();
    await this.emailQueue.add('send', { id }, {
      jobId: id,
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      removeOnComplete: { age: 7 * 86_400 },
      removeOnFail: { age: 30 * 86_400 },
    });
    return id;
  }

  /** Every 10 minutes: sweep the alert ledger; make the reports and evaluations that waited for their export. */
  async tick(): Promise<void> {
    const campaigns = await this.service.campaigns();
    await this.service.ledger.sweep(new Set(campaigns.map((e) => e.id)));
    const waiting = await this.store.deferred();
    if (!waiting.length) return;
    const byId = new Map(campaigns.map((e) => [e.id, e]));
    const today = this.calendar.dayOf(this.clock.now());
    let evaluations = false;
    for (const m of waiting) {
      const { what, campaign: id, day } = m;
      const e = byId.get(id);
      if (!e) {
        await this.store.undefer(m);
      } else if (what === 'evaluation') {
        evaluations = true;
      } else if (day === undefined || day < today - 1) {
        this.logger.warn({ campaign: id, day: day === undefined ? undefined : Calendar.isoDay(day) }, 'campaign export never arrived: no daily report for that day');
        await this.store.undefer(m);
      } else if (await exportArrived(this.days, day)) {
        await this.report(e, day);
        await this.store.undefer(m);
      }
    }
    if (evaluations) await this.evaluateDue();
  }
}
