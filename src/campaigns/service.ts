// Campaign reads for the API, the scheduler and the CLI: campaigns with their phase and headline
// figures, the daily implementation monitoring report of any day, and the post-evaluation
// records (经验库) kept in Redis without expiry.

import type { AlertRecord } from '../domain/alert.js';
import { Calendar, type Clock } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { pickFields } from '../domain/fields.js';
import type { CampaignStore } from '../state/campaign-store.js';
import type { DailyReads, DailyValues } from '../state/daily-reads.js';
import type { AlertFilter, EntityFilter } from '../state/ports.js';
import { breakdown, categoryTitle, DEFAULT_COMPLAINT_ROUTING, departmentName, leadOf, leadText, type ComplaintRouting, type Locale } from '../domain/complaints.js';
import { campaignInfo, categoryTotals, dailyReport, dayFigures, evaluationRecord, type CampaignInfo, type CategoryRow, type DailyReport, type DayFigures, type EvaluationRecord, type FigureContext, type LeadInfo } from './figures.js';
import { CampaignLedger } from './ledger.js';
import { campaignWindow, phaseOn, targetCustomers, timeline, type CampaignPhase, type CampaignTimeline } from './lifecycle.js';
import { renderDailyReport, renderEvaluation, type RenderedMail } from './render.js';
import { REPORT_METRICS } from './series.js';

export interface CampaignServiceDeps {
  readonly store: CampaignStore;
  readonly days: Pick<DailyReads, 'readDays'>;
  readonly registry: { list(filter?: EntityFilter): Promise<Entity[]>; get(id: string): Promise<Entity | undefined> };
  readonly alerts: { list(filter?: AlertFilter): Promise<AlertRecord[]> };
  readonly calendar: Calendar;
  readonly clock: Clock;
  /** Daily buckets kept (LOOKOUT_RETENTION_DAYS): figures older than this are gone. */
  readonly retentionDays: number;
  readonly locale: Locale;
  readonly templatesDir: string;
  readonly routing: () => ComplaintRouting | undefined;
  readonly ruleName: (rule: string) => string;
  readonly contactName?: (id: string) => string | undefined;
}

/** What a campaign list shows: phase and the figures so far. */
export interface HeadlineFigures {
  /** Local date the figures are as of (today). */
  readonly asOf: string;
  /** The campaign's live days up to today that are still stored. */
  readonly toDate: {
    readonly days: number;
    readonly enrollments: number;
    readonly complaints: number;
    readonly unsubscribes: number;
    readonly complaintsPer10k: number | null;
    readonly unsubscribesPer10k: number | null;
  };
  /** Yesterday's figures (the last complete day). */
  readonly yesterday: DayFigures;
  /** Today's running figures. */
  readonly today: DayFigures;
  readonly openAlerts: number;
}

export interface CampaignSummary {
  readonly id: string;
  readonly name: string;
  readonly phase: CampaignPhase | null;
  readonly timeline: CampaignTimeline | null;
  readonly campaign: CampaignInfo;
  readonly figures: HeadlineFigures;
  /** A post-evaluation record exists (GET /api/v1/campaigns/:id/evaluation). */
  readonly evaluated: boolean;
}

export interface CampaignDetail extends CampaignSummary {
  readonly entity: Entity;
  /** Complaints to date by category, and the department leading. */
  readonly categories: readonly CategoryRow[];
  readonly lead: LeadInfo | null;
  /** The campaign's alerts that are open now. */
  readonly alerts: readonly AlertRecord[];
}

export interface EvaluationSummary {
  readonly campaign: CampaignInfo;
  readonly generatedAt: string;
  readonly window: EvaluationRecord['window'];
  readonly totals: EvaluationRecord['totals'];
  readonly peak: EvaluationRecord['peak'];
  readonly alerts: { readonly total: number; readonly bySeverity: EvaluationRecord['alerts']['bySeverity'] };
  readonly response: EvaluationRecord['response'];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Read one stored post-evaluation record (also used by `lookout report campaign`). */
export async function readEvaluation(store: Pick<CampaignStore, 'evaluation'>, id: string): Promise<EvaluationRecord | undefined> {
  const raw = await store.evaluation(id);
  return raw ? (JSON.parse(raw) as EvaluationRecord) : undefined;
}

export class CampaignService extends pickFields<CampaignServiceDeps>()('locale', 'calendar', 'clock', 'retentionDays', 'routing', 'ruleName', 'contactName', 'registry', 'days', 'store', 'alerts', 'templatesDir') {
  readonly ledger: CampaignLedger;

