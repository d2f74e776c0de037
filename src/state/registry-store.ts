// Entities in Redis: one hash of id → JSON, a version counter bumped on every change and a
// capped stream of the ids each change wrote, so workers refresh their in-memory copy by reading
// only what changed; and a tally of samples for entities nobody registered.

import type { RedisClient } from './client.js';
import type { Entity } from '../domain/entity.js';
import type { Keyspace } from './keys.js';
import type { EntityFilter, RegistryStore } from './ports.js';

export function matchesFilter(e: Entity, f: EntityFilter = {}): boolean {
  return (!f.kind || e.kind === f.kind) && (!f.region || e.region === f.region) && (!f.district || e.district === f.district);
}

/** Ids per entry of the change stream, and entries kept: a worker further behind reloads whole. */
const LOG_IDS_PER_ENTRY = 1000;
export const LOG_MAX_ENTRIES = 1000;

export class RedisRegistryStore implements RegistryStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    /** Called after a change is stored (the API role queues a re-evaluation). */
    private readonly onChange?: (ids: readonly string[]) => Promise<void>,
  ) {}

  async putMany(entities: readonly Entity[]): Promise<void> {
    if (!entities.length) return;
    const tx = this.redis.multi();
    for (let i = 0; i < entities.length; i += 1000) {
      const args: string[] = [];
      for (const e of entities.slice(i, i + 1000)) args.push(e.id, JSON.stringify(e));
      tx.hset(this.keys.entities, ...args);
    }
    tx.hdel(this.keys.unknownEntities, ...entities.map((e) => e.id));
    for (let i = 0; i < entities.length; i += LOG_IDS_PER_ENTRY) {
      const ids = entities.slice(i, i + LOG_IDS_PER_ENTRY).map((e) => e.id);
      tx.xadd(this.keys.entitiesLog, 'MAXLEN', '~', String(LOG_MAX_ENTRIES), '*', 'ids', JSON.stringify(ids));
    }
    tx.incr(this.keys.entitiesVersion);
    await tx.exec();
    await this.onChange?.(entities.map((e) => e.id));
  }

  async get(id: string): Promise<Entity | undefined> {
    const raw = await this.redis.hget(this.keys.entities, id);
    return raw ? (JSON.parse(raw) as Entity) : undefined;
  }

  async list(filter?: EntityFilter): Promise<Entity[]> {
    const all = await this.redis.hvals(this.keys.entities);
    return all
      .map((raw) => JSON.parse(raw) as Entity)
      .filter((e) => matchesFilter(e, filter))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async *idPages(pageSize = 1000): AsyncIterable<string[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.entities, cursor, 'COUNT', pageSize);
      cursor = next;
      const ids: string[] = [];
      for (let i = 0; i < flat.length; i += 2) ids.push(flat[i]!);
      if (ids.length) yield ids;
    } while (cursor !== '0');
  }

  async unknown(): Promise<{ id: string; samples: number }[]> {
    const h = await this.redis.hgetall(this.keys.unknownEntities);
    return Object.entries(h)
      .map(([id, n]) => ({ id, samples: Number(n) }))
      .sort((a, b) => b.samples - a.samples || a.id.localeCompare(b.id));
  }

  /** Count samples that arrived for unregistered entities (kept and stored all the same). */
  async noteUnknown(counts: ReadonlyMap<string, number>): Promise<void> {
    if (!counts.size) return;
    const p = this.redis.pipeline();
    for (const [id, n] of counts) p.hincrby(this.keys.unknownEntities, id, n);
    await p.exec();
  }
}

/** The ids one change-stream entry names (its `ids` field, a JSON array). */
function loggedIds(fields: readonly string[]): string[] {
  const at = fields.indexOf('ids');
  return at >= 0 && at % 2 === 0 ? (JSON.parse(fields[at + 1]!) as string[]) : [];
}

interface StreamPosition {
  /** Last id generated ('0-0': none). */
  readonly last: string;
  /** Entries ever added (XINFO STREAM entries-added): the ones after a position are counted by it. */
  readonly added: number;
}

/**
 * A worker's in-memory copy of the registry, refreshed when the version counter moves: from the
 * change stream, only the entries written since the last refresh (HMGET); the whole hash only at
 * the first load, on `force`, or when the stream no longer reaches back to the last refresh (it
 * was trimmed past it, or the registry was written by a Lookout without the stream). A country's
 * registry (millions of entries) is then read whole once per worker start, not on every change.
 */
