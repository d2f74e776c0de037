// Escalation state in Redis: per alert fingerprint the running chain (a hash: token, episode,
// chain snapshot, ack code, level, done.<step> …), its recent fires (flapping), who was told
// (contact → phone hash), the short SMS ack codes and each phone's latest alert.

import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';

const DAY_MS = 86_400_000;

// KEYS: fires zset. ARGV: now, window ms, member suffix. Returns the fires inside the window.
const FLAP_LUA = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1] .. '-' .. ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])`;

export class EscalationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  /** The chain state of an alert (empty when it has none). */
  state(fp: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.escalation(fp));
  }

  async token(fp: string): Promise<string | null> {
    return this.redis.hget(this.keys.escalation(fp), 'token');
  }

  /** The alert's SMS ack code, for the message text. */
  async of(fp: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.escalation(fp), 'ackCode')) ?? undefined;
  }

  /** Set fields of the chain state. */
  async set(fp: string, fields: Readonly<Record<string, string>>): Promise<void> {
    await this.redis.hset(this.keys.escalation(fp), fields);
  }

  /** Count one fire (member `<now>-<token>`) and return the fires inside the window. */
  async countFire(fp: string, now: number, windowMs: number, token: string): Promise<number> {
    return Number(await this.redis.eval(FLAP_LUA, 1, this.keys.flaps(fp), String(now), String(windowMs), token));
  }

  /** Replace the chain state in one transaction (kept 30 days); a new episode forgets who was told. */
  async start(fp: string, fields: Readonly<Record<string, string>>, forgetTold: boolean): Promise<void> {
    const { keys } = this;
    const p = this.redis.multi();
    if (forgetTold) p.del(keys.told(fp));
    p.del(keys.escalation(fp));
    p.hset(keys.escalation(fp), fields);
    p.pexpire(keys.escalation(fp), 30 * DAY_MS);
    await p.exec();
  }

  /** A step ran: the level reached and `done.<step>` (so the reconciler knows after its job is gone). */
  async stepDone(fp: string, level: number, step: number, at: number): Promise<void> {
    await this.redis.hset(this.keys.escalation(fp), 'level', String(level), `done.${step}`, String(at));
  }

  /** Reserve a short ack code for an alert (14 days); false when the code is taken. */
  async claimAckCode(code: string, fp: string): Promise<boolean> {
    return (await this.redis.set(this.keys.ackCode(code), fp, 'PX', 14 * DAY_MS, 'NX')) === 'OK';
  }

  async dropAckCode(code: string): Promise<void> {
    await this.redis.del(this.keys.ackCode(code));
  }

  /** The alert fingerprint an ack code stands for. */
  byAckCode(code: string): Promise<string | null> {
    return this.redis.get(this.keys.ackCode(code));
  }

  /** The latest alert sent to a phone (by the phone's hash). */
  lastAlertOf(phoneHash: string): Promise<string | null> {
    return this.redis.get(this.keys.phoneLast(phoneHash));
  }

  /** Who was told about an alert's episode: contact → phone hash ('' for email and webhook). */
  told(fp: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.told(fp));
  }

  /**
   * A contact was told about these alerts (30 days); by SMS (phoneHash set) the phone is recorded,
   * and `last` becomes the phone's latest alert (14 days) for a bare reply.
   */
  async rememberTold(alerts: readonly string[], contact: string, phoneHash: string, last: string | undefined): Promise<void> {
    const { keys } = this;
    const p = this.redis.pipeline();
    for (const alert of alerts) {
      if (phoneHash) p.hset(keys.told(alert), contact, phoneHash);
      else p.hsetnx(keys.told(alert), contact, '');
      p.pexpire(keys.told(alert), 30 * DAY_MS);
    }
    if (phoneHash && last !== undefined) p.set(keys.phoneLast(phoneHash), last, 'PX', 14 * DAY_MS);
    await p.exec();
  }
}
