// Sends the broadcast queue's messages: one notification record per job (job id = record id),
// checked before every attempt so a retried job never sends twice. The queue has its own worker
// and rate limit (LOOKOUT_BROADCAST_RATE messages/second across all workers), so a province-wide
// broadcast neither floods the SMSC nor waits in front of alert SMS on `notify-sms`.
// The send itself is notify/sender.ts's, as for alerts; the policy here is the broadcast's own:
// a gateway that cannot be reached holds the queue in order (nothing is dropped); a passing
// failure is retried with backoff; a refused message fails at once. No failover to email.

import type { Job, Queue } from 'bullmq';
import { pickFields } from '../domain/fields.js';
import type { Channel, ChannelError } from '../notify/channels/channel.js';
import type { ChannelName } from '../domain/notification.js';
import { holdMs, holdQueue, Sender, type SenderDeps } from '../notify/sender.js';
import { isFinal, type NotificationRecord } from '../domain/notification.js';
import type { Contact } from '../route/types.js';

export interface DutySenderDeps extends SenderDeps {
  readonly channels: Readonly<Record<ChannelName, Channel>>;
  readonly contact: (id: string) => Contact | undefined;
  readonly queue: Queue;
  readonly retry: () => { readonly attempts: number; readonly backoffMs: number };
}

export class DutySender extends pickFields<DutySenderDeps>()('records', 'contact', 'channels', 'retry', 'logger', 'queue', 'observer') {
  private readonly sender: Sender;

  constructor(d: DutySenderDeps) {
    super(d);
    this.sender = new Sender(d);
  }

  async process(job: Job<{ id: string }>): Promise<string> {
    const rec = await this.records.get(job.data.id);
    if (!rec) return 'no record';
    if (isFinal(rec)) return `already ${rec.state}`;
    const contact = this.contact(rec.contact);
    if (!contact) return this.fail(rec, 'no_recipient', `contact ${rec.contact} is no longer in contacts.csv`);
    const channel = this.channels[rec.channel];
    const attempt = await this.sender.attempt(channel, rec.channel, rec, contact);
    if (!attempt.ok) return this.failure(job, rec, attempt.error);
    await this.sender.sent(rec, rec.channel, channel.transport, attempt.res);
    this.sender.logSent(rec, contact, rec.channel, channel.transport);
    return `sent (${attempt.res.providerIds.join(',')})`;
  }

  private async failure(job: Job<{ id: string }>, rec: NotificationRecord, e: ChannelError): Promise<string> {
    const attempts = rec.attempts + 1;
    if (e.kind === 'permanent') return this.fail(rec, 'send_failed', `${e.code}: ${e.message}`);
    if (e.kind === 'retryable' && job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) return this.fail(rec, 'send_failed', `${e.code}: ${e.message}`);
    await this.sender.retrying(rec, e);
    if (e.kind === 'unavailable') {
      // Hold the whole queue, this message first, until the gateway is back.
      const hold = holdMs(this.retry().backoffMs, attempts);
      this.logger.warn({ notification: rec.id, kind: rec.kind, holdMs: hold, err: e.message }, 'gateway unavailable: holding the broadcast queue');
      return holdQueue(this.queue, hold);
    }
    this.logger.warn({ notification: rec.id, kind: rec.kind, attempt: attempts, code: e.code, err: e.message }, 'notification failed, will retry');
    throw e;
  }

  /** BullMQ gave up on the job (no attempt left, or stalled too often): a visible failed record. */
  async givenUp(job: Job<{ id: string }>, queue: string, reason: string): Promise<void> {
    const rec = await this.records.get(job.data.id);
    this.observer.jobFailed(queue);
    if (!rec || isFinal(rec)) return;
    await this.fail(rec, 'job_failed', `${queue} job ${job.id}: ${reason}`);
  }

  private async fail(rec: NotificationRecord, code: string, message: string): Promise<string> {
    const out = await this.sender.failed(rec, code, message);
    this.logger.warn({ notification: rec.id, kind: rec.kind, contact: rec.contact, code, err: message }, 'notification failed');
    return out;
  }
}
