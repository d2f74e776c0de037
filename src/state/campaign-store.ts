// What campaigns/ keeps in Redis (under LOOKOUT_PREFIX): the alert ledger, the
// post-evaluation records, the daily reports made, the report run's catch-up marker and the work
// waiting for its export. Records are kept as JSON text; their shapes belong to src/campaigns/.

import type { RedisClient } from './client.js';
import type { AlertRecord } from '../domain/alert.js';
import type { Keyspace } from './keys.js';

/** Redis keys of campaigns/. */
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

/** Work waiting for its export: a campaign's daily report of one day, or its post-evaluation. */
export type DeferredWork = { readonly what: 'report'; readonly campaign: string; readonly day: number } | { readonly what: 'evaluation'; readonly campaign: string };

/** A waiting entry as stored (`member` removes it exactly, whatever it holds). */
export interface DeferredEntry {
  readonly what: string;
  readonly campaign: string;
  readonly day?: number;
  readonly member: string;
}

/** An alert's episode in the ledger: where it goes and its JSON. */
export interface LedgerEntry {
  readonly campaign: string;
  readonly fingerprint: string;
  readonly episode: number;
  readonly json: string;
}

export interface CampaignStore {
  /** The last local day the scheduled report run covered; undefined before the first run. */
  lastRun(): Promise<number | undefined>;
  setLastRun(day: number): Promise<void>;

  defer(work: DeferredWork): Promise<void>;
  undefer(work: DeferredWork | DeferredEntry): Promise<void>;
  deferred(): Promise<DeferredEntry[]>;

  /** The JSON summary of the daily report made for `campaign` and `day`, if one was. */
  report(day: number, campaign: string): Promise<string | undefined>;
  /** Record the report made (kept 40 days) and drop its waiting entry, in one step. */
  recordReport(day: number, campaign: string, json: string): Promise<void>;

  evaluation(campaign: string): Promise<string | undefined>;
  /** Every post-evaluation record (JSON). */
  evaluations(): Promise<string[]>;
  /** Ids of the campaigns with a post-evaluation record. */
  evaluated(): Promise<string[]>;
  isEvaluated(campaign: string): Promise<boolean>;
  /** Store a record unless the campaign has one; true when this one was stored. */
  addEvaluation(campaign: string, json: string): Promise<boolean>;

  /**
   * For each alert, in order: the escalation step its current episode reached (0 when the
   * escalation state is another episode's, or there is none) and the ledger's copy of that episode.
   */
  ledgerState(alerts: readonly Pick<AlertRecord, 'fingerprint' | 'episode' | 'entity'>[]): Promise<{ level: number; stored?: string }[]>;
  /** Write episodes to their campaigns' ledgers (each ledger kept 400 days after its last write). */
  putLedger(entries: readonly LedgerEntry[]): Promise<void>;
  /** Every episode in one campaign's ledger (JSON), in no particular order. */
  ledger(campaign: string): Promise<string[]>;
}

const DAY_MS = 86_400_000;
/** Daily report markers outlive the retry window of any report. */
const REPORTED_TTL_MS = 40 * DAY_MS;
/** Ledger entries are kept this long after their last update (longer than any campaign). */
const LEDGER_TTL_S = 400 * 86_400;

/** The set member of a waiting entry: `["report", id, day]` or `["evaluation", id]`. */
export function deferredMember(w: DeferredWork | DeferredEntry): string {
  if ('member' in w) return w.member;
  return w.what === 'report' ? JSON.stringify(['report', w.campaign, w.day]) : JSON.stringify(['evaluation', w.campaign]);
}

export function parseDeferred(member: string): DeferredEntry {
  const [what, campaign, day] = JSON.parse(member) as [string, string, number?];
  return { what, campaign, ...(day !== undefined && { day }), member };
}

export class RedisCampaignStore implements CampaignStore {
  private readonly ck: CampaignKeys;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {
    this.ck = campaignKeys(keys.prefix);
  }

  async lastRun(): Promise<number | undefined> {
    const last = await this.redis.get(this.ck.lastRun);
    return last === null ? undefined : Number(last);
  }

  async setLastRun(day: number): Promise<void> {
    await this.redis.set(this.ck.lastRun, String(day));
  }

  async defer(work: DeferredWork): Promise<void> {
    await this.redis.sadd(this.ck.deferred, deferredMember(work));
  }

  async undefer(work: DeferredWork | DeferredEntry): Promise<void> {
    await this.redis.srem(this.ck.deferred, deferredMember(work));
  }

  async deferred(): Promise<DeferredEntry[]> {
    return (await this.redis.smembers(this.ck.deferred)).map(parseDeferred);
  }

  async report(day: number, campaign: string): Promise<string | undefined> {
    return (await this.redis.hget(this.ck.reported(day), campaign)) ?? undefined;
  }

  async recordReport(day: number, campaign: string, json: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.ck.reported(day), campaign, json)
      .pexpire(this.ck.reported(day), REPORTED_TTL_MS)
      .srem(this.ck.deferred, deferredMember({ what: 'report', campaign, day }))
      .exec();
  }

  async evaluation(campaign: string): Promise<string | undefined> {
    return (await this.redis.hget(this.ck.evaluations, campaign)) ?? undefined;
  }

  evaluations(): Promise<string[]> {
    return this.redis.hvals(this.ck.evaluations);
  }

  evaluated(): Promise<string[]> {
    return this.redis.hkeys(this.ck.evaluations);
  }

  async isEvaluated(campaign: string): Promise<boolean> {
    return (await this.redis.hexists(this.ck.evaluations, campaign)) === 1;
  }

  async addEvaluation(campaign: string, json: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.ck.evaluations, campaign, json)) === 1;
  }

  async ledgerState(alerts: readonly Pick<AlertRecord, 'fingerprint' | 'episode' | 'entity'>[]): Promise<{ level: number; stored?: string }[]> {
    if (!alerts.length) return [];
    const p = this.redis.pipeline();
    for (const a of alerts) p.hmget(this.keys.escalation(a.fingerprint), 'episode', 'level');
    for (const a of alerts) p.hget(this.ck.ledger(a.entity), `${a.fingerprint}.${a.episode}`);
    const res = ((await p.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    return alerts.map((a, i) => {
      const [episode, level] = res[i] as [string | null, string | null];
      const stored = res[alerts.length + i] as string | null;
      return { level: episode === String(a.episode) ? Number(level ?? 0) : 0, ...(stored !== null && { stored }) };
    });
  }

  async putLedger(entries: readonly LedgerEntry[]): Promise<void> {
    const w = this.redis.pipeline();
    for (const e of entries) {
      w.hset(this.ck.ledger(e.campaign), `${e.fingerprint}.${e.episode}`, e.json);
      w.expire(this.ck.ledger(e.campaign), LEDGER_TTL_S);
    }
    await w.exec();
  }

  ledger(campaign: string): Promise<string[]> {
    return this.redis.hvals(this.ck.ledger(campaign));
  }
}
