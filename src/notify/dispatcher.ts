// From intents to messages: group a recipient's alerts inside the group wait into one message,
// defer non-critical SMS in quiet hours into a morning digest, cap SMS per recipient per hour
// (overflow into a digest), render, record, and queue the message for its channel.
// Every step is idempotent: intents are guarded per (alert episode, step, contact, channel), a
// group is taken into a processing key before it becomes records, records have stable ids.

import { createHash, randomUUID } from 'node:crypto';
import type { AlertRecord } from '../domain/alert.js';
import type { Severity } from '../domain/rule.js';
import { jobOptions } from '../queues/job-options.js';
import type { ChannelName, Contact } from '../route/types.js';
import { signAckLink, ackUrl } from './ack-link.js';
import { consoleHome, consoleLink } from './links.js';
import { jobIdPart, type NotifyContext } from './context.js';
import type { NotificationItem, NotificationKind, NotificationRecord } from './records.js';
import type { AlertView } from './render.js';

/** One (alert episode, step, contact, channel) that should hear about an alert. */
export interface Intent {
  /** Dedup key: `<fp>.<episode>.<step>.<contact>.<channel>`. */
  readonly key: string;
  readonly kind: 'alert' | 'resolve';
  readonly contact: string;
  readonly channel: ChannelName;
  readonly item: NotificationItem;
  readonly at: number;
}

export interface FlushJob {
  readonly contact: string;
  readonly channel: ChannelName;
  readonly window: string;
}

export interface DeliveryJob {
  readonly id: string;
  /** SMS only: passing failures so far (retried in place, see Delivery). */
  readonly retries?: number;
}

const DAY_MS = 86_400_000;
/** A group flush retries on its own schedule, whatever the policies say about messages. */
const FLUSH_RETRY = { attempts: 10, backoffMs: 1000 };

// KEYS: intent guard, group list, window marker. ARGV: intent JSON, new window id, ttl ms.
// Returns the open window id, or '' when the intent was already added (a retried step).
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

// KEYS: digest list, due zset. ARGV: contact, due, intents…  Due keeps the earliest.
const DEFER_LUA = `
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], 7 * 86400000)
local cur = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not cur or tonumber(cur) > tonumber(ARGV[2]) then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
return 1`;

/** The fields of a record that carries no message (missing recipient, muted, deferred, skipped). */
function unsent(now: number) {
  return { attempts: 0, text: '', providerIds: [] as string[], receipts: [], createdAt: now, updatedAt: now };
}

function shortId(...parts: string[]): string {
  return createHash('sha1').update(parts.join('\0')).digest('hex').slice(0, 20);
}

export class Dispatcher {
  constructor(private readonly c: NotifyContext) {}

  /** Add intents to their recipients' groups; each new group flushes after the group wait. */
  async add(intents: readonly Intent[]): Promise<void> {
    const { redis, keys } = this.c;
    const wait = this.c.policies().settings.groupWaitMs;
    for (const i of intents) {
      const window = String(
        await redis.eval(
          ADD_INTENT_LUA,
          3,
          keys.intent(i.key),
          keys.group(i.contact, i.channel),
          keys.groupWindow(i.contact, i.channel),
          JSON.stringify(i),
          randomUUID(),
          String(7 * DAY_MS),
        ),
      );
      // Adding the flush job again for the same window is a no-op (deterministic id).
      await this.c.queues.dispatch.add(
        'flush',
        { contact: i.contact, channel: i.channel, window } satisfies FlushJob,
        jobOptions(jobIdPart(`flush.${i.channel}.${i.contact}.${window}`), FLUSH_RETRY, { delayMs: wait, keepCompletedDays: 1 }),
      );
    }
  }

