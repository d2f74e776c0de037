// Composition root: config → Redis → rules and registry → stores → roles. Nothing below this
// file reads the environment or the system clock.

import { FlowProducer, Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig } from './config/env.js';
import { loadRegistryFiles } from './config/registry-loader.js';
import { formatErrors, LiveConfig, loadConfigSet } from './config/live-config.js';
import { watchFolders } from './config/watch.js';
import type { Entity } from './domain/entity.js';
import type { AlertEvent } from './domain/alert.js';
import { Calendar, type Clock } from './domain/clock.js';
import { appClock } from './config/now.js';
import { ruleMetric, type RuleSet } from './domain/rule.js';
import { ConfigError } from './errors/catalogue.js';
import type { ConsoleDeps, HttpDeps } from './http/deps.js';
import { buildHttpServer, buildOpsServer } from './http/server.js';
import { QueueSampleSink } from './ingest/queue-sink.js';
import { createChannels } from './notify/channels/index.js';
import { nullNotifyObserver, type NotifyContext, type Recipients } from './notify/context.js';
import { Notifier } from './notify/notifier.js';
import { NotificationStore } from './notify/records.js';
import { SmsReplies } from './notify/sms-replies.js';
import { combineMuters, InhibitionMuter, SilenceMuter } from './route/muter.js';
import type { PolicySet } from './route/types.js';
import { RedisSilenceStore } from './state/silence-store.js';
import { FeedGuard } from './roles/feed-guard.js';
import { createMetrics, stateGauges, type LookoutMetrics } from './observability/metrics.js';
import { stateCollector } from './observability/state-collector.js';
import { EntityEvaluator } from './pipeline/entity-evaluator.js';
import { EvaluationDrainer } from './pipeline/evaluation-drainer.js';
import { EventRelay } from './pipeline/event-relay.js';
import { SampleBatchProcessor } from './pipeline/sample-batch.js';
import { QUEUES, keyspace, type Keyspace, type SampleBatchJob } from './queues/names.js';
import { checkRedis, connectRedis, connectRequestRedis, OutageTracker, READY_TIMEOUT_MS, REQUEST_TIMEOUT_MS, waitReady, withTimeout } from './redis/connect.js';
import { resolveRedis } from './redis/resolve.js';
import { DayCloser } from './roles/day-closer.js';
import { RedisAlertStore } from './state/alert-store.js';
import { markDirty } from './state/dirty.js';
import { RedisRegistryStore, RegistryCache } from './state/registry-store.js';
import { SeriesStore } from './state/series-store.js';
import { RedisCampaignStore } from './state/campaign-store.js';
import { RedisDailyReads } from './state/daily-reads.js';
import { RedisDutyStore } from './state/duty-store.js';
import { RedisStateProbe } from './state/state-probe.js';
import { routingFrom } from './domain/complaints.js';
import { CampaignDuty } from './campaigns/duty.js';
import { ComplaintRouter } from './campaigns/routing.js';
import { CampaignService } from './campaigns/service.js';
import { Duties } from './duties/index.js';
import { Dispatcher } from './notify/dispatcher.js';

export const ROLES = ['api', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];

export interface LookoutOptions {
  readonly config: AppConfig;
  readonly roles: readonly Role[];
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Replace the rules directory with an already-loaded set (tests). */
  readonly ruleSet?: RuleSet;
  /** Replace rules/policies.yaml with an already-loaded policy set (tests). */
  readonly policies?: PolicySet;
  readonly onTransition?: (e: AlertEvent, line: string) => void;
  /** Readable line per message the outbox channel writes (the demo prints these). */
  readonly onOutbox?: (line: string) => void;
  /** Do not consume alert events in this process (another process notifies). */
  readonly noNotifier?: boolean;
  /** Reload rules, policies, contacts, rotas and templates when their folders change. */
  readonly watch?: boolean;
}

