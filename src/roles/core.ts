// The core every role builds from: the live configuration, the Redis connections (the workers'
// and the request path's fail-fast one), keyspace, queues, stores, clock, calendar, logger and
// metrics. Opened once per process before any role, closed after the last role has stopped.

import { FlowProducer, Queue, type ConnectionOptions } from 'bullmq';
import type { RedisClient } from '../state/client.js';
import { isCluster } from '../state/client.js';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/env.js';
import { formatErrors, LiveConfig, loadConfigSet, type LoadedConfig } from '../config/live-config.js';
import { appClock } from '../config/now.js';
import { loadRegistryFiles } from '../config/registry-loader.js';
import { watchFolders } from '../config/watch.js';
import type { AlertEvent } from '../domain/alert.js';
import { Calendar, liveFrom, type Clock, type Crons } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import type { RuleSet } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';
import { QueueSampleSink } from '../ingest/queue-sink.js';
import { ColumnarReaders } from '../queues/payload-readers.js';
import { NotificationStore } from '../state/notification-store.js';
import { createMetrics, stateGauges, type LookoutMetrics } from '../observability/metrics.js';
import { stateCollector } from '../observability/state-collector.js';
import { SnapshotReader } from '../state/judgement-snapshot.js';
import { RedisStateProbe } from '../state/state-probe.js';
import { EntityEvaluator } from '../evaluate/live-evaluator.js';
import { QUEUES, type SampleBatchJob } from '../queues/names.js';
import { openBackfillQueues, type BackfillQueues } from '../queues/backfill-partitions.js';
import { clusterPrefix, keyspace, type Keyspace } from '../state/keys.js';
import { checkRedis, connectDeployment, locateRedis, OutageTracker, READY_TIMEOUT_MS, REQUEST_TIMEOUT_MS, waitReady } from '../redis/connect.js';
import { resolveRedis } from '../redis/resolve.js';
import { combineMuters, InhibitionMuter, SilenceMuter } from '../route/muter.js';
import type { Muter, PolicySet } from '../route/types.js';
import { RedisAlertStore } from '../state/alert-store.js';
import { markDirty } from '../state/dirty.js';
import { RedisRegistryStore, RegistryCache } from '../state/registry-store.js';
import { chooseLayout } from '../state/layout-choice.js';
import { SeriesStore } from '../state/series-store.js';
import { RedisSilenceStore } from '../state/silence-store.js';
import { wallCrons } from './crons.js';
import { Closers } from './role.js';

export interface CoreOptions {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Where crons and periodic jobs run; default the wall clock (tests pass ManualCrons with their ManualClock). */
  readonly crons?: Crons;
  /** Replace the rules directory with an already-loaded set (tests). */
  readonly ruleSet?: RuleSet;
  /** Replace rules/policies.yaml with an already-loaded policy set (tests). */
  readonly policies?: PolicySet;
}

/** The queues this process adds to or counts (workers and the notifier open their own consumers). */
export type Queues = {
  readonly samples: Queue<SampleBatchJob>;
  /**
   * Sample jobs with no live sample (queue-sink.ts): a backfill, never ahead of a live sample; its
   * partitions and the unpartitioned queue, counted as one (queues/backfill-partitions.ts).
   */
  readonly backfill: BackfillQueues<Queue<SampleBatchJob>>;
  readonly alertEvents: Queue<AlertEvent>;
  readonly escalations: Queue;
  readonly dispatch: Queue;
  readonly sms: Queue;
  readonly email: Queue;
  readonly webhook: Queue;
};

/** What HTTP handlers read and write: over the request connection, so they answer 503 while Redis is away. */
export interface RequestSide {
  readonly redis: RedisClient;
  readonly connection: ConnectionOptions;
  readonly registry: RedisRegistryStore;
  readonly alerts: RedisAlertStore;
  readonly notifications: NotificationStore;
  readonly silences: RedisSilenceStore;
}

export interface Core {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly crons: Crons;
  readonly calendar: Calendar;
  readonly keys: Keyspace;
  /** Rules, policies, contacts, rotas and templates in force (a reload swaps them whole). */
  cfg(): LoadedConfig;
  readonly redisUrl: string;
  /** The workers' connection: it waits through an outage. */
  readonly redis: RedisClient;
  /** BullMQ's producer connection (a duplicate of `redis`). */
  readonly connection: ConnectionOptions;
  readonly queues: Queues;
  readonly request: RequestSide;
  readonly metrics: LookoutMetrics;
  readonly outage: OutageTracker;
  readonly sink: QueueSampleSink;
  readonly registry: RedisRegistryStore;
  readonly cache: RegistryCache;
  readonly alerts: RedisAlertStore;
  readonly series: SeriesStore;
  readonly notifications: NotificationStore;
  readonly silences: RedisSilenceStore;
  /** Silences and inhibition, one muter. */
  readonly muter: Muter;
  /** A rule's title (its `name:`); the feed guard's alert has no rule file. */
  ruleTitle(id: string): string | undefined;
  /** The one entity evaluator the worker and the scheduler share. */
  evaluator(): EntityEvaluator;
  /** A new connection like `redis` whose errors the outage tracker reports; the caller closes it. */
  duplicate(name: string): RedisClient;
  /** Mark entities to be judged again and wake this process's drainer. */
  markDirty(ids: readonly string[]): Promise<void>;
  /** Be told when this process marks entities dirty (the worker's drainer). */
  onDirty(wake: () => void): void;
  /** Re-read rules, policies, contacts, rotas and templates; swap only if all are valid. */
  reload(): Promise<{ ok: boolean; errors: string[] }>;
  /** Reload when the rules, config or templates folders change (until close). */
  watch(): void;
  close(): Promise<void>;
}