  /** A step named a role nobody fills for this alert: visible as a failed notification. */
  async recordMissing(item: NotificationItem, ref: string, reason: string): Promise<void> {
    const now = this.c.clock.now();
    const { created } = await this.c.records.create({
      id: shortId('missing', item.alert, String(item.episode), String(item.step), ref),
      channel: 'sms',
      contact: ref,
      kind: 'alert',
      items: [item],
      state: 'failed',
      error: { code: 'no_recipient', message: `${ref}: ${reason}` },
      ...unsent(now),
    });
    if (created) {
      this.c.observer.notification('none', 'no_recipient');
      this.c.logger.error({ alert: item.alert, rule: item.rule, entity: item.entity, ref, reason }, 'escalation step has no recipient for a role');
    }
  }

  /** Muted by a silence or inhibition: recorded (visible), never sent. */
  async recordMuted(intents: readonly Intent[], reason: string): Promise<void> {
    const now = this.c.clock.now();
    for (const i of intents) {
      const { created } = await this.c.records.create({
        id: shortId('muted', i.key),
        channel: i.channel,
        contact: i.contact,
        kind: i.kind,
        items: [i.item],
        state: 'muted',
        reason,
        ...unsent(now),
      });
      if (created) this.c.observer.notification(i.channel, 'muted');
    }
  }

  /** The group wait of one recipient and channel has passed: turn its intents into messages. */
  async flush(job: FlushJob): Promise<string> {
    const { redis, keys } = this.c;
    const processing = `${keys.group(job.contact, job.channel)}:taking:${job.window}`;
    const raw = (await redis.eval(TAKE_GROUP_LUA, 3, keys.group(job.contact, job.channel), keys.groupWindow(job.contact, job.channel), processing, job.window)) as string[];
    if (!raw.length) return 'nothing to flush';
    const intents = raw.map((r) => JSON.parse(r) as Intent);
    if (intents.length > 1) this.c.observer.notification(job.channel, 'grouped', intents.length);
    const out = await this.deliver(job.contact, job.channel, intents, job.window, 'group');
    await redis.del(processing);
    return out;
  }

  /** Deferred digests whose time has come (quiet hours ended, rate-limit slot free). */
  async tick(now = this.c.clock.now()): Promise<number> {
    const { redis, keys } = this.c;
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
    const { redis, keys } = this.c;
    const intents = raw.map((r) => JSON.parse(r) as Intent & { reason?: string });
    await this.deliver(contact, 'sms', intents, `digest.${score}`, 'digest');
    await redis.pipeline().del(`${keys.digest(contact)}:taking:${score}`).zrem(keys.digestTaken, `${contact}\0${score}`).exec();
  }

  private inQuietHours(now: number): { until: number } | undefined {
    const q = this.c.policies().settings.quietHours;
    if (!q) return undefined;
    const cal = this.c.calendar;
    const day = cal.dayOf(now);
    const minute = Math.floor((now - cal.startOfDay(day)) / 60_000);
    const wraps = q.startMinute > q.endMinute;
    const inside = wraps ? minute >= q.startMinute || minute < q.endMinute : minute >= q.startMinute && minute < q.endMinute;
    if (!inside) return undefined;
    const endDay = wraps && minute >= q.startMinute ? day + 1 : day;
    return { until: cal.startOfDay(endDay) + q.endMinute * 60_000 };
  }

  private async defer(contact: string, intents: readonly Intent[], due: number, reason: string, batch: string): Promise<void> {
    const { redis, keys } = this.c;
    await redis.eval(DEFER_LUA, 2, keys.digest(contact), keys.digestDue, contact, String(due), ...intents.map((i) => JSON.stringify({ ...i, reason })));
    const now = this.c.clock.now();
    const { created } = await this.c.records.create({
      id: shortId('deferred', contact, batch, reason),
      channel: 'sms',
      contact,
      kind: 'alert',
      items: intents.map((i) => i.item),
      state: 'deferred',
      reason,
      ...unsent(now),
    });
    if (created) this.c.observer.notification('sms', 'deferred', intents.length);
  }