  constructor(d: CampaignServiceDeps) {
    super(d);
    this.ledger = new CampaignLedger(d.store, { list: () => d.alerts.list() });
  }

  today(): number {
    return this.calendar.dayOf(this.clock.now());
  }

  /** The first local day whose daily buckets are still kept. */
  oldestDay(): number {
    return this.today() - this.retentionDays;
  }

  private ctx(): FigureContext {
    return {
      calendar: this.calendar,
      locale: this.locale,
      routing: this.routing() ?? DEFAULT_COMPLAINT_ROUTING,
      ruleName: this.ruleName,
      ownerName: this.contactName,
      now: this.clock.now(),
    };
  }

  async campaigns(): Promise<Entity[]> {
    return (await this.registry.list({ kind: 'campaign' })).filter((e) => e.kind === 'campaign');
  }

  /** A registered campaign, or undefined (unknown id or another kind). */
  async campaign(id: string): Promise<Entity | undefined> {
    const e = await this.registry.get(id);
    return e?.kind === 'campaign' ? e : undefined;
  }

  /** Campaigns (optionally of one phase today) with headline figures, by id. */
  async list(phase?: CampaignPhase): Promise<CampaignSummary[]> {
    const today = this.today();
    const all = (await this.campaigns()).filter((e) => !phase || phaseOn(e, today) === phase);
    if (!all.length) return [];
    const from = Math.max(this.oldestDay(), Math.min(...all.map((e) => campaignWindow(e)?.start ?? today)));
    const values = await this.days.readDays(all.map((e) => e.id), ['enrollments', 'complaints', 'unsubscribes'], from, today);
    const open = await this.openAlerts(new Set(all.map((e) => e.id)));
    const evaluated = new Set(await this.store.evaluated());
    return all.map((e) => this.summary(e, values, open.get(e.id) ?? [], evaluated.has(e.id)));
  }

  /** One campaign with its figures, categories to date and open alerts; undefined when unknown. */
  async get(id: string): Promise<CampaignDetail | undefined> {
    const e = await this.campaign(id);
    if (!e) return undefined;
    const today = this.today();
    const w = campaignWindow(e);
    const from = Math.max(this.oldestDay(), w?.start ?? today);
    const values = await this.days.readDays([e.id], REPORT_METRICS, from, today);
    const open = (await this.openAlerts(new Set([e.id]))).get(e.id) ?? [];
    const evaluated = await this.store.isEvaluated(e.id);
    const ctx = this.ctx();
    const cats = categoryTotals(values.get(e.id)!, from, Math.min(today, w?.end ?? today));
    const lead = leadOf(cats, ctx.routing);
    const t = leadText(lead, ctx.locale);
    return {
      ...this.summary(e, values, open, evaluated),
      entity: e,
      categories: breakdown(cats, ctx.routing).map((c) => ({ ...c, share: round(c.share), title: categoryTitle(c.category, ctx.locale), departmentName: departmentName(c.department, ctx.locale) })),
      lead: lead.share === undefined ? null : { category: lead.category, department: lead.department, departmentName: t.dept, share: round(lead.share), text: t.text },
      alerts: open,
    };
  }

  private async openAlerts(ids: ReadonlySet<string>): Promise<Map<string, AlertRecord[]>> {
    const out = new Map<string, AlertRecord[]>();
    const list = ids.size === 1 ? await this.alerts.list({ entity: [...ids][0]! }) : await this.alerts.list();
    for (const a of list) {
      if (!ids.has(a.entity) || (a.state !== 'firing' && a.state !== 'acknowledged')) continue;
      out.set(a.entity, [...(out.get(a.entity) ?? []), a]);
    }
    return out;
  }

