// The notifier role: consumes alert transitions and runs the stages
// escalate → (mute) → group → quiet hours / rate limit → record → send, each on its own queue.

import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { AlertEvent } from '../domain/alert.js';
import type { CronHandle, Crons } from '../domain/clock.js';
import { formatTransition } from './format.js';
import { QUEUES } from '../queues/names.js';
import type { ChannelName } from '../domain/notification.js';
import type { DeliveryReceipt, InboundSms, SmsListener } from './channels/channel.js';
import { NotifyParts, type NotifyContext } from './context.js';
import { Delivery } from './delivery.js';
import { Dispatcher } from './dispatcher.js';
import type { DeliveryJob, FlushJob } from './intent.js';
import { Escalator, type StepJob } from './escalation.js';
import { SmsReplies, type ReplyResult } from './sms-replies.js';
import { JobFailures } from './failures.js';
import { Reconciler, type ReconcileReport, type ReconcilerOptions } from './reconciler.js';
import { finallyFailed, reliableWorkerOptions, type ReliableWorkerTiming } from '../queues/worker-options.js';

export interface NotifierOptions {
  readonly connection: () => ConnectionOptions;
  readonly prefix: string;
  /** Where the digest tick and the reconciler's period run (the wall clock, or a test's hand). */
  readonly crons: Crons;
  /** How often deferred digests are looked at (ms). */
  readonly tickMs?: number;
  readonly onTransition?: (e: AlertEvent, line: string) => void;
  /** How often the reconciler runs (ms); 0: only at start-up. */
  readonly reconcileMs?: number;
  readonly reconciler?: Partial<ReconcilerOptions>;
  /** Job locks and stall checks of the notify workers (tests shorten them). */
  readonly timing?: ReliableWorkerTiming;
}

export class Notifier extends NotifyParts('entity', 'logger') implements SmsListener {
  readonly dispatcher: Dispatcher;
  readonly escalator: Escalator;
  readonly delivery: Delivery;
  readonly replies: SmsReplies;
  readonly failures: JobFailures;
  readonly reconciler: Reconciler;
  private readonly workers: Worker[] = [];
  private readonly periods: CronHandle[] = [];
  private reconciling?: Promise<ReconcileReport | undefined>;

  constructor(
    context: NotifyContext,
    private readonly opts: NotifierOptions,
  ) {
    super(context);
    this.dispatcher = new Dispatcher(context);
    this.escalator = new Escalator(context, this.dispatcher);
    this.delivery = new Delivery(context, this.dispatcher);
    this.replies = new SmsReplies(context);
    this.failures = new JobFailures(context, this.escalator);
    this.reconciler = new Reconciler(context, this.escalator, this.failures, {
      sendingTimeoutMs: opts.reconciler?.sendingTimeoutMs ?? 120_000,
      receiptTimeoutMs: opts.reconciler?.receiptTimeoutMs ?? 48 * 3_600_000,
    });
  }

  start(): void {
    const { logger } = this;
    const common = { prefix: this.opts.prefix, ...reliableWorkerOptions(this.opts.timing) };
    const worker = <T>(queue: string, concurrency: number, fn: (job: Job<T>) => Promise<string>) => {
      const w = new Worker<T, string>(queue, fn, { ...common, connection: this.opts.connection(), concurrency });
      w.on('failed', (job, err) => {
        const final = job ? finallyFailed(job, err) : false;
        logger.warn({ queue, job: job?.id, attempts: job?.attemptsMade, final, err: err.message }, final ? 'notifier job given up' : 'notifier job failed, will retry');
        if (job && final) void this.failures.record(queue, job, err.message).catch((e) => logger.error({ queue, job: job.id, err: (e as Error).message }, 'could not record a failed job (the reconciler tries again)'));
      });
      w.on('stalled', (id) => logger.warn({ queue, job: id }, 'notifier job stalled (its worker died or hung): retried'));
      w.on('error', (err) => logger.error({ queue, err: err.message }, 'notifier worker error'));
      this.workers.push(w);
    };
    worker<AlertEvent>(QUEUES.alertEvents, 1, async (job) => {
      const e = job.data;
      const line = formatTransition(e, this.entity(e.alert.entity)?.name);
      const outcome = await this.escalator.handle(e);
      logger.info({ event: e.id, change: e.change, rule: e.alert.rule, entity: e.alert.entity, severity: e.alert.severity, from: e.from, to: e.to, notify: outcome }, line);
      this.opts.onTransition?.(e, line);
      return outcome;
    });
    worker<StepJob>(QUEUES.escalations, 4, async (job) => {
      const out = await this.escalator.runStep(job.data);
      logger.debug({ job: job.id, out }, 'escalation step');
      return out;
    });
    worker<FlushJob>(QUEUES.dispatch, 4, (job) => this.dispatcher.flush(job.data));
    // One message at a time per channel: an outage holds the queue in order.
    for (const ch of ['sms', 'email', 'webhook'] as const satisfies readonly ChannelName[]) {
      worker<DeliveryJob>(QUEUES[ch], 1, (job) => this.delivery.process(job, ch));
    }
    const { crons } = this.opts;
    this.periods.push(crons.every('lookout-digest-tick', this.opts.tickMs ?? 5000, () => this.tick().catch((err) => logger.error({ err: (err as Error).message }, 'digest tick failed'))));
    void this.reconcile();
    const every = this.opts.reconcileMs ?? 60_000;
    if (every > 0) this.periods.push(crons.every('lookout-reconcile', every, () => this.reconcile()));
  }

  /** One reconciler pass (a pass already running is awaited, not doubled). */
  reconcile(now?: number): Promise<ReconcileReport | undefined> {
    this.reconciling ??= this.reconciler
      .run(now)
      .catch((err) => {
        this.logger.error({ err: (err as Error).message }, 'reconciler pass failed');
        return undefined;
      })
      .finally(() => {
        this.reconciling = undefined;
      });
    return this.reconciling;
  }

  /** Send the digests that are due (quiet hours over, rate-limit slot free). */
  tick(now?: number): Promise<number> {
    return this.dispatcher.tick(now);
  }

  inbound(m: InboundSms): void {
    void this.reply(m).catch((err) => this.logger.error({ err: (err as Error).message }, 'SMS reply handling failed'));
  }

  reply(m: InboundSms): Promise<ReplyResult> {
    return this.replies.inbound(m);
  }

  receipt(r: DeliveryReceipt): void {
    void this.replies.receipt(r).catch((err) => this.logger.error({ err: (err as Error).message }, 'delivery receipt handling failed'));
  }

  async stop(): Promise<void> {
    for (const p of this.periods.splice(0)) p.stop();
    await this.reconciling;
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
