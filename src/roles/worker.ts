// The worker role: applies sample batches, judges dirty entities, relays alert events and (unless
// another process notifies) runs the notifier over its channels. Opened downstream first and
// stopped upstream first: the sample worker drains its in-flight jobs, then the notifier, the
// duties' broadcasts, the drainer and the relay stop, then the channels and connections close.

import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { RedisClient } from '../state/client.js';
import type { AlertEvent } from '../domain/alert.js';
import { systemClock } from '../domain/clock.js';
import { createChannels } from '../notify/channels/index.js';
import { Notifier } from '../notify/notifier.js';
import { EvaluationDrainer } from '../evaluate/drainer.js';
import { DirtySet } from '../state/dirty.js';
import { EventOutbox } from '../state/event-outbox.js';
import { EventRelay } from '../route/event-relay.js';
import { SampleBatchProcessor } from '../ingest/apply-batch.js';
import { GATHER_FETCH_QUIET_MS, GATHER_MAX_MS, GATHER_QUIET_MS, type Lane } from '../ingest/apply-rounds.js';
import { HoldBudget, heldWorkers, HOLD_FETCHERS } from '../queues/held-worker.js';
import { HeldBackfill, PartitionOwnership, partitionQueueName } from '../queues/backfill-partitions.js';
import { QUEUES, type SampleBatchJob } from '../queues/names.js';
import { SAMPLE_READER_NAME } from '../queues/payload-readers.js';
import type { Core } from './core.js';
import type { Features } from './features.js';
import { notifyContext, type Channels } from './notify-context.js';
import { Role, type Close } from './role.js';
import { reliableWorkerOptions } from '../queues/worker-options.js';
import { sumCounts } from '../queues/counts.js';

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
    // One hold for every backfill consumer of this process, whichever partitions it serves now.
    const budget = new HoldBudget(config.workerHold);
    // The backfill partitions this process serves (queues/backfill-partitions.ts): their consumers
    // are opened below, once the processor is; what its backfill lane holds is shared with the
    // other worker processes, so a live sample of an entity whose backfill another holds is judged
    // with that backfill, once.
    const partitions = new Map<number, Worker<SampleBatchJob>[]>();
    const handingOver = new Set<Promise<unknown>>();
    let partitionOpts: ReturnType<typeof options> | undefined;
    const partitionLog = (err: Error) => log.warn({ err: err.message }, 'backfill partitions: heartbeat, lease or held entities not written (tried again each second)');
    const ownership =
      config.backfillPartitions > 0
        ? new PartitionOwnership(
            connect('lookout-backfill-owner'),
            core.keys,
            config.backfillPartitions,
            {
              // The fetchers split over the partitions this process serves; the hold is shared.
              take: (k, share) => {
                partitionOpts ??= options();
                const ws = backfillConsumers(partitionQueueName(k), Math.max(1, Math.floor(HOLD_FETCHERS / share)), partitionOpts);
                ws.forEach(watch);
                partitions.set(k, ws);
                log.info({ partition: k, share }, 'serving backfill partition');
              },
              // Handed over as soon as it fetches no more: the jobs it holds are applied here (their
              // locks renewed) while the next holder fetches the rest; closed once they are.
              drop: async (k) => {
                const ws = partitions.get(k) ?? [];
                partitions.delete(k);
                await Promise.all(ws.map((w) => w.pause(true)));
                const closing = Promise.all(ws.map((w) => w.close())).catch((err: Error) => log.error({ partition: k, err: err.message }, 'backfill partition consumer did not close'));
                handingOver.add(closing);
                void closing.finally(() => handingOver.delete(closing));
                log.info({ partition: k }, 'backfill partition handed over');
              },
            },
            partitionLog,
          )
        : undefined;
    const mirror = ownership ? new HeldBackfill(connect('lookout-backfill-held'), core.keys, ownership, partitionLog) : undefined;
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
      ...(holds ? { gather: { quietMs: GATHER_QUIET_MS, fetchQuietMs: GATHER_FETCH_QUIET_MS, maxMs: GATHER_MAX_MS, jobs: config.workerHold, debounceMs: config.evalDebounceMs } } : {}),
      ...(mirror ? { mirror } : {}),
    });
    // A job's id names its chunk markers, and each queue numbers its jobs from 1: a backfill job's
    // id is prefixed with its queue (a custom id cannot hold ':'), so it never meets another
    // queue's markers (`backfill:` for the unpartitioned queue, as before partitions).
    const consume = (queue: string) => {
      const lane: Lane = queue === QUEUES.samples ? 'live' : 'backfill';
      const marker = queue === QUEUES.samples ? '' : queue === QUEUES.backfill ? 'backfill:' : `${queue.slice(QUEUES.samples.length + 1)}:`;
      return async (job: Job<SampleBatchJob>) => {
        // BullMQ stamps a job with the wall clock when it is added: how long it waited is read on
        // the wall clock too (the injected clock may be pinned).
        const out = await processor.process(`${marker}${job.id!}`, job.data, lane, systemClock.now() - job.timestamp);
        if (out.rejected.length) log.warn({ job: job.id, queue, rejected: out.rejected.length, first: out.rejected[0] }, 'queued samples rejected by the worker');
        return { accepted: out.accepted, chunks: out.chunks, skippedChunks: out.skippedChunks, entities: out.entities };
      };
    };
    // Applying a batch is idempotent per job chunk, so a job whose worker died is run again rather
    // than failed after one stall (BullMQ's default), which lost accepted samples under repeated
    // kills; and its lock is short (renewed every 5 s while the worker lives), so a killed worker's
    // batch is taken up again within ~15 s, not a minute: a lock lost to a long pause only runs
    // the job twice, which applies nothing twice.
    const options = () => ({
      connection: workerConn(),
      prefix: config.prefix,
      // Says it reads batches in columns (v: 2): the doors queue them once every consumer does.
      name: SAMPLE_READER_NAME,
      ...reliableWorkerOptions({ lockDurationMs: SAMPLE_LOCK_MS, stalledIntervalMs: SAMPLE_STALLED_CHECK_MS }),
    });
    // A backfill queue's consumers: where jobs are joined, jobs held out of the process's hold and
    // applied together in deep rounds (held-worker.ts); else LOOKOUT_WORKER_CONCURRENCY jobs.
    const backfillConsumers = (queue: string, fetchers: number, opts: ReturnType<typeof options>): Worker<SampleBatchJob>[] =>
      holds ? heldWorkers(queue, consume(queue), budget, opts, fetchers) : [new Worker<SampleBatchJob>(queue, consume(queue), { ...opts, concurrency: config.workerConcurrency })];
    const watch = (samples: Worker<SampleBatchJob>): void => {
      const lane: Lane = samples.name === QUEUES.samples ? 'live' : 'backfill';
      samples.on('completed', () => drainer.notify());
      // Found by this worker's stall check (the job's worker died, or its lock lapsed): queued again.
      samples.on('stalled', (job) => {
        core.metrics.observer.jobStalled(lane);
        log.warn({ queue: samples.name, job }, 'sample job stalled (queued again; its applied chunks are skipped)');
      });
      samples.on('failed', (job, err) => log.error({ queue: samples.name, job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed (will retry)'));
      samples.on('error', (err) => log.error({ queue: samples.name, err: err.message }, 'worker error'));
    };
    // The sample queues' consumers (the doors queue a backfill apart: queue-sink.ts):
    // - `samples` (live jobs, and those other producers add): LOOKOUT_WORKER_CONCURRENCY jobs at
    //   once, applied in the live lane's short rounds, so a live sample sent during a backfill is
    //   applied within a round of a few jobs, not after the backlog;
    // - the backfill partitions `samples-backfill-p<k>` this process serves now (shared out between
    //   the worker processes: queues/backfill-partitions.ts), holding up to LOOKOUT_WORKER_HOLD jobs
    //   between them, each handed over as soon as it is fetched (so its lock is renewed:
    //   held-worker.ts) and gathered into deep rounds of their own lane, several days of a series in
    //   one write;
    // - the unpartitioned `samples-backfill` (other producers, earlier releases), served by every
    //   worker process with one fetcher.
    // The backfill's consumers first: a live sample of an entity whose backfill is queued too is
    // judged with that backfill once its jobs are held, and at a start they are all waiting.
    if (ownership) core.metrics.showBackfillPartitions(() => ownership.view());
    await ownership?.start();
    const consumers = [
      ...backfillConsumers(QUEUES.backfill, 1, options()),
      new Worker<SampleBatchJob>(QUEUES.samples, consume(QUEUES.samples), { ...options(), concurrency: config.workerConcurrency }),
    ];
    consumers.forEach(watch);
    // Worker.close() waits for in-flight jobs: SIGTERM drains, it does not abandon. All at once: the
    // backfill's fetchers share rounds, and one still fetching would keep adding to them.
    opened(async () => {
      await Promise.all([...consumers.map((c) => c.close()), ownership?.stop()]);
      await Promise.all([...handingOver]);
      await mirror?.clear().catch(partitionLog);
    });
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
