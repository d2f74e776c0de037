// Alerts in Redis: fingerprint → JSON record, an open set and a resolved index. Writes go through
// the commit script, guarded by the entity's alert version, so evaluation and acks of one entity
// never interleave badly across worker processes.

import type { RedisClient } from './client.js';
import type { AlertEvent, AlertRecord } from '../domain/alert.js';
import { fingerprint } from '../domain/alert.js';
import type { Keyspace } from './keys.js';
import { acknowledge, isOpen, type Step } from '../domain/lifecycle.js';
import { COMMIT_ALERTS_LUA } from './lua.js';
import type { AckResult, AlertFilter, AlertStore } from './ports.js';

type Commit = (...args: string[]) => void;

export interface EntityCommit {
  readonly entity: string;
  readonly version: string;
  readonly steps: readonly Step[];
}

export function commitArgs(keys: Keyspace, c: EntityCommit, now: number): string[] {
  const args = [keys.version(c.entity), keys.prefix, c.entity, c.version, String(now)];
  for (const s of c.steps) {
    if (!s.record) continue;
    args.push(s.record.fingerprint, JSON.stringify(s.record), isOpen(s.record) ? '1' : '0', s.event ? JSON.stringify(s.event) : '');
  }
  return args;
}

export class RedisAlertStore implements AlertStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    private readonly maxAckAttempts = 10,
  ) {
    redis.defineCommand('lookoutCommit', { numberOfKeys: 1, lua: COMMIT_ALERTS_LUA });
  }

  /** Commit several entities' steps in one round trip; returns the entities that conflicted. */
  async commit(commits: readonly EntityCommit[], now: number): Promise<{ conflicts: string[]; events: AlertEvent[] }> {
    const p = this.redis.pipeline();
    for (const c of commits) (p as unknown as { lookoutCommit: Commit }).lookoutCommit(...commitArgs(this.keys, c, now));
    const res = (await p.exec()) ?? [];
    const conflicts: string[] = [];
    const events: AlertEvent[] = [];
    res.forEach(([err, ok], i) => {
      if (err) throw err;
      const c = commits[i]!;
      if (ok !== 1) {
        conflicts.push(c.entity);
        return;
      }
      for (const s of c.steps) if (s.event) events.push(s.event);
    });
    return { conflicts, events };
  }

  /**
   * Judge one entity against its alerts of `rules` as they are now and commit the steps, judging
   * again on a conflict (an ack or another worker changed the entity meanwhile). Returns the
   * events committed.
   */
  async update(
    entity: string,
    rules: readonly string[],
    decide: (priors: ReadonlyMap<string, AlertRecord>) => readonly Step[],
    now: number,
    maxAttempts = 8,
  ): Promise<AlertEvent[]> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const res = (await this.redis
        .multi()
        .get(this.keys.version(entity))
        .hmget(this.keys.alerts, ...rules.map((r) => fingerprint(r, entity)))
        .exec()) ?? [];
      const [[e1, version], [e2, raws]] = res as [[Error | null, string | null], [Error | null, (string | null)[]]];
      if (e1 || e2) throw e1 ?? e2;
      const priors = new Map<string, AlertRecord>();
      raws.forEach((raw, k) => {
        if (raw) priors.set(rules[k]!, JSON.parse(raw) as AlertRecord);
      });
      const steps = decide(priors);
      if (!steps.length) return [];
      const { conflicts, events } = await this.commit([{ entity, version: version ?? '0', steps }], now);
      if (!conflicts.length) return events;
    }
    throw new Error(`alerts of ${entity} kept conflicting after ${maxAttempts} attempts`);
  }

  async get(id: string): Promise<AlertRecord | undefined> {
    const raw = await this.redis.hget(this.keys.alerts, id);
    return raw ? (JSON.parse(raw) as AlertRecord) : undefined;
  }

  async list(filter: AlertFilter = {}): Promise<AlertRecord[]> {
    const wantOpen = filter.state !== 'resolved';
    const wantResolved = filter.state === undefined || filter.state === 'resolved';
    const ids: string[] = [];
    if (wantOpen) ids.push(...(await this.redis.smembers(this.keys.openAlerts)));
    if (wantResolved) ids.push(...(await this.redis.zrevrange(this.keys.resolvedAlerts, 0, 4999)));
    if (!ids.length) return [];
    const raws = await this.redis.hmget(this.keys.alerts, ...ids);
    return raws
      .filter((r): r is string => r !== null)
      .map((r) => JSON.parse(r) as AlertRecord)
      .filter(
        (a) =>
          (!filter.state || a.state === filter.state) &&
          (!filter.rule || a.rule === filter.rule) &&
          (!filter.entity || a.entity === filter.entity),
      )
      .sort((a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id));
  }

  /** Every open alert (pending, firing, acknowledged), unsorted. */
  async listOpen(): Promise<AlertRecord[]> {
    const ids = await this.redis.smembers(this.keys.openAlerts);
    if (!ids.length) return [];
    const raws = await this.redis.hmget(this.keys.alerts, ...ids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as AlertRecord);
  }

  async ack(id: string, by: string, via: string, now: number, episode?: number): Promise<AckResult> {
    const found = await this.get(id);
    if (!found) return { ok: false, code: 'not_found' };
    // Decided again on every attempt, under the version that attempt read: the last one tells.
    let result: AckResult = { ok: false, code: 'not_found' };
    const decide = (priors: ReadonlyMap<string, AlertRecord>): readonly Step[] => {
      const decided = ackStep(priors.get(found.rule), by, via, now, episode);
      result = decided.result;
      return decided.steps;
    };
    await this.update(found.entity, [found.rule], decide, now, this.maxAckAttempts);
    return result;
  }

  /** Forget resolved alerts older than `before` (retention). */
  async pruneResolved(before: number): Promise<number> {
    // One script, so an alert that fires again meanwhile is never deleted.
    const n = await this.redis.eval(
      `local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 5000)
       for _, fp in ipairs(old) do redis.call('HDEL', KEYS[2], fp); redis.call('ZREM', KEYS[1], fp) end
       return #old`,
      2,
      this.keys.resolvedAlerts,
      this.keys.alerts,
      String(before),
    );
    return Number(n);
  }
}

/** What acknowledging `record` answers, and the step to commit (none when nothing changes). */
function ackStep(record: AlertRecord | undefined, by: string, via: string, now: number, episode?: number): { result: AckResult; steps: Step[] } {
  if (!record) return { result: { ok: false, code: 'not_found' }, steps: [] };
  if (episode !== undefined && record.episode !== episode) return { result: { ok: false, code: 'not_ackable', alert: record }, steps: [] };
  const outcome = acknowledge(record, by, via, now);
  if (!outcome.ok) return { result: { ok: false, code: outcome.code, alert: record }, steps: [] };
  if (!outcome.step.record) return { result: { ok: true, alert: record }, steps: [] };
  return { result: { ok: true, alert: outcome.step.record }, steps: [outcome.step] };
}
