// The worker role: applies sample batches, judges dirty entities, relays alert events and (unless
// another process notifies) runs the notifier over its channels. Opened downstream first and
// stopped upstream first: the sample worker drains its in-flight jobs, then the notifier, the
// duties' broadcasts, the drainer and the relay stop, then the channels and connections close.

import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { RedisClient } from '../state/client.js';
import type { AlertEvent } from '../domain/alert.js';
import { createChannels } from '../notify/channels/index.js';
import { Notifier } from '../notify/notifier.js';
import { EvaluationDrainer } from '../evaluate/drainer.js';
import { DirtySet } from '../state/dirty.js';
import { EventOutbox } from '../state/event-outbox.js';
import { EventRelay } from '../route/event-relay.js';
import { SampleBatchProcessor } from '../ingest/apply-batch.js';
import { GATHER_MAX_MS, GATHER_QUIET_MS, type Lane } from '../ingest/apply-rounds.js';
import { heldWorkers } from '../queues/held-worker.js';
import { QUEUES, type SampleBatchJob } from '../queues/names.js';
import type { Core } from './core.js';
import type { Features } from './features.js';
import { notifyContext, type Channels } from './notify-context.js';
import { Role, type Close } from './role.js';
import { reliableWorkerOptions } from '../queues/worker-options.js';
import { sumCounts } from './idle.js';

/** A sample job's lock (BullMQ renews it at half this while the worker lives) and the stall check. */
const SAMPLE_LOCK_MS = 10_000;
const SAMPLE_STALLED_CHECK_MS = 5_000;

export interface WorkerOptions {
  /** Consume alert events here (false: another process notifies). */
  readonly notify: boolean;
  readonly onTransition?: (e: AlertEvent, line: string) => void;
  /** Readable line per message the outbox channel writes (the demo prints these). */
  readonly onOutbox?: (line: string) => void;
}

export class WorkerRole extends Role {
  readonly name = 'worker';
  relay?: EventRelay;
  drainer?: EvaluationDrainer;
  notifier?: Notifier;

  constructor(
    private readonly core: Core,
    private readonly features: Features,
    private readonly opts: WorkerOptions,
  ) {
    super();
  }