export class RegistryCache {
  private version = '';
  private byId = new Map<string, Entity>();
  private changes = 0;
  private checkedAt = -Infinity;
  /** The change stream's position this copy holds (undefined before the first load). */
  private log: StreamPosition | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    /** Minimum ms between version checks. */
    private readonly checkEveryMs = 0,
  ) {}

  /** The refresh running now, and the one that runs after it for everyone who asked meanwhile. */
  private running?: Promise<boolean>;
  private next?: { promise: Promise<boolean>; force: boolean };

  /**
   * Returns true when the registry changed. Throttled on the process's monotonic timer. One refresh
   * runs at a time: a caller that comes while one runs gets the next one, shared with every other
   * caller meanwhile (a worker holding many jobs, each refreshing, reads a change once, not once
   * per job), and that one starts after the call, so it sees every change made before it.
   */
  refresh(force = false): Promise<boolean> {
    if (!this.running) {
      const run = (this.running = this.load(force).finally(() => {
        if (this.running === run) this.running = undefined;
      }));
      return run;
    }
    if (this.next) {
      this.next.force ||= force;
      return this.next.promise;
    }
    const next = { force, promise: Promise.resolve(false) };
    next.promise = this.running
      .catch(() => false)
      .then(() => {
        this.next = undefined;
        return this.refresh(next.force);
      });
    this.next = next;
    return next.promise;
  }

  private async load(force: boolean): Promise<boolean> {
    const now = performance.now();
    if (!force && now - this.checkedAt < this.checkEveryMs) return false;
    this.checkedAt = now;
    const version = (await this.redis.get(this.keys.entitiesVersion)) ?? '0';
    if (version === this.version && !force) return false;
    if (!force && this.log && (await this.readChanges(this.log))) {
      this.version = version;
      return true;
    }
    // The stream's position first: a change written during the whole read is read again next time.
    const log = (await this.position()) ?? { last: '0-0', added: 0 };
    const all = await this.redis.hgetall(this.keys.entities);
    const next = new Map<string, Entity>();
    for (const [id, raw] of Object.entries(all)) next.set(id, JSON.parse(raw) as Entity);
    this.byId = next;
    this.changes++;
    this.version = version;
    this.log = log;
    return true;
  }

  /**
   * Applies the changes logged after `from`; false when the stream no longer holds all of them
   * (trimmed past it, or gone), or cannot tell (Redis before 7.0).
   */
  private async readChanges(from: StreamPosition): Promise<boolean> {
    const now = await this.position();
    if (!now) return false;
    const changed = new Set<string>();
    let after = from.last;
    let read = 0;
    // Up to the position just taken: what is added meanwhile is for the next refresh.
    while (read < now.added - from.added) {
      const entries = await this.redis.xrange(this.keys.entitiesLog, `(${after}`, now.last, 'COUNT', 100);
      if (!entries.length) break;
      for (const [id, fields] of entries) {
        after = id;
        read++;
        for (const e of loggedIds(fields)) changed.add(e);
      }
    }
    // Every entry added since `from` must have been read; fewer means some were trimmed.
    if (read !== now.added - from.added) return false;
    const ids = [...changed];
    for (let i = 0; i < ids.length; i += 1000) {
      const page = ids.slice(i, i + 1000);
      const raws = await this.redis.hmget(this.keys.entities, ...page);
      page.forEach((id, k) => {
        const raw = raws[k];
        if (raw) this.byId.set(id, JSON.parse(raw) as Entity);
        else this.byId.delete(id);
      });
    }
    // Raised once every change is in: a plan made from an entry while the pages were read is dropped.
    if (ids.length) this.changes++;
    this.log = now;
    return true;
  }

  /** The stream's last id and how many entries were ever added to it; undefined when it is missing or Redis cannot say. */
  private async position(): Promise<StreamPosition | undefined> {
    let info: unknown[];
    try {
      info = (await this.redis.call('XINFO', 'STREAM', this.keys.entitiesLog)) as unknown[];
    } catch (err) {
      // No stream: none written yet, or by a Lookout before it. Anything else is a real failure.
      if (/no such key/i.test((err as Error).message)) return undefined;
      throw err;
    }
    const field = (name: string) => {
      const at = info.indexOf(name);
      return at < 0 ? undefined : info[at + 1];
    };
    const last = field('last-generated-id');
    const added = field('entries-added'); // Redis 7.0 on
    return typeof last === 'string' && typeof added === 'number' ? { last, added } : undefined;
  }

  get(id: string): Entity | undefined {
    return this.byId.get(id);
  }

  /** Raised whenever an entry changes, is added or goes: what was derived from the entries before is stale. */
  get generation(): number {
    return this.changes;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  get size(): number {
    return this.byId.size;
  }
}
