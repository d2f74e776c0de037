// The campaign alert ledger: every alert episode a campaign had (rule, highest severity, when it
// fired, who acknowledged it and how fast, when it resolved, how far its escalation climbed).
// The alert store keeps only each alert's latest episode and forgets resolved alerts after the
// retention; campaigns run for months, so the scheduler copies their episodes here (every ten
// minutes and before every report) and the post-evaluation reads the whole history.

import type { Redis } from 'ioredis';
import type { AlertRecord, AlertState } from '../domain/alert.js';
import { severityRank, type Severity } from '../domain/rule.js';
import type { Keyspace } from '../queues/names.js';

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

/** Redis keys of the campaign duties (under LOOKOUT_PREFIX). */
export function campaignKeys(prefix: string) {
  return {
    /** Post-evaluation records: hash campaign id → JSON, never expires (经验库). */
    evaluations: `${prefix}:campaign:evaluations`,
    /** Alert episodes of one campaign: hash `<fp>.<episode>` → JSON AlertEpisode. */
    ledger: (campaign: string) => `${prefix}:campaign:alerts:${campaign}`,
    /** Daily reports made for one local day: hash campaign id → JSON summary. */
    reported: (day: number) => `${prefix}:campaign:reported:${day}`,
    /** The last local day the scheduled report run covered (its catch-up marker). */
    lastRun: `${prefix}:campaign:last-run`,
    /** Reports and evaluations waiting for their export: set of JSON `["report", id, day]` / `["evaluation", id]`. */
    deferred: `${prefix}:campaign:deferred`,
  };
}

export type CampaignKeys = ReturnType<typeof campaignKeys>;

/** Ledger entries are kept this long after their last update (longer than any campaign). */
const LEDGER_TTL_S = 400 * 86_400;

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
  private readonly ck: CampaignKeys;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly alerts: { list(): Promise<AlertRecord[]> },
  ) {
    this.ck = campaignKeys(keys.prefix);
  }

  /** Copy the current episodes of these campaigns' alerts into the ledger; returns them by campaign. */
  async sweep(campaigns: ReadonlySet<string>): Promise<Map<string, AlertEpisode[]>> {
    const out = new Map<string, AlertEpisode[]>();
    if (!campaigns.size) return out;
    const current = (await this.alerts.list()).filter((a) => campaigns.has(a.entity) && a.firingAt !== undefined);
    if (!current.length) return out;
    const p = this.redis.pipeline();
    for (const a of current) p.hmget(this.keys.escalation(a.fingerprint), 'episode', 'level');
    for (const a of current) p.hget(this.ck.ledger(a.entity), `${a.fingerprint}.${a.episode}`);
    const res = ((await p.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const w = this.redis.pipeline();
    current.forEach((a, i) => {
      const [episode, level] = res[i] as [string | null, string | null];
      const lvl = episode === String(a.episode) ? Number(level ?? 0) : 0;
      const ep = episodeOf(a, lvl);
      if (!ep) return;
      const raw = res[current.length + i] as string | null;
      const merged = mergeEpisode(raw ? (JSON.parse(raw) as AlertEpisode) : undefined, ep);
      w.hset(this.ck.ledger(a.entity), `${a.fingerprint}.${a.episode}`, JSON.stringify(merged));
      w.expire(this.ck.ledger(a.entity), LEDGER_TTL_S);
      const list = out.get(a.entity) ?? [];
      list.push(merged);
      out.set(a.entity, list);
    });
    await w.exec();
    return out;
  }

  /** Every episode of one campaign (sweeping its current alerts first unless told not to), oldest first. */
  async episodes(campaign: string, opts: { sweep?: boolean } = {}): Promise<AlertEpisode[]> {
    if (opts.sweep !== false) await this.sweep(new Set([campaign]));
    const all = await this.redis.hvals(this.ck.ledger(campaign));
    return all.map((r) => JSON.parse(r) as AlertEpisode).sort((a, b) => a.firingAt - b.firingAt || a.alert.localeCompare(b.alert));
  }
}