  protected async open(opened: (close: Close) => void): Promise<void> {
    const { core, opts } = this;
    const { config, cfg } = core;
    const log = core.logger.child({ component: 'worker' });
    await core.cache.refresh(true);
    // BullMQ does not close connections it was handed: remember them and close them last.
    const conns: RedisClient[] = [];
    opened(async () => {
      for (const c of conns.reverse()) await c.quit().catch(() => c.disconnect());
    });
    const connect = (name: string) => {
      const c = core.duplicate(name);
      conns.push(c);
      return c;
    };
    const workerConn = () => connect('lookout-worker') as unknown as ConnectionOptions;

    const channels = opts.notify ? await this.openChannels(opened) : undefined;

    const relayLog = core.logger.child({ component: 'relay' });
    const relay = new EventRelay(new EventOutbox(core.duplicate('lookout-relay'), core.keys), core.queues.alertEvents, (err) => relayLog.error({ err: err.message }, 'event relay error'));
    await relay.start();
    opened(() => relay.stop());
    this.relay = relay;

    const evaluator = core.evaluator();
    const drainer = new EvaluationDrainer(new DirtySet(connect('lookout-drainer'), core.keys), evaluator, core.cache, core.clock, (err) =>
      log.error({ err: err.message }, 'evaluation failed (the entities are judged again when their lease ends)'),
      {
        debounceMs: config.evalDebounceMs,
        // Jobs being applied count too: a worker holds many at once (group commit), and an entity
        // judged before they are applied is judged again after.
        backlog: async () => {
          const c = await sumCounts([core.queues.samples, core.queues.backfill], ['waiting', 'prioritized', 'active']);
          return (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0);
        },
      },
    );
    drainer.start();
    opened(() => drainer.stop());
    core.onDirty(() => drainer.notify());
    this.drainer = drainer;

    if (channels) {
      this.features.forWorker(opened, channels, workerConn);
      const notifier = new Notifier(notifyContext(core, this.features.complaintLead, channels), {
        connection: workerConn,
        prefix: config.prefix,
        crons: core.crons,
        onTransition: opts.onTransition,
        reconcileMs: config.reconcileMs,
        reconciler: { sendingTimeoutMs: config.sendingTimeoutMs, receiptTimeoutMs: config.receiptTimeoutMs },
      });
      notifier.start();
      opened(() => notifier.stop());
      this.notifier = notifier;
    }

    core.metrics.countApplyConflicts(() => core.series.applyConflicts);
    // Where jobs are joined (group commit), the backfill consumer holds LOOKOUT_WORKER_HOLD jobs.
    const holds = core.series.joinsJobs && config.workerHold > 0;
    const processor = new SampleBatchProcessor({
      clock: core.clock,
      calendar: core.calendar,
      metrics: () => cfg().catalogue,
      retentionDays: config.retentionDays,
      maxFutureMs: config.maxFutureMs,
      series: core.series,
      registry: core.cache,
      registryStore: core.registry,
      evaluator,
      observer: core.metrics.observer,
      ...(holds ? { gather: { quietMs: GATHER_QUIET_MS, maxMs: GATHER_MAX_MS, jobs: config.workerHold } } : {}),
    });
    // A job's id names its chunk markers, and each queue numbers its jobs from 1: a backfill job's
    // id is prefixed (a custom id cannot hold ':'), so it never meets a `samples` job's markers.
    const consume = (lane: Lane) => async (job: Job<SampleBatchJob>) => {
      const out = await processor.process(lane === 'backfill' ? `backfill:${job.id!}` : job.id!, job.data, lane);
      if (out.rejected.length) log.warn({ job: job.id, rejected: out.rejected.length, first: out.rejected[0] }, 'queued samples rejected by the worker');
      return { accepted: out.accepted, chunks: out.chunks, skippedChunks: out.skippedChunks, entities: out.entities };
    };
    // Applying a batch is idempotent per job chunk, so a job whose worker died is run again rather
    // than failed after one stall (BullMQ's default), which lost accepted samples under repeated
    // kills; and its lock is short (renewed every 5 s while the worker lives), so a killed worker's
    // batch is taken up again within ~15 s, not a minute: a lock lost to a long pause only runs
    // the job twice, which applies nothing twice.
    const options = () => ({
      connection: workerConn(),
      prefix: config.prefix,
      ...reliableWorkerOptions({ lockDurationMs: SAMPLE_LOCK_MS, stalledIntervalMs: SAMPLE_STALLED_CHECK_MS }),
    });
    // Two consumers, one per sample queue (the doors queue a backfill apart: queue-sink.ts):
    // - `samples` (live jobs, and those other producers add): LOOKOUT_WORKER_CONCURRENCY jobs at
    //   once, applied in the live lane's short rounds, so a live sample sent during a backfill is
    //   applied within a round of a few jobs, not after the backlog;
    // - `samples-backfill`: where the jobs held are applied together (group commit), up to
    //   LOOKOUT_WORKER_HOLD jobs, each handed over as soon as it is fetched (so its lock is renewed:
    //   held-worker.ts) and gathered into deep rounds of their own lane, several days of a series in
    //   one write; else LOOKOUT_WORKER_CONCURRENCY jobs.
    const consumers = [
      new Worker<SampleBatchJob>(QUEUES.samples, consume('live'), { ...options(), concurrency: config.workerConcurrency }),
      ...(holds
        ? heldWorkers(QUEUES.backfill, consume('backfill'), config.workerHold, options())
        : [new Worker<SampleBatchJob>(QUEUES.backfill, consume('backfill'), { ...options(), concurrency: config.workerConcurrency })]),
    ];
    // Worker.close() waits for in-flight jobs: SIGTERM drains, it does not abandon. All at once: the
    // backfill's fetchers share rounds, and one still fetching would keep adding to them.
    opened(async () => {
      await Promise.all(consumers.map((c) => c.close()));
    });
    for (const samples of consumers) {
      const lane: Lane = samples.name === QUEUES.backfill ? 'backfill' : 'live';
      samples.on('completed', () => drainer.notify());
      // Found by this worker's stall check (the job's worker died, or its lock lapsed): queued again.
      samples.on('stalled', (job) => {
        core.metrics.observer.jobStalled(lane);
        log.warn({ queue: samples.name, job }, 'sample job stalled (queued again; its applied chunks are skipped)');
      });
      samples.on('failed', (job, err) => log.error({ queue: samples.name, job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed (will retry)'));
      samples.on('error', (err) => log.error({ queue: samples.name, err: err.message }, 'worker error'));
    }
  }

  private async openChannels(opened: (close: Close) => void): Promise<Channels> {
    const { config, clock, logger } = this.core;
    // The channels report replies and receipts to the notifier, which needs the channels.
    const listener = { inbound: (m: Parameters<Notifier['inbound']>[0]) => this.notifier?.inbound(m), receipt: (r: Parameters<Notifier['receipt']>[0]) => this.notifier?.receipt(r) };
    const channels = await createChannels({
      smsUrl: config.smsUrl,
      smtpUrl: config.smtpUrl,
      smsFrom: config.smsFrom,
      smtpFrom: config.smtpFrom,
      smsHttpHeaders: { ...config.smsHttpHeaders },
      smsHttpBody: config.smsHttpBody,
      outboxDir: config.outboxDir,
      clock,
      listener,
      logger: logger.child({ component: 'channels' }),
      onOutbox: this.opts.onOutbox,
    });
    opened(() => channels.close());
    return channels;
  }
}
