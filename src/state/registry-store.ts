// Entities in Redis: one hash of id → JSON, a version counter bumped on every change so workers
// refresh their in-memory copy cheaply, and a tally of samples for entities nobody registered.

import type { RedisClient } from './client.js';
import type { Entity } from '../domain/entity.js';
import type { Keyspace } from './keys.js';
import type { EntityFilter, RegistryStore } from './ports.js';

export function matchesFilter(e: Entity, f: EntityFilter = {}): boolean {
  return (!f.kind || e.kind === f.kind) && (!f.region || e.region === f.region) && (!f.district || e.district === f.district);
}

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

/** A worker's in-memory copy of the registry, reloaded when the version counter moves. */
export class RegistryCache {
  private version = '';
  private byId = new Map<string, Entity>();
  private checkedAt = -Infinity;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    /** Minimum ms between version checks. */
    private readonly checkEveryMs = 0,
  ) {}

  /** Returns true when the registry changed. Throttled on the process's monotonic timer. */
  async refresh(force = false): Promise<boolean> {
    const now = performance.now();
    if (!force && now - this.checkedAt < this.checkEveryMs) return false;
    this.checkedAt = now;
    const version = (await this.redis.get(this.keys.entitiesVersion)) ?? '0';
    if (version === this.version && !force) return false;
    const all = await this.redis.hgetall(this.keys.entities);
    const next = new Map<string, Entity>();
    for (const [id, raw] of Object.entries(all)) next.set(id, JSON.parse(raw) as Entity);
    this.byId = next;
    this.version = version;
    return true;
  }

  get(id: string): Entity | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  get size(): number {
    return this.byId.size;
  }
}
