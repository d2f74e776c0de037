// What one round of the live evaluator reads, in one transaction so it is consistent: the feed
// counters of absence metrics, the series the read plan asks for, and each entity's alert
// version and alerts (the version guards the commit that follows).

import { batch, type RedisClient } from './client.js';
import { hmgetStrings, mgetStrings } from './flat-command.js';
import type { AlertRecord } from '../domain/alert.js';
import type { Keyspace } from './keys.js';
import type { DailyByEntity, DailyRead, HourlyByEntity, HourlyRead } from './series-layout.js';
import { parseFeed, type SeriesStore } from './series-store.js';

export interface SnapshotRequest {
  /** Metrics whose feed counters (samples per day, all entities) are read. */
  readonly feedMetrics: readonly string[];
  readonly daily: readonly DailyRead[];
  readonly hourly: readonly HourlyRead[];
  /**
   * Entities whose alerts of these rules are read, with their version: each rule's alert by its
   * fingerprint (fingerprint(rule, id), one per rule, kept by the caller with the entity's plan).
   */
  readonly entities: readonly { readonly id: string; readonly rules: readonly string[]; readonly fingerprints: readonly string[] }[];
}

export interface EntityAlerts {
  /** The entity's alert version when read: the commit succeeds only if it is unchanged. */
  readonly version: string;
  /** Rule id → the alert record. */
  readonly priors: Map<string, AlertRecord>;
}

export interface Snapshot {
  readonly feed: Map<string, Map<number, number>>;
  readonly daily: DailyByEntity;
  readonly hourly: HourlyByEntity;
  readonly alerts: Map<string, EntityAlerts>;
}

export class SnapshotReader {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    private readonly series: SeriesStore,
  ) {}

  async read(req: SnapshotRequest): Promise<Snapshot> {
    const tx = batch(this.redis, true);
    for (const m of req.feedMetrics) tx.hgetall(this.keys.feed(m));
    const seriesReads = this.series.queueReads(tx, req.daily, req.hourly);
    // Every entity's version in one MGET and their alerts in one HMGET (both in the control slot on
    // a cluster), not two commands per entity.
    const fingerprints: string[] = [];
    for (const e of req.entities) for (const f of e.fingerprints) fingerprints.push(f);
    if (req.entities.length > 0) mgetStrings(tx, req.entities.map((e) => this.keys.version(e.id)));
    if (fingerprints.length > 0) hmgetStrings(tx, this.keys.alerts, fingerprints);
    const res = ((await tx.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    let i = 0;
    const feed = new Map<string, Map<number, number>>();
    for (const m of req.feedMetrics) feed.set(m, parseFeed(res[i++] as Record<string, string>));
    const daily: DailyByEntity = new Map();
    const hourly: HourlyByEntity = new Map();
    seriesReads.parse(res, i, daily, hourly);
    i += seriesReads.length;
    const alerts = new Map<string, EntityAlerts>();
    const versions = req.entities.length > 0 ? (res[i++] as (string | null)[]) : [];
    const raws = fingerprints.length > 0 ? (res[i++] as (string | null)[]) : [];
    let f = 0;
    req.entities.forEach((e, j) => {
      const priors = new Map<string, AlertRecord>();
      for (const rule of e.rules) {
        const raw = raws[f++];
        if (raw) priors.set(rule, JSON.parse(raw) as AlertRecord);
      }
      alerts.set(e.id, { version: versions[j] ?? '0', priors });
    });
    return { feed, daily, hourly, alerts };
  }
}
