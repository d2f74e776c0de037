// In-memory twins of RedisCampaignStore and RedisDailyReads (fakes, not mocks), for unit tests of the
// campaign reports and figures without Redis.

import type { AlertRecord } from '../domain/alert.js';
import { deferredMember, parseDeferred, type CampaignStore, type DeferredEntry, type DeferredWork, type LedgerEntry } from './campaign-store.js';
import type { DailyReads, DailyValues, RangeTotals } from './daily-reads.js';

export class MemoryCampaignStore implements CampaignStore {
  private last: number | undefined;
  private readonly waiting = new Set<string>();
  private readonly reports = new Map<number, Map<string, string>>();
  private readonly records = new Map<string, string>();
  private readonly ledgers = new Map<string, Map<string, string>>();
  private readonly escalations = new Map<string, { episode: number; level: number }>();

  /** The escalation state of an alert's chain, as the notifier keeps it. */
  escalate(fingerprint: string, episode: number, level: number): void {
    this.escalations.set(fingerprint, { episode, level });
  }

  async lastRun(): Promise<number | undefined> {
    return this.last;
  }

  async setLastRun(day: number): Promise<void> {
    this.last = day;
  }

  async defer(work: DeferredWork): Promise<void> {
    this.waiting.add(deferredMember(work));
  }

  async undefer(work: DeferredWork | DeferredEntry): Promise<void> {
    this.waiting.delete(deferredMember(work));
  }

  async deferred(): Promise<DeferredEntry[]> {
    return [...this.waiting].map(parseDeferred);
  }

  async report(day: number, campaign: string): Promise<string | undefined> {
    return this.reports.get(day)?.get(campaign);
  }

  async recordReport(day: number, campaign: string, json: string): Promise<void> {
    const made = this.reports.get(day) ?? new Map<string, string>();
    made.set(campaign, json);
    this.reports.set(day, made);
    this.waiting.delete(deferredMember({ what: 'report', campaign, day }));
  }

  async evaluation(campaign: string): Promise<string | undefined> {
    return this.records.get(campaign);
  }

  async evaluations(): Promise<string[]> {
    return [...this.records.values()];
  }

  async evaluated(): Promise<string[]> {
    return [...this.records.keys()];
  }

  async isEvaluated(campaign: string): Promise<boolean> {
    return this.records.has(campaign);
  }

  async addEvaluation(campaign: string, json: string): Promise<boolean> {
    if (this.records.has(campaign)) return false;
    this.records.set(campaign, json);
    return true;
  }

  async ledgerState(alerts: readonly Pick<AlertRecord, 'fingerprint' | 'episode' | 'entity'>[]): Promise<{ level: number; stored?: string }[]> {
    return alerts.map((a) => {
      const esc = this.escalations.get(a.fingerprint);
      const stored = this.ledgers.get(a.entity)?.get(`${a.fingerprint}.${a.episode}`);
      return { level: esc?.episode === a.episode ? esc.level : 0, ...(stored !== undefined && { stored }) };
    });
  }

  async putLedger(entries: readonly LedgerEntry[]): Promise<void> {
    for (const e of entries) {
      const ledger = this.ledgers.get(e.campaign) ?? new Map<string, string>();
      ledger.set(`${e.fingerprint}.${e.episode}`, e.json);
      this.ledgers.set(e.campaign, ledger);
    }
  }

  async ledger(campaign: string): Promise<string[]> {
    return [...(this.ledgers.get(campaign)?.values() ?? [])];
  }
}

/** Daily buckets (Σ and samples per entity, metric and day) and the feed's samples per metric and day. */
export class MemoryDailyReads implements DailyReads {
  private readonly buckets = new Map<string, { sum: number; count: number }>();
  private readonly feed = new Map<string, number>();

  /** Add samples to an entity's day; they count towards that day's feed too. */
  add(entity: string, metric: string, day: number, sum: number, count = 1): void {
    const k = `${entity}\0${metric}\0${day}`;
    const b = this.buckets.get(k) ?? { sum: 0, count: 0 };
    this.buckets.set(k, { sum: b.sum + sum, count: b.count + count });
    this.feed.set(`${metric}\0${day}`, (this.feed.get(`${metric}\0${day}`) ?? 0) + count);
  }

  private bucket(entity: string, metric: string, day: number): { sum: number; count: number } | undefined {
    const b = this.buckets.get(`${entity}\0${metric}\0${day}`);
    return b && b.count > 0 ? b : undefined;
  }

  async readDays(entities: readonly string[], metrics: readonly string[], fromDay: number, toDay: number): Promise<DailyValues> {
    const out: DailyValues = new Map();
    for (const e of entities) {
      const byMetric = new Map<string, Map<number, number>>();
      for (const m of metrics) {
        const days = new Map<number, number>();
        for (let d = fromDay; d <= toDay; d++) {
          const b = this.bucket(e, m, d);
          if (b) days.set(d, b.sum);
        }
        byMetric.set(m, days);
      }
      out.set(e, byMetric);
    }
    return out;
  }

  async arrived(day: number, metrics: readonly string[]): Promise<boolean> {
    return metrics.some((m) => (this.feed.get(`${m}\0${day}`) ?? 0) > 0);
  }

  async totals(entities: readonly string[], metric: string, fromDay: number, toDay: number): Promise<Map<string, RangeTotals>> {
    const out = new Map<string, RangeTotals>();
    for (const e of entities) {
      let t: RangeTotals | undefined;
      for (let d = fromDay; d <= toDay; d++) {
        const b = this.bucket(e, metric, d);
        if (b) t = { sum: (t?.sum ?? 0) + b.sum, count: (t?.count ?? 0) + b.count, days: (t?.days ?? 0) + 1 };
      }
      if (t) out.set(e, t);
    }
    return out;
  }
}
