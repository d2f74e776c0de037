// Send one recorded message through its channel, with the retry policy outside the channel:
// the record is checked before every attempt (a message already sent is never sent again),
// an unreachable gateway holds the whole channel queue in order (rate-limit, job back at the
// head), a passing failure retries with exponential backoff (an SMS in place, holding the
// channel, so that its order is kept too), and a message that cannot go out by SMS fails over
// to email. The attempt and its bookkeeping are sender.ts's (shared with broadcasts); this file
// is the channel queues' policy around it.

import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Contact } from '../route/types.js';
import type { ChannelName } from '../domain/notification.js';
import type { ChannelError } from './channels/channel.js';
import { NotifyParts, type NotifyContext } from './context.js';
import type { Dispatcher } from './dispatcher.js';
import type { DeliveryJob } from './intent.js';
import { KeptReceipts } from './receipts.js';
import { isFinal, type NotificationRecord } from '../domain/notification.js';
import { markRepeat } from './repeat-marker.js';
import { holdMs, holdQueue, Sender } from './sender.js';

/** Phones are compared by a hash of their national digits (SMS replies come as 86138…, +86138…, 138…). */
export function phoneHash(phone: string): string {
  let d = phone.replace(/\D/g, '');
  if (d.length === 13 && d.startsWith('86')) d = d.slice(2);
  return createHash('sha1').update(d).digest('hex').slice(0, 16);
}

export class Delivery extends NotifyParts('escalationState', 'sentSms', 'clock', 'alerts', 'records', 'queues', 'channels', 'policies', 'recipients', 'observer', 'logger') {
  private readonly sender: Sender;
  private readonly keptReceipts: KeptReceipts;

  constructor(
    context: NotifyContext,
    private readonly dispatcher: Dispatcher,
  ) {
    super(context);
    this.sender = new Sender(context);
    this.keptReceipts = new KeptReceipts(context);
  }

  async process(job: Job<DeliveryJob>, channelName: ChannelName): Promise<string> {
    const rec = await this.records.get(job.data.id);
    if (!rec) return 'no record';
    if (isFinal(rec)) return `already ${rec.state}`;
    const now = this.clock.now();
    if (rec.kind !== 'resolve' && rec.kind !== 'report' && !(await this.stillFiring(rec))) {
      await this.records.update(rec.id, { state: 'cancelled', reason: 'acknowledged or resolved before sending' }, now);
      this.observer.notification(channelName, 'cancelled');
      return 'cancelled: nothing left to tell';
    }
    const contact = this.recipients().contact(rec.contact);
    if (!contact) return this.fail(rec, 'no_recipient', `contact ${rec.contact} is no longer in contacts.csv`, false);
    const channel = this.channels[channelName];
    // Known before the phone can answer: a reply may beat our own bookkeeping after the send.
    await this.rememberTold(rec, contact);
    let text = rec.text;
    const resend = rec.state === 'sending';
    if (channelName === 'sms') {
      // The send window: from here until the gateway's answer is recorded, a crash leaves the
      // message's fate unknown. Such a message is sent again once, marked, and never a third time.
      if (resend && rec.resentAfterCrash) {
        await this.records.update(rec.id, { state: 'receipt_unknown', error: { code: 'fate_unknown', message: 'interrupted twice while being handed to the gateway: not sent a third time' } }, now);
        this.logger.warn({ notification: rec.id, contact: contact.id }, 'SMS interrupted twice while sending: not sent again');
        return 'fate unknown: not sent a third time';
      }
      // Marked too after a send that got no answer: the gateway may already have taken it.
      if (resend || rec.inDoubt) text = markRepeat(rec.text);
      await this.records.update(rec.id, { state: 'sending', sendingAt: now, text, ...(resend && { resentAfterCrash: true }) }, now);
    }
    const started = performance.now();
    const attempt = await this.sender.attempt(channel, channelName, rec, contact, text);
    if (!attempt.ok) return this.failure(job, rec, contact, channelName, attempt.error);
    const { res } = attempt;
    // After the attempt: a bookkeeping error after the gateway took the message is no send
    // failure; the job is retried and finds the record `sending` (a marked repeat).
    await this.sender.sent(rec, channelName, channel.transport, res, async (at) => {
      // SMS sent to a contact in the last hour, for the per-recipient limit.
      if (rec.channel === 'sms') await this.sentSms.add(contact.id, rec.id, at);
      await this.keptReceipts.apply(rec.id, res.providerIds);
    });
    if (!resend && rec.inDoubt && channelName === 'sms') {
      this.observer.notification(channelName, 'resent_in_doubt');
      this.logger.warn({ notification: rec.id, contact: contact.id }, 'SMS re-sent after a send that got no answer (marked as a repeat)');
    }
    if (resend && channelName === 'sms') {
      this.observer.notification(channelName, 'resent_after_crash');
      this.logger.warn({ notification: rec.id, contact: contact.id, alerts: rec.items.map((i) => i.alert).join(',') }, 'SMS re-sent after a crash hid its first send (marked as a repeat)');
    }
    this.observer.sendSeconds(channelName, (performance.now() - started) / 1000);
    this.sender.logSent(rec, contact, channelName, channel.transport, { alerts: rec.items.length });
    return `sent (${res.providerIds.join(',')})`;
  }

