// Sends the broadcast queue's messages: one notification record per job (job id = record id),
// checked before every attempt so a retried job never sends twice. The queue has its own worker
// and rate limit (LOOKOUT_BROADCAST_RATE messages/second across all workers), so a province-wide
// broadcast neither floods the SMSC nor waits in front of alert SMS on `notify-sms`.
// A gateway that cannot be reached holds the queue in order (nothing is dropped); a passing
// failure is retried with backoff; a refused message fails at once. No failover to email.

import { Worker, type Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { maskPhone } from '../notify/mask.js';
import { ChannelError, type Channel, type ChannelName } from '../notify/channels/channel.js';
import type { NotifyObserver } from '../notify/context.js';
import { address } from '../notify/delivery.js';
import { isFinal, type NotificationRecord, type NotificationStore } from '../notify/records.js';
import type { Contact } from '../route/types.js';

export interface SenderDeps {
  readonly records: NotificationStore;
  readonly channels: Readonly<Record<ChannelName, Channel>>;
  readonly contact: (id: string) => Contact | undefined;
  readonly clock: Clock;
  readonly queue: Queue;
  readonly retry: () => { readonly attempts: number; readonly backoffMs: number };
  readonly observer: NotifyObserver;
  readonly logger: Logger;
}

const MAX_HOLD_MS = 60_000;

export class DutySender {
  constructor(private readonly d: SenderDeps) {}

  async process(job: Job<{ id: string }>): Promise<string> {
    const rec = await this.d.records.get(job.data.id);
    if (!rec) return 'no record';
    if (isFinal(rec)) return `already ${rec.state}`;
    const contact = this.d.contact(rec.contact);
    if (!contact) return this.fail(rec, 'no_recipient', `contact ${rec.contact} is no longer in contacts.csv`);
    const channel = this.d.channels[rec.channel];
    try {
      const res = await channel.send({ id: rec.id, channel: rec.channel, to: address(contact), subject: rec.subject, text: rec.text, html: rec.html });
      const at = this.d.clock.now();
      await this.d.records.update(rec.id, { state: 'sent', attempts: rec.attempts + 1, providerIds: res.providerIds, segments: res.segments, transport: channel.transport, sentAt: at, error: undefined }, at);
      this.d.observer.notification(rec.channel, 'sent');
      this.d.logger.info({ notification: rec.id, kind: rec.kind, channel: rec.channel, transport: channel.transport, contact: contact.id, to: rec.channel === 'sms' ? maskPhone(contact.phone) : undefined, attempt: rec.attempts + 1 }, 'notification sent');
      return `sent (${res.providerIds.join(',')})`;
    } catch (err) {
      const e = err instanceof ChannelError ? err : new ChannelError('retryable', 'error', (err as Error).message);
      return this.failure(job, rec, e);
    }
  }

  private async failure(job: Job<{ id: string }>, rec: NotificationRecord, e: ChannelError): Promise<string> {
    const now = this.d.clock.now();
    const attempts = rec.attempts + 1;
    if (e.kind === 'permanent') return this.fail(rec, 'send_failed', `${e.code}: ${e.message}`);
    if (e.kind === 'retryable' && job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) return this.fail(rec, 'send_failed', `${e.code}: ${e.message}`);
    await this.d.records.update(rec.id, { attempts, error: { code: e.code, message: e.message } }, now);
    this.d.observer.notification(rec.channel, 'retried');
    if (e.kind === 'unavailable') {
      // Hold the whole queue, this message first, until the gateway is back.
      const hold = Math.min(MAX_HOLD_MS, this.d.retry().backoffMs * 2 ** Math.min(attempts - 1, 10));
      this.d.logger.warn({ notification: rec.id, kind: rec.kind, holdMs: hold, err: e.message }, 'gateway unavailable: holding the broadcast queue');
      await this.d.queue.rateLimit(hold);
      throw Worker.RateLimitError();
    }
    this.d.logger.warn({ notification: rec.id, kind: rec.kind, attempt: attempts, code: e.code, err: e.message }, 'notification failed, will retry');
    throw e;
  }

  /** BullMQ gave up on the job (no attempt left, or stalled too often): a visible failed record. */
  async givenUp(job: Job<{ id: string }>, queue: string, reason: string): Promise<void> {
    const rec = await this.d.records.get(job.data.id);
    this.d.observer.jobFailed(queue);
    if (!rec || isFinal(rec)) return;
    await this.fail(rec, 'job_failed', `${queue} job ${job.id}: ${reason}`);
  }

  private async fail(rec: NotificationRecord, code: string, message: string): Promise<string> {
    const now = this.d.clock.now();
    await this.d.records.update(rec.id, { state: 'failed', attempts: rec.attempts + 1, error: { code, message } }, now);
    this.d.observer.notification(rec.channel, 'failed');
    this.d.logger.warn({ notification: rec.id, kind: rec.kind, contact: rec.contact, code, err: message }, 'notification failed');
    return `failed: ${code}`;
  }
}