  /** Resolve notices that fell in quiet hours: recorded (cancelled), not sent by SMS. */
  private async recordQuietResolves(contact: string, intents: readonly Intent[], batch: string): Promise<void> {
    const now = this.c.clock.now();
    const { created } = await this.c.records.create({
      id: shortId('quiet-resolve', contact, batch),
      channel: 'sms',
      contact,
      kind: 'resolve',
      items: intents.map((i) => i.item),
      state: 'cancelled',
      reason: 'quiet_hours',
      ...unsent(now),
    });
    if (created) this.c.observer.notification('sms', 'cancelled', intents.length);
  }

  /** Still worth sending: alert notices only while their alert episode is firing. */
  private async live(intents: readonly Intent[]): Promise<{ intent: Intent; alert: AlertRecord }[]> {
    const out: { intent: Intent; alert: AlertRecord }[] = [];
    const seen = new Set<string>();
    for (const i of intents) {
      const a = await this.c.alerts.get(i.item.alert);
      if (!a || a.episode !== i.item.episode) continue;
      if (i.kind === 'alert' && a.state !== 'firing') continue;
      // The same alert twice in one message (two steps inside one wait): keep the latest step.
      const k = `${i.kind}.${i.item.alert}`;
      if (seen.has(k)) {
        const at = out.findIndex((o) => `${o.intent.kind}.${o.intent.item.alert}` === k);
        if (i.item.step > out[at]!.intent.item.step) out[at] = { intent: i, alert: a };
        continue;
      }
      seen.add(k);
      out.push({ intent: i, alert: a });
    }
    return out;
  }

  private async deliver(contactId: string, channel: ChannelName, intents: readonly Intent[], batch: string, origin: 'group' | 'digest'): Promise<string> {
    const now = this.c.clock.now();
    const contact = this.c.recipients().contact(contactId);
    // A digest lists what still needs attention; the night's resolve notices are not worth an SMS.
    const live = await this.live(origin === 'digest' ? intents.filter((i) => i.kind === 'alert') : intents);
    const dropped = intents.length - live.length;
    if (dropped) this.c.observer.notification(channel, 'cancelled', dropped);
    if (!live.length) return 'every alert was acknowledged or resolved meanwhile';
    if (!contact) {
      for (const l of live) await this.recordMissing(l.intent.item, `contact:${contactId}`, 'the contact is no longer in contacts.csv');
      return `contact ${contactId} is gone`;
    }

    let now_ = live;
    const parts: string[] = [];
    if (channel === 'sms') {
      const settings = this.c.policies().settings;
      // Digests too: a rate-limit digest that falls due at night must not carry the night's warnings.
      const quiet = this.inQuietHours(now);
      if (quiet) {
        const except = settings.quietHours?.except ?? [];
        // Resolve notices are not worth waking anybody for, and stale by morning: not sent by SMS.
        const resolves = now_.filter((l) => l.intent.kind === 'resolve');
        if (resolves.length) {
          await this.recordQuietResolves(contactId, resolves.map((l) => l.intent), batch);
          parts.push(`${resolves.length} resolve notice(s) not sent in quiet hours`);
        }
        const later = now_.filter((l) => l.intent.kind === 'alert' && !except.includes(l.intent.item.severity));
        now_ = now_.filter((l) => l.intent.kind === 'alert' && except.includes(l.intent.item.severity));
        if (later.length) {
          await this.defer(contactId, later.map((l) => l.intent), quiet.until, 'quiet_hours', batch);
          parts.push(`${later.length} deferred to ${this.c.calendar.formatLocal(quiet.until).slice(0, 16)}`);
        }
      }
      if (origin === 'group' && now_.length) {
        const windowStart = now - 3_600_000;
        const sent = await this.c.redis.zrangebyscore(this.c.keys.smsSent(contactId), windowStart, '+inf');
        if (sent.length >= settings.smsPerHour) {
          const oldest = Math.min(...sent.map((s) => Number(s.split('-')[0])));
          await this.defer(contactId, now_.map((l) => l.intent), oldest + 3_600_000, 'rate_limit', batch);
          parts.push(`${now_.length} over the SMS limit, into a digest`);
          now_ = [];
        }
      }
    }

    for (const kind of ['alert', 'resolve'] as const) {
      const these = now_.filter((l) => l.intent.kind === kind);
      if (!these.length) continue;
      const msgKind: NotificationKind = origin === 'digest' ? 'digest' : kind;
      const id = shortId(contactId, channel, batch, kind);
      const views = await this.views(these, contact);
      const content = this.render(channel, msgKind, views, these.map((l) => l.intent) as readonly (Intent & { reason?: string })[]);
      const record: NotificationRecord = {
        id,
        channel,
        contact: contactId,
        kind: msgKind,
        items: these.map((l) => l.intent.item),
        state: 'queued',
        attempts: 0,
        ...content,
        providerIds: [],
        receipts: [],
        createdAt: now,
        updatedAt: now,
      };
      await this.c.records.create(record);
      await this.enqueue(channel, id);
      parts.push(`${these.length} ${kind} notice(s) → ${channel} ${id}`);
    }
    return parts.join('; ') || 'nothing sent';
  }

