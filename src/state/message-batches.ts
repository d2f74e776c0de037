// The notifier's batches in Redis: a recipient's open group per channel (intents inside the group
// wait), deferred SMS digests per contact with their due times, and the SMS sent per contact for
// the per-hour limit. A group or digest is taken into a processing key before it becomes records,
// so a crash in between finds it again.

import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';

const HOUR_MS = 3_600_000;

// KEYS: intent guard, group list, window marker. ARGV: intent JSON, new window id, ttl ms.
// Returns the open window id; an intent already added (a retried step) is not added again.
const ADD_INTENT_LUA = `
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[3], 'NX') then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3], 'NX')
return redis.call('GET', KEYS[3])`;

// KEYS: group list, window marker, processing key. ARGV: window id.
// Moves the group into the processing key (once) and returns what it holds.
const TAKE_GROUP_LUA = `
if redis.call('EXISTS', KEYS[3]) == 0 then
  if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {} end
  redis.call('DEL', KEYS[2])
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[3])
  redis.call('PEXPIRE', KEYS[3], 86400000)
end
return redis.call('LRANGE', KEYS[3], 0, -1)`;

// KEYS: digest list, due zset. ARGV: contact, due, intents…  Due keeps the earliest.
const DEFER_LUA = `
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], 7 * 86400000)
local cur = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not cur or tonumber(cur) > tonumber(ARGV[2]) then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
return 1`;

// KEYS: digest list, due zset, processing key, taken zset. ARGV: contact, now, taken member.
// A taken digest is remembered until it became records, so a crash in between retries it.
export const TAKE_DIGEST_LUA = `
if redis.call('EXISTS', KEYS[3]) == 0 then
  local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if not due or tonumber(due) > tonumber(ARGV[2]) then return {} end
  redis.call('ZREM', KEYS[2], ARGV[1])
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[3])
  redis.call('PEXPIRE', KEYS[3], 7 * 86400000)
  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
end
return redis.call('LRANGE', KEYS[3], 0, -1)`;

/** What identifies an intent in its group: its guard key, recipient and channel. */
export interface GroupedIntent {
  readonly key: string;
  readonly contact: string;
  readonly channel: string;
}

/** A contact's digest, by the due time it was taken at (the member of the taken zset is `<contact>\0<due>`). */
export interface DigestRef {
  readonly contact: string;
  readonly score: string;
}

export class MessageBatches {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  /** Add an intent (once per guard key) to its recipient's open group; returns the open window id (`newWindow` when none was open). */
  async join(intent: GroupedIntent, newWindow: string, ttlMs: number): Promise<string> {
    const { keys } = this;
    return String(await this.redis.eval(ADD_INTENT_LUA, 3, keys.intent(intent.key), keys.group(intent.contact, intent.channel), keys.groupWindow(intent.contact, intent.channel), JSON.stringify(intent), newWindow, String(ttlMs)));
  }

  /** Take the group of this window into its processing key (once) and return its intents (JSON). */
  async takeGroup(contact: string, channel: string, window: string): Promise<string[]> {
    const { keys } = this;
    return (await this.redis.eval(TAKE_GROUP_LUA, 3, keys.group(contact, channel), keys.groupWindow(contact, channel), this.groupTaking(contact, channel, window), window)) as string[];
  }

  /** The taken group became records. */
  async finishGroup(contact: string, channel: string, window: string): Promise<void> {
    await this.redis.del(this.groupTaking(contact, channel, window));
  }

  /** What a group holds: the taken window if it was taken, else the open group. */
  async groupIntents(contact: string, channel: string, window: string): Promise<string[]> {
    const taking = await this.redis.lrange(this.groupTaking(contact, channel, window), 0, -1);
    return taking.length ? taking : this.redis.lrange(this.keys.group(contact, channel), 0, -1);
  }

  /** Append to the contact's digest; its due time keeps the earliest asked for. */
  async defer(contact: string, intents: readonly unknown[], due: number): Promise<void> {
    await this.redis.eval(DEFER_LUA, 2, this.keys.digest(contact), this.keys.digestDue, contact, String(due), ...intents.map((i) => JSON.stringify(i)));
  }

  /** Digests taken at or before `before` and not finished (the process died in between). */
  async stuckDigests(before: number): Promise<DigestRef[]> {
    const members = await this.redis.zrangebyscore(this.keys.digestTaken, '-inf', before, 'LIMIT', 0, 100);
    return members.map((m) => {
      const [contact, score] = m.split('\0') as [string, string];
      return { contact, score };
    });
  }

  /** The intents (JSON) of a taken digest; empty when it is gone. */
  takenDigest(d: DigestRef): Promise<string[]> {
    return this.redis.lrange(this.digestTaking(d), 0, -1);
  }

  /** Forget a taken digest whose processing key is gone. */
  async forgetTaken(d: DigestRef): Promise<void> {
    await this.redis.zrem(this.keys.digestTaken, takenMember(d));
  }

  /** Contacts whose digest is due at `now`, with the due time. */
  async dueDigests(now: number): Promise<DigestRef[]> {
    const due = await this.redis.zrangebyscore(this.keys.digestDue, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 200);
    const out: DigestRef[] = [];
    for (let k = 0; k < due.length; k += 2) out.push({ contact: due[k]!, score: due[k + 1]! });
    return out;
  }

  /** Take a due digest into its processing key (once) and return its intents (JSON). */
  async takeDigest(d: DigestRef, now: number): Promise<string[]> {
    const { keys } = this;
    return (await this.redis.eval(TAKE_DIGEST_LUA, 4, keys.digest(d.contact), keys.digestDue, this.digestTaking(d), keys.digestTaken, d.contact, String(now), takenMember(d))) as string[];
  }

  /** The taken digest became records. */
  async finishDigest(d: DigestRef): Promise<void> {
    await this.redis.pipeline().del(this.digestTaking(d)).zrem(this.keys.digestTaken, takenMember(d)).exec();
  }

  private groupTaking(contact: string, channel: string, window: string): string {
    return `${this.keys.group(contact, channel)}:taking:${window}`;
  }

  private digestTaking(d: DigestRef): string {
    return `${this.keys.digest(d.contact)}:taking:${d.score}`;
  }
}

function takenMember(d: DigestRef): string {
  return `${d.contact}\0${d.score}`;
}

/** SMS sent per contact for the per-hour limit: a zset, member `<sent at>-<notification id>`, trimmed to the last hour. */
export class RedisSentSms {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  async since(contact: string, from: number): Promise<number[]> {
    const sent = await this.redis.zrangebyscore(this.keys.smsSent(contact), from, '+inf');
    return sent.map((s) => Number(s.split('-')[0]));
  }

  async add(contact: string, notification: string, at: number): Promise<void> {
    const key = this.keys.smsSent(contact);
    await this.redis.pipeline().zadd(key, at, `${at}-${notification}`).zremrangebyscore(key, '-inf', at - HOUR_MS).pexpire(key, 2 * HOUR_MS).exec();
  }
}