export interface Lookout {
  readonly config: AppConfig;
  readonly redisUrl: string;
  readonly redis: Redis;
  readonly keys: Keyspace;
  readonly calendar: Calendar;
  readonly clock: Clock;
  readonly metrics: LookoutMetrics;
  readonly sink: QueueSampleSink;
  readonly registry: RedisRegistryStore;
  readonly alerts: RedisAlertStore;
  readonly series: SeriesStore;
  readonly queues: { readonly samples: Queue; readonly alertEvents: Queue };
  readonly http?: FastifyInstance;
  /** http://host:port of the API role. */
  readonly url?: string;
  readonly evaluator?: EntityEvaluator;
  readonly relay?: EventRelay;
  readonly drainer?: EvaluationDrainer;
  readonly dayCloser?: DayCloser;
  readonly notifier?: Notifier;
  readonly notifications: NotificationStore;
  readonly silences: RedisSilenceStore;
  readonly feedGuard?: FeedGuard;
  /** Campaigns: phases, figures, daily reports, post-evaluation records (src/campaigns). */
  readonly campaigns: CampaignService;
  /** The scheduler's campaign duties: run() is the LOOKOUT_REPORT_CRON job, reportDay(day) one day's reports. */
  readonly campaignDuty?: CampaignDuty;
  /** Reminders, the halls' satisfaction ranking, broadcasts (src/duties). */
  readonly duties: Duties;
  ruleSet(): RuleSet;
  policies(): PolicySet;
  /** Re-read rules, policies, contacts, rotas and templates; swap only if all are valid. */
  reload(): Promise<{ ok: boolean; errors: string[] }>;
  /** Wait until samples are applied, dirty entities judged and events relayed and consumed (tests, demo). */
  idle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function sumCounts(qs: readonly Queue[]): Promise<Record<string, number>> {
  const all = await Promise.all(qs.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')));
  const out: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function startLookout(opts: LookoutOptions): Promise<Lookout> {
  const { config, logger } = opts;
  // One child logger per component, so a line says where it came from.
  const log = {
    worker: logger.child({ component: 'worker' }),
    relay: logger.child({ component: 'relay' }),
    scheduler: logger.child({ component: 'scheduler' }),
    http: logger.child({ component: 'http' }),
    config: logger.child({ component: 'config' }),
  };
  const clock = opts.clock ?? appClock(config);
  const calendar = new Calendar(config.timeZone);
  const keys = keyspace(config.prefix);
  const roles = new Set(opts.roles);

  const registryFiles = await loadRegistryFiles(config.configDir);
  if (registryFiles.errors.length) {
    throw new ConfigError('bad_entity', `entities in ${config.configDir} are invalid:\n${registryFiles.errors.map((e) => `  ${e.format()}`).join('\n')}`);
  }

  const fixed = { ruleSet: opts.ruleSet, policies: opts.policies };
  const first = await loadConfigSet(config, calendar, registryFiles.entities, fixed);
  if (!first.ok) {
    throw new ConfigError(first.errors[0]!.code, `rules, contacts, rotas, policies or templates are invalid:\n${formatErrors(first.errors)}`);
  }
  // Reloads check the org against every registered entity (files and API), read at reload time.
  const registered: { list?: () => Promise<Entity[]> } = {};
  const live = new LiveConfig(first.loaded, async () => loadConfigSet(config, calendar, (await registered.list?.()) ?? registryFiles.entities, fixed));
  const cfg = () => live.current;
  if (!cfg().directory.contacts.size) logger.warn({ dir: config.configDir }, 'no contacts.csv: alerts are recorded, nobody is notified');

  const resolved = await resolveRedis(config.redisUrl, config.dataDir, logger);
  const redisUrl = resolved.url;
  const closers: (() => Promise<unknown>)[] = [];
  const redis = connectRedis(redisUrl, 'lookout');
  closers.push(async () => redis.quit().catch(() => redis.disconnect()));
  try {
    await checkRedis(redis);
  } catch (err) {
    redis.disconnect();
    await resolved.stop();
    throw err;
  }

  // The request path (API, ingest, readiness, scrapes) has its own fail-fast connection: while
  // Redis is away requests answer 503 within a bound; workers keep waiting on theirs.
  const requestRedis = connectRequestRedis(redisUrl, 'lookout-request');
  closers.push(async () => requestRedis.quit().catch(() => requestRedis.disconnect()));
  try {
    await waitReady(requestRedis);
  } catch (err) {
    requestRedis.disconnect();
    redis.disconnect();
    await resolved.stop();
    throw err;
  }

  const metrics = createMetrics();
  const outage = new OutageTracker({
    down: () => {
      metrics.redisOutages.inc();
      logger.warn('Redis unreachable: readiness, ingest and API reads answer 503 until it is back');
    },
    up: (seconds) => {
      metrics.redisOutageSeconds.inc(seconds);
      metrics.redisLastOutage.set(seconds);
      logger.warn({ seconds: Math.round(seconds * 10) / 10 }, 'Redis is back after an outage');
    },
  });
  outage.watch(requestRedis);
  metrics.redisLastOutage.set(0);
  const showConfig = () => {
    const c = cfg();
    metrics.rulesLoaded.set(c.ruleSet.rules.length);
    metrics.configInfo.reset();
    metrics.configInfo.set({ rules: c.ruleSet.hash.slice(0, 12), policies: c.policies.hash.slice(0, 12), contacts: c.directory.hash.slice(0, 12) }, 1);
  };
  showConfig();
  // Workers' connections wait through an outage; the outage tracker reports it, not each socket.
  const quiet = <T extends Redis>(c: T): T => {
    c.on('error', () => undefined);
    return c;
  };
  redis.on('error', () => undefined);
  const connection: ConnectionOptions = quiet(redis.duplicate({ connectionName: 'lookout-bullmq' })) as unknown as ConnectionOptions;
  closers.push(async () => (connection as unknown as Redis).quit().catch(() => undefined));
  const queueOpts = { connection, prefix: config.prefix };
  const queues = {
    samples: new Queue<SampleBatchJob>(QUEUES.samples, queueOpts),
    alertEvents: new Queue<AlertEvent>(QUEUES.alertEvents, queueOpts),
    escalations: new Queue(QUEUES.escalations, queueOpts),
    dispatch: new Queue(QUEUES.dispatch, queueOpts),
    sms: new Queue(QUEUES.sms, queueOpts),
    email: new Queue(QUEUES.email, queueOpts),
    webhook: new Queue(QUEUES.webhook, queueOpts),
  };
  closers.push(() => Promise.all(Object.values(queues).map((q) => q.close())));
  // BullMQ prints unheard queue errors to the console; an outage is reported once, by the tracker.
  for (const q of Object.values(queues)) q.on('error', () => undefined);

  // A changed entity is judged again (scope, attributes, live window may have moved).
  const registry = new RedisRegistryStore(redis, keys, (ids) => markDirty(redis, keys, ids));
  registered.list = () => registry.list();
  if (registryFiles.entities.length) {
    await registry.putMany(registryFiles.entities);
    logger.info({ entities: registryFiles.entities.length, dir: config.configDir }, 'registry loaded from files');
  }
  const alerts = new RedisAlertStore(redis, keys);
  const series = new SeriesStore(redis, keys, calendar, () => cfg().catalogue, config);
  const requestOpts = { connection: requestRedis as unknown as ConnectionOptions, prefix: config.prefix };
  const ingestQueue = new Queue<SampleBatchJob>(QUEUES.samples, requestOpts);
  const ingestFlows = new FlowProducer(requestOpts);
  closers.push(() => Promise.all([ingestQueue.close(), ingestFlows.close()]));
  ingestQueue.on('error', () => undefined);
  ingestFlows.on('error', () => undefined);
  const sink = new QueueSampleSink(ingestQueue, config.batchSize, clock, {
    flows: ingestFlows,
    ready: () => requestRedis.status === 'ready',
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  // What HTTP handlers read and write goes through the request connection.
  const api = {
    registry: new RedisRegistryStore(requestRedis, keys, (ids) => markDirty(requestRedis, keys, ids)),
    alerts: new RedisAlertStore(requestRedis, keys),
    notifications: new NotificationStore(requestRedis, keys),
    silences: new RedisSilenceStore(requestRedis, keys),
  };
  const cache = new RegistryCache(redis, keys);
  const notifications = new NotificationStore(redis, keys);
  const silences = new RedisSilenceStore(redis, keys);
  const muter = combineMuters(
    new SilenceMuter(silences),
    new InhibitionMuter({
      rules: () => cfg().policies.inhibit,
      // Only firing or acknowledged alerts inhibit; the open set holds them (resolved ones are not read).
      openAlerts: async () => (await alerts.listOpen()).filter((a) => a.state !== 'pending'),
      entity: (id) => cache.get(id),
    }),
  );
  // Campaign duties: complaint routing (notifier), reports and post-evaluations (scheduler, API).
  const complaintRouter = new ComplaintRouter({
    days: new RedisDailyReads(redis, keys),
    routing: () => routingFrom(cfg().policies.complaintRouting),
    ruleMetric: (id) => {
      const rule = cfg().ruleSet.rules.find((r) => r.id === id);
      return rule ? ruleMetric(rule) : undefined;
    },
    locale: config.locale,
  });
  // The feed guard's alert has no rule file; every other title is the rule's `name:`.
  const ruleTitle = (id: string) => cfg().ruleNames.get(id) ?? (id === 'feed_stalled' ? '数据源中断' : undefined);
  const campaignDeps = {
    store: new RedisCampaignStore(redis, keys), days: new RedisDailyReads(redis, keys), registry, alerts, calendar, clock, retentionDays: config.retentionDays, locale: config.locale, templatesDir: config.templatesDir,
    routing: () => routingFrom(cfg().policies.complaintRouting),
    ruleName: (id: string) => cfg().ruleNames.get(id) ?? id,
    contactName: (id: string) => cfg().directory.contacts.get(id)?.name,
  };
  const campaigns = new CampaignService(campaignDeps);
  const notifyContext = (channels: NotifyContext['channels']): NotifyContext => ({
    redis,
    keys,
    clock,
    calendar,
    alerts,
    records: notifications,
    queues,
    channels,
    entity: (id) => cache.get(id),
    ruleName: (id) => ruleTitle(id) ?? id,
    policies: () => cfg().policies,
    recipients: (): Recipients => cfg().recipients,
    enabled: () => cfg().directory.contacts.size > 0,
    muter,
    renderer: () => cfg().renderer,
    links: config.linkSecret ? { secret: config.linkSecret, publicUrl: config.publicUrl, ttlMs: config.ackLinkTtlMs } : undefined,
    publicUrl: config.publicUrl,
    complaintLead: (a, e) => complaintRouter.leadFor(a, e),
    logger: logger.child({ component: 'notifier' }),
    observer: metrics.notify ?? nullNotifyObserver,
  });
  const replies = new SmsReplies(notifyContext({} as NotifyContext['channels']));
  // Channel duties: broadcasts and reports (api), the broadcast queue (worker), crons (scheduler).
  const duties = new Duties({
    config, store: new RedisDutyStore(redis, keys), days: new RedisDailyReads(redis, keys), clock, calendar, entities: registry, alerts, records: notifications, connection, emailQueue: queues.email,
    directory: () => cfg().directory, recipients: () => cfg().recipients, policies: () => cfg().policies, rules: () => cfg().ruleSet.rules,
    muter, dispatcher: new Dispatcher(notifyContext({} as NotifyContext['channels'])), enabled: () => cfg().directory.contacts.size > 0,
    observer: metrics.notify ?? nullNotifyObserver, logger: logger.child({ component: 'duties' }),
  });
  // The API's duties read and write through the request connection, so broadcasts and the halls'
  // ranking answer 503 within the bound while Redis is away instead of waiting for it.
  const apiEmailQueue = new Queue(QUEUES.email, requestOpts);
  apiEmailQueue.on('error', () => undefined);
  const apiDuties = new Duties({
    config, store: new RedisDutyStore(requestRedis, keys), days: new RedisDailyReads(requestRedis, keys), clock, calendar, entities: api.registry, alerts: api.alerts, records: api.notifications, connection: requestOpts.connection, emailQueue: apiEmailQueue,
    directory: () => cfg().directory, recipients: () => cfg().recipients, policies: () => cfg().policies, rules: () => cfg().ruleSet.rules,
    muter, dispatcher: new Dispatcher(notifyContext({} as NotifyContext['channels'])), enabled: () => cfg().directory.contacts.size > 0,
    observer: metrics.notify ?? nullNotifyObserver, logger: logger.child({ component: 'duties' }),
  });
  closers.push(() => Promise.all([apiDuties.stop(), apiEmailQueue.close()]));
  const gauges = stateGauges(metrics.registry);
  metrics.setCollector(
    stateCollector({
      state: new RedisStateProbe(requestRedis, keys), queues, alerts, entity: (id) => cache.get(id), metrics, gauges, timeoutMs: READY_TIMEOUT_MS,
      onPing: (ok) => (ok ? outage.succeeded() : outage.failed()),
    }),
  );

  const workers: Worker[] = [];
  let evaluator: EntityEvaluator | undefined;
  let relay: EventRelay | undefined;
  let dayCloser: DayCloser | undefined;
  let drainer: EvaluationDrainer | undefined;
  let notifier: Notifier | undefined;
  let feedGuard: FeedGuard | undefined;
  let campaignDuty: CampaignDuty | undefined;

  if (roles.has('worker') || roles.has('scheduler')) {
    evaluator = new EntityEvaluator(redis, keys, series, alerts, cache, () => cfg().ruleSet, calendar, metrics.observer);
  }

  if (roles.has('worker')) {
    await cache.refresh(true);
    const processor = new SampleBatchProcessor({
      clock,
      calendar,
      metrics: () => cfg().catalogue,
      retentionDays: config.retentionDays,
      maxFutureMs: config.maxFutureMs,
      series,
      registry: cache,
      registryStore: registry,
      evaluator: evaluator!,
      observer: metrics.observer,
    });
    // BullMQ does not close connections it was handed; remember them and close them on stop.
    const workerConn = () => {
      const c = quiet(redis.duplicate({ connectionName: 'lookout-worker' }));
      closers.push(async () => c.quit().catch(() => c.disconnect()));
      return c as unknown as ConnectionOptions;
    };
    const sampleWorker = new Worker<SampleBatchJob>(
      QUEUES.samples,
      async (job) => {
        const out = await processor.process(job.id!, job.data);
        if (out.rejected.length) log.worker.warn({ job: job.id, rejected: out.rejected.length, first: out.rejected[0] }, 'queued samples rejected by the worker');
        return { accepted: out.accepted, chunks: out.chunks, skippedChunks: out.skippedChunks, entities: out.entities };
      },
      // Applying a batch is idempotent per job, so a job whose worker died is run again rather than
      // failed after one stall (BullMQ's default), which lost accepted samples under repeated kills.
      { connection: workerConn(), prefix: config.prefix, concurrency: config.workerConcurrency, maxStalledCount: 50 },
    );
    const drainConn = quiet(redis.duplicate({ connectionName: 'lookout-drainer' }));
    closers.push(async () => drainConn.quit().catch(() => drainConn.disconnect()));
    drainer = new EvaluationDrainer(drainConn, keys, evaluator!, cache, clock, (err) =>
      log.worker.error({ err: err.message }, 'evaluation failed (the entities are judged again when their lease ends)'),
      {
        debounceMs: config.evalDebounceMs,
        backlog: async () => {
          const c = await queues.samples.getJobCounts('waiting', 'prioritized');
          return (c.waiting ?? 0) + (c.prioritized ?? 0);
        },
      },
    );
    sampleWorker.on('completed', () => drainer?.notify());
    drainer.start();
    for (const w of [sampleWorker]) {
      w.on('failed', (job, err) => log.worker.error({ queue: w.name, job: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed (will retry)'));
      w.on('error', (err) => log.worker.error({ queue: w.name, err: err.message }, 'worker error'));
      workers.push(w);
    }
    relay = new EventRelay(quiet(redis.duplicate({ connectionName: 'lookout-relay' })), keys, queues.alertEvents, (err) =>
      log.relay.error({ err: err.message }, 'event relay error'),
    );
    await relay.start();
    if (!opts.noNotifier) {
      // The channels report replies and receipts to the notifier, which needs the channels.
      const listener = { inbound: (m: Parameters<Notifier['inbound']>[0]) => notifier?.inbound(m), receipt: (r: Parameters<Notifier['receipt']>[0]) => notifier?.receipt(r) };
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
        onOutbox: opts.onOutbox,
      });
      closers.push(() => channels.close());
      notifier = new Notifier(notifyContext(channels), {
        connection: workerConn,
        prefix: config.prefix,
        onTransition: opts.onTransition,
        reconcileMs: config.reconcileMs,
        reconciler: { sendingTimeoutMs: config.sendingTimeoutMs, receiptTimeoutMs: config.receiptTimeoutMs },
      });
      notifier.start();
      duties.startSending(channels, workerConn);
    }
  }

  if (roles.has('scheduler')) {
    feedGuard = new FeedGuard({
      redis,
      keys,
      alerts,
      calendar,
      clock,
      metrics: () => [...new Set(cfg().ruleSet.rules.map((r) => ruleMetric(r)).filter((m): m is string => m !== undefined))],
      options: () => ({ expectedByMinute: cfg().policies.settings.feedStall.expectedByMinute, ratio: cfg().policies.settings.feedStall.ratio }),
    });
    dayCloser = new DayCloser({
      feedGuard,
      intradayEntities: async () => {
        if (!cfg().ruleSet.rules.some((r) => r.kind === 'intraday')) return [];
        await cache.refresh();
        return (await registry.list()).filter((e) => evaluator!.plan(e.id)?.rules.some((r) => r.kind === 'intraday')).map((e) => e.id);
      },
      notifications,
      redis,
      keys,
      markDirty: async (ids) => {
        await markDirty(redis, keys, ids);
        drainer?.notify();
      },
      registry, calendar, clock, cron: config.dayCloseCron, logger: log.scheduler, alerts, retentionDays: config.retentionDays, absenceMetrics: () => evaluator!.absenceMetrics() });
    await dayCloser.start();
    campaignDuty = new CampaignDuty({
      service: campaigns, store: campaignDeps.store, days: campaignDeps.days, calendar, clock, logger: log.scheduler, cron: config.reportCron, records: notifications, emailQueue: queues.email,
      retry: () => cfg().policies.settings.retry, recipients: () => cfg().recipients, enabled: () => cfg().directory.contacts.size > 0,
    });
    await campaignDuty.start();
    await duties.startSchedule();
  }

  const consoleDeps = (reads: SeriesStore): ConsoleDeps => ({
    rules: () => cfg().ruleSet.rules,
    contactName: (id) => cfg().directory.contacts.get(id)?.name,
    series: {
      readDays: (entity, metrics, range) => reads.readDailyRange(entity, metrics, range),
      readHours: (entity, metric, from, to) => reads.readHourRange(entity, metric, from, to),
    },
  });

  let http: FastifyInstance | undefined;
  let url: string | undefined;
  {
    const deps: HttpDeps = {
      config,
      clock,
      calendar,
      metrics: () => cfg().catalogue,
      sink,
      registry: api.registry,
      alerts: api.alerts,
      logger: log.http,
      silences: api.silences,
      notifications: api.notifications,
      contactExists: (id) => cfg().directory.contacts.size === 0 || cfg().directory.contacts.has(id),
      contactName: (id) => cfg().directory.contacts.get(id)?.name,
      ruleTitle,
      sms: { reply: (m) => replies.inbound(m), receipt: (r) => replies.receipt(r) },
      ackLinks: config.linkSecret ? { secret: config.linkSecret } : undefined,
      ready: async () => {
        const checks: Record<string, boolean | string> = { rules: cfg().ruleSet.rules.length > 0 };
        try {
          await withTimeout(requestRedis.ping(), READY_TIMEOUT_MS, 'ping');
          checks.redis = true;
          outage.succeeded();
        } catch (err) {
          checks.redis = (err as Error).message;
          outage.failed();
        }
        return { ok: checks.redis === true && checks.rules === true, checks };
      },
      metricsText: async () => ({ contentType: metrics.registry.contentType, body: await metrics.scrape() }),
      campaigns: new CampaignService({ ...campaignDeps, store: new RedisCampaignStore(requestRedis, keys), days: new RedisDailyReads(requestRedis, keys), registry: api.registry, alerts: api.alerts }),
      duties: apiDuties,
      console: consoleDeps(new SeriesStore(requestRedis, keys, calendar, () => cfg().catalogue, config)),
      onIngest: (accepted, rejected, source, counts) => {
        metrics.observer.samplesReceived(source, accepted + (counts?.total ?? rejected.length));
        metrics.observer.samplesAccepted(source, accepted);
        const byCode = new Map<string, number>(Object.entries(counts?.byCode ?? {}));
        if (!counts) for (const r of rejected) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
        for (const [code, n] of byCode) metrics.observer.samplesRejected(source, code, n);
      },
    };
    // Without the api role, the port still serves /healthz, /readyz and /metrics.
    http = roles.has('api') ? buildHttpServer(deps) : buildOpsServer(deps);
    const address = await http.listen({ port: config.httpPort, host: config.httpHost });
    url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
    logger.info({ url, api: roles.has('api') }, roles.has('api') ? 'API listening' : 'health and metrics listening');
  }

  let reloading: Promise<unknown> = Promise.resolve();
  if (opts.watch) {
    const unwatch = watchFolders(
      [config.rulesDir, config.configDir, config.templatesDir],
      () => {
        reloading = reloading.then(() => lookout.reload()).catch((err) => log.config.error({ err: (err as Error).message }, 'reload failed'));
      },
      500,
      (dir, err) => log.config.warn({ dir, err: err.message }, 'not watching this folder for changes'),
    );
    closers.push(async () => unwatch());
  }

  const lookout: Lookout = {
    config,
    redisUrl,
    redis,
    keys,
    calendar,
    clock,
    metrics,
    sink,
    registry,
    alerts,
    series,
    queues,
    http,
    url,
    evaluator,
    relay,
    drainer,
    dayCloser,
    notifier,
    notifications,
    silences,
    feedGuard,
    campaigns,
    campaignDuty,
    duties,
    ruleSet: () => cfg().ruleSet,
    policies: () => cfg().policies,
    async reload() {
      const res = await live.reload();
      if (!res.ok) {
        metrics.configReloads.inc({ outcome: 'error' });
        log.config.error({ errors: res.errors.map((e) => e.format()) }, 'reload refused: the previous rules and policies keep running');
        return { ok: false, errors: res.errors.map((e) => e.format()) };
      }
      metrics.configReloads.inc({ outcome: 'ok' });
      showConfig();
      // New rules may put entities in or out of scope: judge everything again.
      const ids = (await registry.list()).map((e) => e.id);
      await markDirty(redis, keys, ids);
      drainer?.notify();
      log.config.info({ rules: cfg().ruleSet.rules.length, policies: cfg().policies.escalation.length, contacts: cfg().directory.contacts.size, entities: ids.length }, 'configuration reloaded');
      return { ok: true, errors: [] };
    },
    async idle(timeoutMs = 60_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        // Alert events count only when this process consumes them (no consumer: nothing drains).
        const consumesEvents = roles.has('worker') && !opts.noNotifier;
        const none = Promise.resolve({} as Record<string, number>);
        const [s, a, n, d] = await Promise.all([
          queues.samples.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children'),
          consumesEvents ? queues.alertEvents.getJobCounts('waiting', 'active', 'prioritized') : none,
          // Escalation steps wait minutes on purpose: idle means nothing due now is left undone.
          consumesEvents ? queues.escalations.getJobCounts('waiting', 'active', 'prioritized') : none,
          consumesEvents ? sumCounts([queues.dispatch, queues.sms, queues.email, queues.webhook]) : none,
        ]);
        const [dirty, evaluating, outbox] = await Promise.all([redis.zcard(keys.dirty), redis.zcard(keys.evaluating), redis.xlen(keys.events)]);
        const busy = [s, a, n, d].some((c) => Object.values(c).some((x) => x > 0)) || dirty + evaluating + outbox > 0;
        if (!busy) return;
        if (performance.now() > deadline) {
          throw new Error(`not idle after ${timeoutMs} ms: samples ${JSON.stringify(s)} events ${JSON.stringify(a)} steps ${JSON.stringify(n)} messages ${JSON.stringify(d)} dirty ${dirty} evaluating ${evaluating} outbox ${outbox}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      outage.stop();
      await http?.close();
      dayCloser?.stop();
      campaignDuty?.stop();
      // Worker.close() waits for in-flight jobs: SIGTERM drains, it does not abandon.
      await Promise.all(workers.map((w) => w.close()));
      await notifier?.stop();
      await duties.stop();
      await drainer?.stop();
      await relay?.stop();
      for (const close of closers.reverse()) await close();
      await resolved.stop();
    },
  };
  return lookout;
}
