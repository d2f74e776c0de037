// The message stages' state in Redis (the production side of stores.ts).

import type { Redis } from 'ioredis';
import type { Keyspace } from '../../state/keys.js';
import { jobOptions, type RetryPolicy } from '../../queues/job-options.js';
import type { ChannelName } from '../../route/types.js';
import type { NotifyQueues } from '../context.js';
import type { DeferredIntent, DeliveryJob } from '../intent.js';
import type { AckCodes, DigestStore, Outbox, SentSmsLog } from './stores.js';

const HOUR_MS = 3_600_000;

// KEYS: digest list, due zset. ARGV: contact, due, intents…  Due keeps the earliest.
const DEFER_LUA = `
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], 7 * 86400000)
local cur = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not cur or tonumber(cur) > tonumber(ARGV[2]) then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
return 1`;

export class RedisDigests implements DigestStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  async defer(contact: string, intents: readonly DeferredIntent[], due: number): Promise<void> {
    await this.redis.eval(DEFER_LUA, 2, this.keys.digest(contact), this.keys.digestDue, contact, String(due), ...intents.map((i) => JSON.stringify(i)));
  }
}

/** A zset per contact, member `<sent at>-<notification id>`, trimmed to the last hour. */
export class RedisSentSms implements SentSmsLog {
  constructor(
    private readonly redis: Redis,
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

/** One BullMQ queue per channel; the job id is the record id, so a message is queued once. */
export class QueueOutbox implements Outbox {
  constructor(
    private readonly queues: NotifyQueues,
    private readonly retry: () => RetryPolicy,
  ) {}

  async enqueue(channel: ChannelName, id: string): Promise<void> {
    await this.queues[channel].add('send', { id } satisfies DeliveryJob, jobOptions(id, this.retry()));
  }
}

export function redisAckCodes(redis: Redis, keys: Keyspace): AckCodes {
  return { of: async (fp) => (await redis.hget(keys.escalation(fp), 'ackCode')) ?? undefined };
}
