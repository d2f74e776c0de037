// The campaign alert ledger: every alert episode a campaign had (rule, highest severity, when it
// fired, who acknowledged it and how fast, when it resolved, how far its escalation climbed).
// The alert store keeps only each alert's latest episode and forgets resolved alerts after the
// retention; campaigns run for months, so the scheduler copies their episodes here (every ten
// minutes and before every report) and the post-evaluation reads the whole history.

import type { AlertRecord, AlertState } from '../domain/alert.js';
import { severityRank, type Severity } from '../domain/rule.js';
import type { CampaignStore, LedgerEntry } from '../state/campaign-store.js';

/** One episode of one alert of a campaign. */
export interface AlertEpisode {
  /** Alert id (fingerprint). */
  readonly alert: string;
  readonly episode: number;
  readonly rule: string;
  /** The highest severity the episode reached. */
  readonly severity: Severity;
  /** False for weak-evidence records that paged nobody. */
  readonly notify: boolean;
  /** The local day judged when the episode was first seen firing. */
  readonly period: string;
  readonly summary: string;
  readonly value?: number;
  readonly measure?: number;
  readonly firingAt: number;
  readonly ack?: { readonly by: string; readonly at: number; readonly via: string };
  readonly resolvedAt?: number;
  readonly state: AlertState;
  /** Highest escalation step that ran (1 = first step; ≥ 2 = escalated; 0 = nobody was paged). */
  readonly level: number;
}

/** A current alert record as an episode (level from the escalation state, when known). */
export function episodeOf(a: AlertRecord, level: number): AlertEpisode | undefined {
  if (a.firingAt === undefined) return undefined; // pending that never fired: nothing was raised
  return {
    alert: a.id,
    episode: a.episode,
    rule: a.rule,
    severity: a.severity,
    notify: a.notify,
    period: a.period,
    summary: a.summary,
    ...(a.value !== undefined && { value: a.value }),
    ...(a.measure !== undefined && { measure: a.measure }),
    firingAt: a.firingAt,
    ...(a.ack && { ack: a.ack }),
    ...(a.resolvedAt !== undefined && { resolvedAt: a.resolvedAt }),
    state: a.state,
    level,
  };
}

/** Merge a newer view of an episode into the stored one: highest severity and level, first period. */
export function mergeEpisode(old: AlertEpisode | undefined, next: AlertEpisode): AlertEpisode {
  if (!old) return next;
  const sev = severityRank(next.severity) >= severityRank(old.severity) ? next : old;
  return {
    ...next,
    severity: sev.severity,
    summary: sev.summary,
    ...(sev.value !== undefined && { value: sev.value }),
    ...(sev.measure !== undefined && { measure: sev.measure }),
    period: old.period,
    firingAt: Math.min(old.firingAt, next.firingAt),
    ack: next.ack ?? old.ack,
    resolvedAt: next.resolvedAt ?? old.resolvedAt,
    level: Math.max(old.level, next.level),
    notify: old.notify || next.notify,
  };
}

export class CampaignLedger {
  constructor(
    private readonly store: Pick<CampaignStore, 'ledgerState' | 'putLedger' | 'ledger'>,
    private readonly alerts: { list(): Promise<AlertRecord[]> },
  ) {}

  /** Copy the current episodes of these campaigns' alerts into the ledger; returns them by campaign. */
  async sweep(campaigns: ReadonlySet<string>): Promise<Map<string, AlertEpisode[]>> {
    const out = new Map<string, AlertEpisode[]>();
    if (!campaigns.size) return out;
    const current = (await this.alerts.list()).filter((a) => campaigns.has(a.entity) && a.firingAt !== undefined);
    if (!current.length) return out;
    const state = await this.store.ledgerState(current);
    const writes: LedgerEntry[] = [];
    current.forEach((a, i) => {
      const { level, stored } = state[i]!;
      const ep = episodeOf(a, level);
      if (!ep) return;
      const merged = mergeEpisode(stored ? (JSON.parse(stored) as AlertEpisode) : undefined, ep);
      writes.push({ campaign: a.entity, fingerprint: a.fingerprint, episode: a.episode, json: JSON.stringify(merged) });
      const list = out.get(a.entity) ?? [];
      list.push(merged);
      out.set(a.entity, list);
    });
    await this.store.putLedger(writes);
    return out;
  }

  /** Every episode of one campaign (sweeping its current alerts first unless told not to), oldest first. */
  async episodes(campaign: string, opts: { sweep?: boolean } = {}): Promise<AlertEpisode[]> {
    if (opts.sweep !== false) await this.sweep(new Set([campaign]));
    const all = await this.store.ledger(campaign);
    return all.map((r) => JSON.parse(r) as AlertEpisode).sort((a, b) => a.firingAt - b.firingAt || a.alert.localeCompare(b.alert));
  }
}
