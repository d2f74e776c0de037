// The notify reconciler: a periodic pass (and one at start-up) that compares what should have
// happened by now with what the records and queues show, and repairs or reports the difference:
// a due escalation step with neither a job nor a run is enqueued again (same job id: never
// twice); a job BullMQ gave up on becomes a failed notification; an SMS left `sending` by a crash
// is sent again once, marked; kept receipts are applied; an SMS with no receipt in time is
// marked receipt_unknown. Every repair is idempotent, so several workers may run it at once.

import type { Queue } from 'bullmq';
import { NotifyParts, type NotifyContext } from './context.js';
import type { DeliveryJob } from './intent.js';
import type { ChainSnapshot, Escalator } from './escalation.js';
import type { JobFailures } from './failures.js';
import { KeptReceipts } from './receipts.js';
import { jobOptions } from '../queues/job-options.js';

export interface ReconcilerOptions {
  /** A record `sending` this long, with no job left to finish it, is re-sent (once, marked). */
  readonly sendingTimeoutMs: number;
  /** A sent SMS with no delivery receipt after this long becomes receipt_unknown. */
  readonly receiptTimeoutMs: number;
}

export interface ReconcileReport {
  readonly steps: number;
  readonly failedJobs: number;
  readonly resent: number;
  readonly receipts: number;
  readonly receiptUnknown: number;
}

/** Chains older than job retention (7 days) may have lost their completed jobs: not judged by job presence. */
const STEP_HORIZON_MS = 6 * 86_400_000;
const PENDING = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

export class Reconciler extends NotifyParts('escalationState', 'clock', 'alerts', 'records', 'queues', 'policies', 'observer', 'logger') {
  private readonly keptReceipts: KeptReceipts;

  constructor(
    context: NotifyContext,
    private readonly escalator: Escalator,
    private readonly failures: JobFailures,
    private readonly opts: ReconcilerOptions,
  ) {
    super(context);
    this.keptReceipts = new KeptReceipts(context);
  }

  async run(now = this.clock.now()): Promise<ReconcileReport> {
    const steps = await this.steps(now);
    const failedJobs = await this.failedJobs();
    const resent = await this.sending(now);
    const { applied } = await this.keptReceipts.sweep();
    for (let i = 0; i < applied; i++) this.observer.repair('receipt');
    const receiptUnknown = await this.receiptTimeouts(now);
    return { steps, failedJobs, resent, receipts: applied, receiptUnknown };
  }

  /** Due steps of firing alerts' live chains that neither ran nor wait in the queue. */
  private async steps(now: number): Promise<number> {
    let repaired = 0;
    for (const a of await this.alerts.listOpen()) {
      if (a.state !== 'firing' || !a.notify) continue;
      const esc = await this.escalationState.state(a.fingerprint);
      if (!esc.token || esc.episode !== String(a.episode) || !esc.chain) continue;
      let chain: ChainSnapshot;
      try {
        chain = JSON.parse(esc.chain) as ChainSnapshot;
      } catch {
        continue;
      }
      const startedAt = Number(esc.startedAt);
      for (const [i, step] of chain.steps.entries()) {
        const due = startedAt + step.afterMs;
        if (due > now || due < now - STEP_HORIZON_MS || esc[`done.${i}`]) continue;
        if (await this.queues.escalations.getJob(this.escalator.stepJobId(a.fingerprint, esc.token, i))) continue;
        await this.escalator.enqueueStep(a.fingerprint, esc.token, i);
        this.observer.repair('step');
        this.logger.warn({ alert: a.id, step: i + 1, due: new Date(due).toISOString() }, 'reconciler: a due escalation step had no job: enqueued again');
        repaired++;
      }
    }
    return repaired;
  }

  /** Failed sets of the notify queues: anything no worker turned into a failed notification yet. */
  private async failedJobs(): Promise<number> {
    const { escalations, dispatch, sms, email, webhook } = this.queues;
    let n = 0;
    for (const q of [escalations, dispatch, sms, email, webhook] as Queue[]) {
      for (const job of await q.getFailed(0, 499)) {
        if (!job) continue;
        if ((await this.failures.record(q.name, job, job.failedReason || 'failed')) > 0) {
          this.observer.repair('failed_job');
          n++;
        }
      }
    }
    return n;
  }

  /** SMS left `sending` (the process died between handing it over and recording the answer). */
  private async sending(now: number): Promise<number> {
    let n = 0;
    for (const id of await this.records.olderThan('sending', now - this.opts.sendingTimeoutMs)) {
      const rec = await this.records.get(id);
      if (rec?.state !== 'sending') continue;
      const queue = this.queues[rec.channel];
      // A job still pending finishes it itself (a stalled one is retried and sees `sending`).
      // One job per interrupted send (its time in the id): reconcilers racing add it once.
      const jobId = `${rec.id}.resend.${rec.sendingAt ?? 0}`;
      if (await this.pending(queue, rec.id)) continue;
      const retry = this.policies().settings.retry;
      await queue.add('send', { id: rec.id } satisfies DeliveryJob, jobOptions(jobId, retry));
      this.observer.repair('resend');
      this.logger.warn({ notification: rec.id, contact: rec.contact, alerts: rec.items.map((i) => i.alert).join(',') }, 'reconciler: SMS left sending by a crash: sending it again once, marked as a repeat');
      n++;
    }
    return n;
  }

  private async pending(queue: Queue, jobId: string): Promise<boolean> {
    const job = await queue.getJob(jobId);
    return job !== undefined && PENDING.has(await job.getState());
  }

  private async receiptTimeouts(now: number): Promise<number> {
    let n = 0;
    for (const id of await this.records.olderThan('awaitingReceipt', now - this.opts.receiptTimeoutMs)) {
      const rec = await this.records.get(id);
      if (rec?.state !== 'sent') continue;
      if (rec.transport === 'outbox') {
        // A file never sends receipts: nothing to wait for.
        await this.records.stopAwaitingReceipt(id);
        continue;
      }
      await this.records.update(id, { state: 'receipt_unknown', reason: `no delivery receipt within ${Math.round(this.opts.receiptTimeoutMs / 3_600_000)} h` }, now);
      this.observer.repair('receipt_unknown');
      n++;
    }
    return n;
  }
}
