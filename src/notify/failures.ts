// A job BullMQ gave up on (no attempt left, or stalled too often) breaks a promise to a person:
// it becomes a failed notification record for each contact it should have reached (visible at
// GET /api/v1/notifications?state=failed), is counted, and logged with the alert and contact.

import { createHash } from 'node:crypto';
import type { AlertEvent, AlertRecord } from '../domain/alert.js';
import { QUEUES } from '../queues/names.js';
import type { ChannelName } from '../domain/notification.js';
import { NotifyParts, type NotifyContext } from './context.js';
import type { DeliveryJob, FlushJob, Intent } from './intent.js';
import type { Escalator, StepJob } from './escalation.js';
import type { NotificationItem } from '../domain/notification.js';

export interface FailedJob {
  readonly id?: string;
  readonly data: unknown;
}

export const JOB_FAILED = 'job_failed';

function failureId(queue: string, job: string, contact: string, channel: string): string {
  return createHash('sha1').update(['jobfail', queue, job, contact, channel].join('\0')).digest('hex').slice(0, 20);
}

export class JobFailures extends NotifyParts('escalationState', 'batches', 'clock', 'alerts', 'records', 'observer', 'logger') {
  constructor(
    context: NotifyContext,
    private readonly escalator: Escalator,
  ) {
    super(context);
  }

  /** Idempotent per (queue, job): a job recorded once (by its worker or the reconciler) is not recorded again. */
  async record(queue: string, job: FailedJob, reason: string): Promise<number> {
    const jobId = job.id ?? '?';
    const seen = `${queue}:${jobId}`;
    if (await this.records.failedJobSeen(seen)) return 0;
    const n = await this.recordJob(queue, jobId, job.data, reason);
    // Marked after the records exist: a crash in between records again (same ids, nothing doubled).
    if (await this.records.markFailedJobSeen(seen, this.clock.now())) this.observer.jobFailed(queue);
    return n;
  }

  /** The failed records a given-up job of this queue owes; returns how many were written. */
  private async recordJob(queue: string, jobId: string, data: unknown, reason: string): Promise<number> {
    switch (queue) {
      case QUEUES.escalations: {
        const d = data as StepJob;
        const a = await this.alerts.get(d.fp);
        // An acknowledged, resolved or restarted chain owed nobody this step.
        const token = await this.escalationState.token(d.fp);
        return a?.state === 'firing' && token === d.token ? this.stepFailed(queue, jobId, a, d.step, reason) : 0;
      }
      case QUEUES.alertEvents: {
        const e = data as AlertEvent;
        if ((e.change !== 'fire' && e.change !== 'upgrade') || !e.alert.notify) return 0;
        return this.stepFailed(queue, jobId, e.alert, 0, reason);
      }
      case QUEUES.dispatch: {
        const d = data as FlushJob;
        const raw = await this.batches.groupIntents(d.contact, d.channel, d.window);
        const items = raw.map((r) => (JSON.parse(r) as Intent).item);
        return (await this.write(queue, jobId, d.contact, d.channel, items, reason)) ? 1 : 0;
      }
      default: {
        // Channel queues: the job id is the record's id.
        const d = data as DeliveryJob;
        const rec = d?.id ? await this.records.get(d.id) : undefined;
        // sending: the gateway may have taken it; the reconciler re-sends it once, marked.
        if (!rec || rec.state !== 'queued') return 0;
        await this.records.update(rec.id, { state: 'failed', error: { code: JOB_FAILED, message: reason } }, this.clock.now());
        this.observer.notification(rec.channel, 'failed');
        this.warn(queue, jobId, rec.items, rec.contact, rec.channel, reason);
        return 1;
      }
    }
  }

  private async stepFailed(queue: string, jobId: string, a: AlertRecord, step: number, reason: string): Promise<number> {
    const item: NotificationItem = { alert: a.id, episode: a.episode, step, severity: a.severity, rule: a.rule, entity: a.entity };
    const found = await this.escalator.chainOf(a);
    const { contacts } = found ? await this.escalator.recipientsOf(a, found.chain, step) : { contacts: [] };
    let n = 0;
    for (const contact of contacts) {
      for (const channel of contact.channels) if (await this.write(queue, jobId, contact.id, channel, [item], reason)) n++;
    }
    if (!contacts.length && (await this.write(queue, jobId, `step:${step + 1}`, 'sms', [item], reason))) n++;
    return n;
  }

  private async write(queue: string, jobId: string, contact: string, channel: ChannelName, items: readonly NotificationItem[], reason: string): Promise<boolean> {
    const now = this.clock.now();
    const { created } = await this.records.create({
      id: failureId(queue, jobId, contact, channel),
      channel,
      contact,
      kind: 'alert',
      items,
      state: 'failed',
      error: { code: JOB_FAILED, message: `${queue} job ${jobId}: ${reason}` },
      attempts: 0,
      text: '',
      providerIds: [],
      receipts: [],
      createdAt: now,
      updatedAt: now,
    });
    if (created) {
      this.observer.notification(channel, 'failed');
      this.warn(queue, jobId, items, contact, channel, reason);
    }
    return created;
  }

  private warn(queue: string, job: string, items: readonly NotificationItem[], contact: string, channel: string, reason: string): void {
    this.logger.warn({ queue, job, alert: items.map((i) => i.alert).join(',') || undefined, contact, channel, err: reason }, 'notification failed: its job was given up');
  }
}
