// What the scrape-time gauges read from Redis besides the alerts and queues: the round trip
// itself, how far each alert's escalation chain climbed, and the pipeline's backlog.

import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';

export interface StateProbe {
  /** One round trip (PING). */
  ping(): Promise<unknown>;
  /** The escalation step each alert's chain reached (0: none yet), in order, in one round trip. */
  escalationLevels(fingerprints: readonly string[]): Promise<number[]>;
}

export class RedisStateProbe implements StateProbe {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  ping(): Promise<unknown> {
    return this.redis.ping();
  }

  async escalationLevels(fingerprints: readonly string[]): Promise<number[]> {
    const p = this.redis.pipeline();
    for (const fp of fingerprints) p.hget(this.keys.escalation(fp), 'level');
    return ((await p.exec()) ?? []).map(([, v]) => Number(v ?? 0));
  }

  /** Entities waiting for evaluation, being evaluated, and alert events not yet relayed. */
  async backlog(): Promise<{ dirty: number; evaluating: number; outbox: number }> {
    const { redis, keys } = this;
    const [dirty, evaluating, outbox] = await Promise.all([redis.zcard(keys.dirty), redis.zcard(keys.evaluating), redis.xlen(keys.events)]);
    return { dirty, evaluating, outbox };
  }
}
