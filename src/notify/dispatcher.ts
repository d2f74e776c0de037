// From intents to messages, through the stages in notify/stages/ (docs/notifications.md#the-stages):
// intake (mute → join group) when an escalation step or reminder names people, and the message
// pipeline (group → recipient → quiet hours → rate limit → render → record → send) when a group
// wait has passed or a digest falls due. This class takes groups and digests out of Redis and
// runs the pipelines over them.
// Every step is idempotent: intents are guarded per (alert episode, step, contact, channel), a
// group is taken into a processing key before it becomes records, records have stable ids.

import type { ChannelName } from '../route/types.js';
import { NotifyParts, type NotifyContext } from './context.js';
import type { DeferredIntent, FlushJob, Intent } from './intent.js';
import type { NotificationItem } from './records.js';
import { intakePipeline, messagePipeline } from './stages/pipelines.js';
import { recordMissing } from './stages/recipient.js';
import { QueueOutbox, RedisDigests, RedisSentSms, redisAckCodes } from './stages/redis-stores.js';
import { MessageMaker } from './stages/render.js';
import { batchOf, resultOf, type IntakeStage, type MessageStage } from './stages/stage.js';
import type { Outbox } from './stages/stores.js';

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

export class Dispatcher extends NotifyParts('redis', 'keys', 'clock', 'records', 'observer', 'logger') {
  /** Renders messages (the render stage's views and content; failover renders with it too). */
  readonly maker: MessageMaker;
  /** The channel queues messages are sent from. */
  readonly outbox: Outbox;
  private readonly intake: IntakeStage;
  private readonly message: MessageStage;

  constructor(context: NotifyContext) {
    super(context);
    const settings = () => context.policies().settings;
    this.maker = new MessageMaker({
      renderer: () => context.renderer(),
      ackCodes: redisAckCodes(context.redis, context.keys),
      clock: context.clock,
      entity: (id) => context.entity(id),
      ruleName: (id) => context.ruleName(id),
      complaintLead: (a, e) => context.complaintLead?.(a, e) ?? Promise.resolve(undefined),
      links: context.links,
      publicUrl: context.publicUrl,
    });
    this.outbox = new QueueOutbox(context.queues, () => settings().retry);
    this.intake = intakePipeline({ redis: context.redis, keys: context.keys, flushQueue: context.queues.dispatch, groupWaitMs: () => settings().groupWaitMs, records: context.records, observer: context.observer });
    this.message = messagePipeline({
      alerts: context.alerts,
      contact: (id) => context.recipients().contact(id),
      records: context.records,
      digests: new RedisDigests(context.redis, context.keys),
      sent: new RedisSentSms(context.redis, context.keys),
      outbox: this.outbox,
      maker: this.maker,
      settings,
      calendar: context.calendar,
      clock: context.clock,
      observer: context.observer,
      logger: context.logger,
    });
  }

  /** Add intents to their recipients' groups; each new group flushes after the group wait. */
  async add(intents: readonly Intent[]): Promise<void> {
    await this.intake.run({ now: this.clock.now() }, { intents });
  }

  /** A step named a role nobody fills for this alert: visible as a failed notification. */
  recordMissing(item: NotificationItem, ref: string, reason: string): Promise<void> {
    return recordMissing({ records: this.records, clock: this.clock, observer: this.observer, logger: this.logger }, item, ref, reason);
  }

  /** Muted by a silence or inhibition: recorded (visible), never sent. */
  async recordMuted(intents: readonly Intent[], reason: string): Promise<void> {
    await this.intake.run({ now: this.clock.now() }, { intents, muted: reason });
  }

  /** The group wait of one recipient and channel has passed: turn its intents into messages. */
  async flush(job: FlushJob): Promise<string> {
    const { redis, keys } = this;
    const processing = `${keys.group(job.contact, job.channel)}:taking:${job.window}`;
    const raw = (await redis.eval(TAKE_GROUP_LUA, 3, keys.group(job.contact, job.channel), keys.groupWindow(job.contact, job.channel), processing, job.window)) as string[];
    if (!raw.length) return 'nothing to flush';
    const out = await this.deliver(job.contact, job.channel, raw.map((r) => JSON.parse(r) as Intent), job.window, 'group');
    await redis.del(processing);
    return out;
  }

  /** Deferred digests whose time has come (quiet hours ended, rate-limit slot free). */
  async tick(now = this.clock.now()): Promise<number> {
    const { redis, keys } = this;
    let sent = 0;
    // Digests taken a minute ago and never finished (the process died): finish them now.
    const stuck = await redis.zrangebyscore(keys.digestTaken, '-inf', now - 60_000, 'LIMIT', 0, 100);
    for (const member of stuck) {
      const [contact, score] = member.split('\0') as [string, string];
      const raw = await redis.lrange(`${keys.digest(contact)}:taking:${score}`, 0, -1);
      if (raw.length) await this.sendDigest(contact, score, raw);
      else await redis.zrem(keys.digestTaken, member);
    }
    const due = await redis.zrangebyscore(keys.digestDue, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 200);
    for (let k = 0; k < due.length; k += 2) {
      const contact = due[k]!;
      const score = due[k + 1]!;
      const processing = `${keys.digest(contact)}:taking:${score}`;
      const raw = (await redis.eval(TAKE_DIGEST_LUA, 4, keys.digest(contact), keys.digestDue, processing, keys.digestTaken, contact, String(now), `${contact}\0${score}`)) as string[];
      if (!raw.length) continue;
      await this.sendDigest(contact, score, raw);
      sent++;
    }
    return sent;
  }

  /** Idempotent: the digest's records have stable ids, so finishing it twice sends it once. */
  private async sendDigest(contact: string, score: string, raw: readonly string[]): Promise<void> {
    const { redis, keys } = this;
    await this.deliver(contact, 'sms', raw.map((r) => JSON.parse(r) as DeferredIntent), `digest.${score}`, 'digest');
    await redis.pipeline().del(`${keys.digest(contact)}:taking:${score}`).zrem(keys.digestTaken, `${contact}\0${score}`).exec();
  }

  private async deliver(contactId: string, channel: ChannelName, intents: readonly DeferredIntent[], batch: string, origin: 'group' | 'digest'): Promise<string> {
    const m = { contactId, channel, batch, origin, now: this.clock.now() };
    return resultOf(await this.message.run(m, batchOf(intents)));
  }
}