  private summary(e: Entity, all: DailyValues, open: readonly AlertRecord[], evaluated: boolean): CampaignSummary {
    const today = this.today();
    const values = all.get(e.id) ?? new Map();
    const w = campaignWindow(e);
    const target = targetCustomers(e);
    const from = Math.max(this.oldestDay(), w?.start ?? today);
    const to = Math.min(today, w?.end ?? today);
    const sum = (m: string) => {
      let n = 0;
      for (const [d, v] of values.get(m) ?? []) if (d >= from && d <= to) n += v;
      return n;
    };
    const per = (n: number) => (target === undefined ? null : round((n * 10_000) / target));
    return {
      id: e.id,
      name: e.name,
      phase: phaseOn(e, today) ?? null,
      timeline: timeline(e, today) ?? null,
      campaign: campaignInfo(e, this.ctx()),
      figures: {
        asOf: Calendar.isoDay(today),
        toDate: {
          days: Math.max(0, to - from + 1),
          enrollments: sum('enrollments'),
          complaints: sum('complaints'),
          unsubscribes: sum('unsubscribes'),
          complaintsPer10k: per(sum('complaints')),
          unsubscribesPer10k: per(sum('unsubscribes')),
        },
        yesterday: dayFigures(e, values, today - 1),
        today: dayFigures(e, values, today),
        openAlerts: open.length,
      },
      evaluated,
    };
  }

  /** The daily implementation monitoring report of campaign `e` for local day `day` (`sweep: false` when the caller swept the ledger). */
  async dailyReport(e: Entity, day: number, opts: { sweep?: boolean } = {}): Promise<DailyReport> {
    const from = Math.max(this.oldestDay(), Math.min(day - 6, campaignWindow(e)?.start ?? day));
    const values = await this.days.readDays([e.id], REPORT_METRICS, from, day);
    const episodes = await this.ledger.episodes(e.id, opts);
    return dailyReport(e, day, values.get(e.id)!, episodes, this.ctx());
  }

  renderReport(r: DailyReport): Promise<RenderedMail> {
    return renderDailyReport(r, this.locale, this.templatesDir);
  }

  renderEvaluation(r: EvaluationRecord): Promise<RenderedMail> {
    return renderEvaluation(r, this.locale, this.templatesDir);
  }

  /** Build (not store) the post-evaluation record of a campaign from what is stored now. */
  async buildEvaluation(e: Entity): Promise<EvaluationRecord> {
    const w = campaignWindow(e);
    const end = w?.end ?? this.today();
    const from = Math.max(this.oldestDay(), w?.start ?? end);
    const values = await this.days.readDays([e.id], REPORT_METRICS, from, end);
    const episodes = await this.ledger.episodes(e.id);
    return evaluationRecord(e, from, values.get(e.id)!, episodes, this.ctx());
  }

  /** Store a record unless one exists; returns the stored one (the first writer wins) and whether it was this one. */
  async storeEvaluation(r: EvaluationRecord): Promise<{ record: EvaluationRecord; created: boolean }> {
    const created = await this.store.addEvaluation(r.campaign.id, JSON.stringify(r));
    return { record: created ? r : ((await this.evaluation(r.campaign.id)) ?? r), created };
  }

  async evaluation(id: string): Promise<EvaluationRecord | undefined> {
    return readEvaluation(this.store, id);
  }

  /** Every stored post-evaluation record (newest campaign end first), summarised. */
  async evaluations(): Promise<EvaluationSummary[]> {
    const all = (await this.store.evaluations()).map((r) => JSON.parse(r) as EvaluationRecord);
    return all
      .sort((a, b) => b.window.end.localeCompare(a.window.end) || a.campaign.id.localeCompare(b.campaign.id))
      .map((r) => ({ campaign: r.campaign, generatedAt: r.generatedAt, window: r.window, totals: r.totals, peak: r.peak, alerts: { total: r.alerts.total, bySeverity: r.alerts.bySeverity }, response: r.response }));
  }
}
