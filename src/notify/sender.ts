// The one send core every notification goes through — alerts, digests, resolve notices,
// reminders and reports (notify/delivery.ts) and broadcasts (duties/sender.ts): hand one
// recorded message to its channel, classify a failure, and write the outcome on the record,
// logged with the phone masked. What to do about a failure (hold the queue, retry in place,
// fail over) is the caller's policy.

import { Worker, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { Contact } from '../route/types.js';
import type { ChannelName } from '../domain/notification.js';
import { ChannelError, type Address, type Channel, type OutgoingMessage, type SendResult } from './channels/channel.js';
import type { NotifyObserver } from './context.js';
import { maskPhone } from './mask.js';
import type { NotificationRecord, NotificationRecords } from '../domain/notification.js';
import { pickFields } from '../domain/fields.js';

/** The longest a gateway outage holds a queue before the message is tried again. */
const MAX_HOLD_MS = 60_000;

export function address(c: Contact): Address {
  return { contact: c.id, name: c.name, phone: c.phone, email: c.email, webhook: c.webhook };
}

export type Attempt = { readonly ok: true; readonly res: SendResult } | { readonly ok: false; readonly error: ChannelError };

export interface SenderDeps {
  readonly records: NotificationRecords;
  readonly clock: Clock;
  readonly observer: NotifyObserver;
  readonly logger: Logger;
}

export class Sender extends pickFields<SenderDeps>()('records', 'clock', 'observer', 'logger') {
  /** One attempt; anything a channel throws that is not a ChannelError counts as a passing failure. */
  async attempt(channel: Channel, channelName: ChannelName, rec: NotificationRecord, contact: Contact, text = rec.text): Promise<Attempt> {
    const message: OutgoingMessage = { id: rec.id, channel: channelName, to: address(contact), subject: rec.subject, text, html: rec.html, ...(rec.attachments?.length && { attachments: rec.attachments }), data: rec.data };
    try {
      return { ok: true, res: await channel.send(message) };
    } catch (err) {
      return { ok: false, error: err instanceof ChannelError ? err : new ChannelError('retryable', 'error', (err as Error).message) };
    }
  }

  /** The channel took it: the record says `sent`; `then` runs before it is counted. Returns when. */
  async sent(rec: NotificationRecord, channelName: ChannelName, transport: string, res: SendResult, then?: (at: number) => Promise<void>): Promise<number> {
    const at = this.clock.now();
    await this.records.update(rec.id, { state: 'sent', attempts: rec.attempts + 1, providerIds: res.providerIds, segments: res.segments, transport, sentAt: at, error: undefined }, at);
    await then?.(at);
    this.observer.notification(channelName, 'sent');
    return at;
  }

  logSent(rec: NotificationRecord, contact: Contact, channelName: ChannelName, transport: string, extra: Readonly<Record<string, unknown>> = {}): void {
    this.logger.info(
      { notification: rec.id, channel: channelName, transport, contact: contact.id, to: channelName === 'sms' ? maskPhone(contact.phone) : undefined, ...extra, kind: rec.kind, attempt: rec.attempts + 1 },
      'notification sent',
    );
  }

  /** A passing failure: the attempt is counted and the error kept; the message stays to be sent. */
  async retrying(rec: NotificationRecord, e: ChannelError, patch: Partial<NotificationRecord> = {}): Promise<void> {
    await this.records.update(rec.id, { attempts: rec.attempts + 1, error: { code: e.code, message: e.message }, ...patch }, this.clock.now());
    this.observer.notification(rec.channel, 'retried');
  }

  /** The message will not go out: `failed` with why. */
  async failed(rec: NotificationRecord, code: string, message: string): Promise<string> {
    const now = this.clock.now();
    await this.records.update(rec.id, { state: 'failed', attempts: rec.attempts + 1, error: { code, message } }, now);
    this.observer.notification(rec.channel, 'failed');
    return `failed: ${code}`;
  }
}

/** How long the n-th failure in a row holds a queue: exponential from the policy's backoff, at most a minute. */
export function holdMs(backoffMs: number, n: number): number {
  return Math.min(MAX_HOLD_MS, backoffMs * 2 ** Math.min(n - 1, 10));
}

/** Hold the whole queue, this message first (it goes back to the head): later messages must not overtake it. */
export async function holdQueue(queue: Queue, ms: number): Promise<never> {
  await queue.rateLimit(ms);
  throw Worker.RateLimitError();
}