  private async stillFiring(rec: NotificationRecord): Promise<boolean> {
    for (const i of rec.items) {
      const a = await this.alerts.get(i.alert);
      if (a && a.episode === i.episode && a.state === 'firing') return true;
    }
    return false;
  }

  /** Who was told, for SMS replies (phone) and resolve notices. */
  private async rememberTold(rec: NotificationRecord, contact: Contact): Promise<void> {
    const ph = rec.channel === 'sms' && contact.phone ? phoneHash(contact.phone) : '';
    // A resolve notice tells nobody anything to acknowledge.
    const alerts = rec.kind === 'resolve' ? [] : rec.items.map((i) => i.alert);
    await this.escalationState.rememberTold(alerts, contact.id, ph, alerts[alerts.length - 1]);
  }

  private async failure(job: Job<DeliveryJob>, rec: NotificationRecord, contact: Contact, channelName: ChannelName, e: ChannelError): Promise<string> {
    const settings = this.policies().settings;
    const attempts = rec.attempts + 1;
    const canFailover = channelName === 'sms' && settings.failover !== null && this.failoverTarget(contact) !== undefined;
    const log = { notification: rec.id, channel: channelName, contact: contact.id, attempt: attempts, code: e.code, kind: e.kind };
    if (e.kind === 'permanent') {
      this.logger.warn({ ...log, err: e.message }, 'notification refused');
      return this.fail(rec, 'send_failed', `${e.code}: ${e.message}`, canFailover);
    }
    if (canFailover && attempts >= settings.failover!.after) {
      this.logger.warn({ ...log, err: e.message }, 'notification failing over');
      return this.fail(rec, e.kind === 'unavailable' ? 'gateway_unavailable' : 'send_failed', `${e.code}: ${e.message}`, true);
    }
    // SMS keep their order through passing failures too (throttled, the session dropped while the
    // message was in flight): the message is retried in place, so later ones cannot overtake it.
    const retries = (job.data.retries ?? 0) + 1;
    if (e.kind === 'retryable' && channelName === 'sms' && retries >= settings.retry.attempts) {
      return this.fail(rec, 'send_failed', `${e.code}: ${e.message}`, canFailover);
    }
    // Back to queued: no crash repeat. When the send went out unanswered the gateway may have it,
    // and the next attempt says so (inDoubt → 【重发】).
    await this.sender.retrying(rec, e, { state: 'queued', ...(e.inDoubt && channelName === 'sms' && { inDoubt: true }) });
    if (e.kind === 'unavailable' || channelName === 'sms') {
      // Hold the whole channel, this message first: later messages must not overtake it.
      const hold = holdMs(settings.retry.backoffMs, e.kind === 'unavailable' ? attempts : retries);
      if (e.kind === 'retryable') await job.updateData({ ...job.data, retries });
      this.logger.warn({ ...log, holdMs: hold, err: e.message }, e.kind === 'unavailable' ? 'gateway unavailable: holding the channel' : 'sms failed, retrying in place: holding the channel');
      return holdQueue(this.queues[channelName], hold);
    }
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      return this.fail(rec, 'send_failed', `${e.code}: ${e.message}`, false);
    }
    this.logger.warn({ ...log, err: e.message }, 'notification failed, will retry');
    throw e;
  }

  private failoverTarget(contact: Contact): ChannelName | undefined {
    const to = this.policies().settings.failover?.to;
    if (!to) return undefined;
    if (to === 'email' && contact.email) return 'email';
    if (to === 'webhook' && contact.webhook) return 'webhook';
    if (to === 'sms' && contact.phone) return 'sms';
    return undefined;
  }

  private async fail(rec: NotificationRecord, code: string, message: string, failover: boolean): Promise<string> {
    const out = await this.sender.failed(rec, code, message);
    if (!failover) return out;
    const now = this.clock.now();
    const contact = this.recipients().contact(rec.contact)!;
    const to = this.failoverTarget(contact)!;
    // The contact already gets this alert by email anyway: no second email.
    if (contact.channels.includes(to) && rec.kind !== 'digest') return `failed: ${code}; ${to} already sent on its own`;
    const alerts = [];
    for (const i of rec.items) {
      const a = await this.alerts.get(i.alert);
      if (a) alerts.push({ intent: { key: '', kind: rec.kind === 'resolve' ? ('resolve' as const) : ('alert' as const), contact: contact.id, channel: to, item: i, at: now }, alert: a });
    }
    const content = this.dispatcher.maker.content(to, rec.kind, await this.dispatcher.maker.views(alerts, contact), []);
    const id = `${rec.id}-fo`;
    await this.records.create({ ...rec, id, channel: to, state: 'queued', attempts: 0, error: undefined, ...content, providerIds: [], receipts: [], failoverOf: rec.id, createdAt: now, updatedAt: now });
    await this.dispatcher.outbox.enqueue(to, id);
    this.observer.notification(rec.channel, 'failover');
    this.logger.warn({ notification: rec.id, failover: id, to }, 'notification failed over');
    return `failed: ${code}; failed over to ${to} (${id})`;
  }
}
