// What the channel duties keep in Redis (under LOOKOUT_PREFIX, beside the core keyspace):
// broadcasts and their index, the weekly reminders sent, and the ack code and chain state a
// reminder keeps alive. Broadcast records are kept as JSON text; their shape belongs to
// src/duties/broadcast.ts.

import { randomInt } from 'node:crypto';
import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';

export function dutyKeys(prefix: string) {
  const p = prefix;
  return {
    /** Broadcasts: hash id → JSON BroadcastRecord, and an index by creation time (zset). */
    broadcasts: `${p}:bc`,
    broadcastsByTime: `${p}:bc:t`,
    /** The last weekly reminder sent per alert: hash fingerprint → `<episode>.<n>`. */
    reminded: `${p}:remind`,
  };
}

export type DutyKeys = ReturnType<typeof dutyKeys>;

export interface BroadcastStore {
  /** Store a new broadcast and index it by `createdAt`; false (nothing written) when the id is taken. */
  addBroadcast(id: string, json: string, createdAt: number): Promise<boolean>;
  /** Replace a stored broadcast. */
  putBroadcast(id: string, json: string): Promise<void>;
  broadcast(id: string): Promise<string | undefined>;
  /** Ids of the `limit` newest broadcasts, newest first. */
  recentBroadcasts(limit: number): Promise<string[]>;
  /** Forget broadcasts created at or before `before` (up to 1000 a call). */
  pruneBroadcasts(before: number): Promise<void>;
  /** The notification records (JSON) of these ids in one read, in order; null where there is none. */
  notificationRecords(ids: readonly string[]): Promise<(string | null)[]>;
}

export interface ReminderStore {
  /** The last reminder sent for an alert: its episode and number (0 and 0 when none was). */
  lastReminder(fingerprint: string): Promise<{ episode: number; reminder: number }>;
  setLastReminder(fingerprint: string, episode: number, reminder: number): Promise<void>;
  /** Forget the reminders of every alert not in `open`. */
  forgetReminders(open: ReadonlySet<string>): Promise<void>;
  /**
   * Keep the alert's ack code pointing at it (renewed, or a new one if it lapsed or was taken)
   * and its chain state alive, so a reply with the code still acknowledges.
   */
  keepAckCode(fingerprint: string): Promise<void>;
}

export type DutyStore = BroadcastStore & ReminderStore;

const DAY_MS = 86_400_000;
/** The notifier keeps ack codes 14 days and chain state 30 days from the chain's start; a reminder renews both. */
const ACK_CODE_TTL_MS = 14 * DAY_MS;
const CHAIN_TTL_MS = 30 * DAY_MS;

export class RedisDutyStore implements DutyStore {
  private readonly dk: DutyKeys;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {
    this.dk = dutyKeys(keys.prefix);
  }

  async addBroadcast(id: string, json: string, createdAt: number): Promise<boolean> {
    if (!(await this.redis.hsetnx(this.dk.broadcasts, id, json))) return false;
    await this.redis.zadd(this.dk.broadcastsByTime, createdAt, id);
    return true;
  }

  async putBroadcast(id: string, json: string): Promise<void> {
    await this.redis.hset(this.dk.broadcasts, id, json);
  }

  async broadcast(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.dk.broadcasts, id)) ?? undefined;
  }

  recentBroadcasts(limit: number): Promise<string[]> {
    return this.redis.zrevrange(this.dk.broadcastsByTime, 0, limit - 1);
  }

  async pruneBroadcasts(before: number): Promise<void> {
    const old = await this.redis.zrangebyscore(this.dk.broadcastsByTime, '-inf', before, 'LIMIT', 0, 1000);
    if (old.length) await this.redis.pipeline().hdel(this.dk.broadcasts, ...old).zrem(this.dk.broadcastsByTime, ...old).exec();
  }

  async notificationRecords(ids: readonly string[]): Promise<(string | null)[]> {
    return ids.length ? this.redis.hmget(this.keys.notifications, ...ids) : [];
  }

  async lastReminder(fingerprint: string): Promise<{ episode: number; reminder: number }> {
    const [episode, reminder] = ((await this.redis.hget(this.dk.reminded, fingerprint)) ?? '0.0').split('.').map(Number);
    return { episode: episode!, reminder: reminder ?? 0 };
  }

  async setLastReminder(fingerprint: string, episode: number, reminder: number): Promise<void> {
    await this.redis.hset(this.dk.reminded, fingerprint, `${episode}.${reminder}`);
  }

  async forgetReminders(open: ReadonlySet<string>): Promise<void> {
    const stale = (await this.redis.hkeys(this.dk.reminded)).filter((fp) => !open.has(fp));
    if (stale.length) await this.redis.hdel(this.dk.reminded, ...stale);
  }

  async keepAckCode(fp: string): Promise<void> {
    const { redis, keys } = this;
    const esc = keys.escalation(fp);
    const code = await redis.hget(esc, 'ackCode');
    if (code) {
      const owner = await redis.get(keys.ackCode(code));
      if (owner === fp) await redis.pexpire(keys.ackCode(code), ACK_CODE_TTL_MS);
      else if (owner !== null || (await redis.set(keys.ackCode(code), fp, 'PX', ACK_CODE_TTL_MS, 'NX')) !== 'OK') {
        for (let i = 0; i < 40; i++) {
          const fresh = String(i < 20 ? randomInt(1000, 10_000) : randomInt(100_000, 1_000_000));
          if ((await redis.set(keys.ackCode(fresh), fp, 'PX', ACK_CODE_TTL_MS, 'NX')) === 'OK') {
            await redis.hset(esc, 'ackCode', fresh);
            break;
          }
        }
      }
    }
    await redis.pipeline().pexpire(esc, CHAIN_TTL_MS).pexpire(keys.told(fp), CHAIN_TTL_MS).exec();
  }
}