const quit = (c: RedisClient) => async () => c.quit().catch(() => c.disconnect());

export async function openCore(opts: CoreOptions): Promise<Core> {
  const { logger } = opts;
  let config = opts.config;
  const configLog = logger.child({ component: 'config' });
  const clock = opts.clock ?? appClock(config);
  const crons = opts.crons ?? wallCrons(logger.child({ component: 'crons' }));
  const calendar = new Calendar(config.timeZone);
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
  const closers = new Closers();
  closers.push(() => resolved.stop());
  // Nothing is started yet when Redis does not answer: close what was opened and say why.
  const giveUp = async (err: unknown, ...opened: RedisClient[]): Promise<never> => {
    for (const c of opened) c.disconnect();
    await resolved.stop();
    throw err;
  };
  // A Redis Cluster (any node of it in REDIS_URL, or several comma-separated): the control plane
  // under one hash tag, queues likewise, the series in the compact layout spread by entity shard.
  const target = config.redisUrl ? await locateRedis(resolved.url).catch((err: unknown) => giveUp(err)) : { url: resolved.url, cluster: false };
  const onCluster = target.cluster;
  if (onCluster) {
    if (config.seriesLayoutSet && config.seriesLayout !== 'compact') {
      await giveUp(new ConfigError('cluster_needs_compact', 'REDIS_URL names a Redis Cluster and LOOKOUT_SERIES_LAYOUT=buckets: the buckets layout cannot be split by hash tags; unset it or set compact (docs/scaling.md)'));
    }
    config = { ...config, prefix: clusterPrefix(config.prefix), seriesLayout: 'compact' };
    logger.info({ prefix: config.prefix }, 'Redis Cluster: control plane and queues under one hash tag, series in the compact layout by shard');
  }
  const keys = keyspace(config.prefix);
  const redis: RedisClient = connectDeployment(target, 'lookout');
  closers.push(quit(redis));
  await checkRedis(redis).catch((err: unknown) => giveUp(err, redis));
  // Compact on a Redis the buckets layout filled: refused until `lookout migrate` completed.
  // The layout: LOOKOUT_SERIES_LAYOUT, else the one recorded in Redis, else buckets for an
  // un-migrated deployment from before, compact for a new one (compact over un-migrated bucket
  // data is refused: migration_needed).
  const chosen = await chooseLayout(redis, keys, config.seriesLayoutSet || onCluster ? config.seriesLayout : undefined).catch((err: unknown) => giveUp(err, redis));
  config = { ...config, seriesLayout: chosen.layout };
  logger.info({ layout: chosen.layout, why: chosen.why }, 'series layout');
  if (chosen.layout === 'buckets' && !config.seriesLayoutSet) logger.warn('series are in the buckets layout (about 10x the memory of compact): `lookout migrate` moves them (docs/scaling.md "Upgrade path")');
  // The request path (API, ingest, readiness, scrapes) has its own fail-fast connection: while
  // Redis is away requests answer 503 within a bound; workers keep waiting on theirs.
  const requestRedis: RedisClient = connectDeployment(target, 'lookout-request', 'request');
  closers.push(quit(requestRedis));
  await waitReady(requestRedis).catch((err: unknown) => giveUp(err, requestRedis, redis));

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
  redis.on('error', () => undefined);
  const duplicate = (name: string): RedisClient =>
    (isCluster(redis) ? redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, connectionName: name } }) : redis.duplicate({ connectionName: name })).on('error', () => undefined);
  const producer = duplicate('lookout-bullmq');
  closers.push(async () => producer.quit().catch(() => undefined));
  const connection = producer as unknown as ConnectionOptions;
  const queueOpts = { connection, prefix: config.prefix };
  const backfillQueues = (opts: typeof queueOpts) => openBackfillQueues<SampleBatchJob>(opts, config.backfillPartitions, config.shards);
  const queues: Queues = {
    samples: new Queue<SampleBatchJob>(QUEUES.samples, queueOpts),
    backfill: backfillQueues(queueOpts),
    alertEvents: new Queue<AlertEvent>(QUEUES.alertEvents, queueOpts),
    escalations: new Queue(QUEUES.escalations, queueOpts),
    dispatch: new Queue(QUEUES.dispatch, queueOpts),
    sms: new Queue(QUEUES.sms, queueOpts),
    email: new Queue(QUEUES.email, queueOpts),
    webhook: new Queue(QUEUES.webhook, queueOpts),
  };
  closers.push(() => Promise.all(Object.values(queues).map((q: Pick<Queue, 'close'>) => q.close())));
  // BullMQ prints unheard queue errors to the console; an outage is reported once, by the tracker.
  for (const q of Object.values(queues)) (q as Pick<Queue, 'on'>).on('error', () => undefined);

  // A changed entity is judged again (scope, attributes, live window may have moved).
  const registry = new RedisRegistryStore(redis, keys, (ids) => markDirty(redis, keys, ids));
  registered.list = () => registry.list();
  if (registryFiles.entities.length) {
    await registry.putMany(registryFiles.entities);
    logger.info({ entities: registryFiles.entities.length, dir: config.configDir }, 'registry loaded from files');
  }
  const alerts = new RedisAlertStore(redis, keys);
  const series = new SeriesStore(redis, keys, calendar, () => cfg().catalogue, config);
  const requestConnection = requestRedis as unknown as ConnectionOptions;
  const requestOpts = { connection: requestConnection, prefix: config.prefix };
  const ingestQueue = new Queue<SampleBatchJob>(QUEUES.samples, requestOpts);
  const ingestBackfill = backfillQueues(requestOpts);
  const ingestFlows = new FlowProducer(requestOpts);
  closers.push(() => Promise.all([ingestQueue.close(), ingestBackfill.close(), ingestFlows.close()]));
  ingestQueue.on('error', () => undefined);
  ingestBackfill.on('error', () => undefined);
  ingestFlows.on('error', () => undefined);
  const sink = new QueueSampleSink(ingestQueue, config.batchSize, clock, {
    flows: ingestFlows,
    ready: () => requestRedis.status === 'ready',
    timeoutMs: REQUEST_TIMEOUT_MS,
    groupByEntity: config.seriesLayout === 'compact',
    columns: new ColumnarReaders(ingestQueue),
    observer: metrics.observer,
    backfill: { queue: ingestBackfill.unpartitioned, queueOf: (e) => ingestBackfill.queueOf(e), liveFrom: () => liveFrom(calendar, clock) },
  });
  const request: RequestSide = {
    redis: requestRedis,
    connection: requestConnection,
    registry: new RedisRegistryStore(requestRedis, keys, (ids) => markDirty(requestRedis, keys, ids)),
    alerts: new RedisAlertStore(requestRedis, keys),
    notifications: new NotificationStore(requestRedis, keys),
    silences: new RedisSilenceStore(requestRedis, keys),
  };
  const cache = new RegistryCache(redis, keys);
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
  metrics.setCollector(
    stateCollector({
      state: new RedisStateProbe(requestRedis, keys), queues, alerts, entity: (id) => cache.get(id), metrics, gauges: stateGauges(metrics.registry), timeoutMs: READY_TIMEOUT_MS,
      onPing: (ok) => (ok ? outage.succeeded() : outage.failed()),
    }),
  );

  let evaluator: EntityEvaluator | undefined;
  const wakers: (() => void)[] = [];
  const core: Core = {
    config, logger, clock, crons, calendar, keys, cfg, redisUrl: resolved.url, redis, connection, queues, request, metrics, outage, sink,
    registry, cache, alerts, series, notifications: new NotificationStore(redis, keys), silences, muter,
    ruleTitle: (id) => cfg().ruleNames.get(id) ?? (id === 'feed_stalled' ? '数据源中断' : undefined),
    evaluator: () => (evaluator ??= new EntityEvaluator(new SnapshotReader(redis, keys, series), series, alerts, cache, () => cfg().ruleSet, calendar, metrics.observer)),
    duplicate,
    async markDirty(ids) {
      await markDirty(redis, keys, ids);
      for (const wake of wakers) wake();
    },
    onDirty: (wake) => void wakers.push(wake),
    async reload() {
      const res = await live.reload();
      if (!res.ok) {
        metrics.configReloads.inc({ outcome: 'error' });
        configLog.error({ errors: res.errors.map((e) => e.format()) }, 'reload refused: the previous rules and policies keep running');
        return { ok: false, errors: res.errors.map((e) => e.format()) };
      }
      metrics.configReloads.inc({ outcome: 'ok' });
      showConfig();
      // New rules may put entities in or out of scope: judge everything again.
      let entities = 0;
      for await (const ids of registry.idPages()) {
        await core.markDirty(ids);
        entities += ids.length;
      }
      configLog.info({ rules: cfg().ruleSet.rules.length, policies: cfg().policies.escalation.length, contacts: cfg().directory.contacts.size, entities }, 'configuration reloaded');
      return { ok: true, errors: [] };
    },
    watch() {
      let reloading: Promise<unknown> = Promise.resolve();
      const unwatch = watchFolders(
        [config.rulesDir, config.configDir, config.templatesDir],
        () => {
          reloading = reloading.then(() => core.reload()).catch((err) => configLog.error({ err: (err as Error).message }, 'reload failed'));
        },
        500,
        (dir, err) => configLog.warn({ dir, err: err.message }, 'not watching this folder for changes'),
      );
      closers.push(unwatch);
    },
    close: () => closers.close(),
  };
  return core;
}