  async enqueue(channel: ChannelName, id: string): Promise<void> {
    await this.c.queues[channel].add('send', { id } satisfies DeliveryJob, jobOptions(id, this.c.policies().settings.retry));
  }

  async views(these: readonly { intent: Intent; alert: AlertRecord }[], contact: Contact): Promise<AlertView[]> {
    const out: AlertView[] = [];
    for (const { intent, alert } of these) {
      const ackCode = (await this.c.redis.hget(this.c.keys.escalation(alert.fingerprint), 'ackCode')) ?? undefined;
      const links = this.c.links;
      const url =
        links && intent.kind === 'alert'
          ? ackUrl(links.publicUrl, signAckLink(links.secret, { alert: alert.id, episode: alert.episode, contact: contact.id, exp: this.c.clock.now() + links.ttlMs }))
          : undefined;
      const entity = this.c.entity(alert.entity);
      // Campaign complaint alerts say which department leads (complaint routing).
      const lead = intent.kind === 'alert' ? await this.c.complaintLead?.(alert, entity) : undefined;
      out.push({
        alert,
        entity,
        ...(lead && { lead: lead.text, leadDept: lead.dept }),
        ruleName: this.c.ruleName(alert.rule),
        level: intent.item.step + 1,
        ackCode: intent.kind === 'alert' ? ackCode : undefined,
        ackUrl: url,
        ...(this.c.publicUrl && { consoleUrl: consoleLink(this.c.publicUrl, alert.id) }),
        durationMs: alert.resolvedAt && alert.firingAt ? alert.resolvedAt - alert.firingAt : undefined,
      });
    }
    return out;
  }

  render(
    channel: ChannelName,
    kind: NotificationKind,
    views: readonly AlertView[],
    intents: readonly (Intent & { reason?: string })[],
  ): Pick<NotificationRecord, 'subject' | 'text' | 'html' | 'data'> {
    const r = this.c.renderer();
    const resolve = kind === 'resolve';
    if (channel === 'sms') {
      const links = this.c.publicUrl ? { consoleHome: consoleHome(this.c.publicUrl) } : {};
      if (kind === 'digest') return { text: r.smsDigest(views, intents.some((i) => i.reason === 'rate_limit') ? 'rate_limit' : 'quiet_hours', links) };
      return { text: resolve ? r.smsResolve(views) : r.smsAlert(views, links) };
    }
    if (channel === 'email') return resolve ? r.emailResolve(views) : r.emailAlert(views);
    const w = r.webhookAlert(views);
    return { subject: w.subject, text: w.text, data: w.data };
  }

  /** Severity of the most severe item. */
  static top(items: readonly NotificationItem[]): Severity {
    return items.some((i) => i.severity === 'critical') ? 'critical' : items.some((i) => i.severity === 'warning') ? 'warning' : 'info';
  }
}
