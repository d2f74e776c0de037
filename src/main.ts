// Composition root: config → core → features → roles. Nothing below this file reads the
// environment or the system clock. Roles start in the order worker, scheduler, api and stop the
// other way round (the HTTP server first, the connections and embedded Redis last).

import type { FastifyInstance } from 'fastify';
import type { RedisClient } from './state/client.js';
import type { CampaignReporter } from './campaigns/reporter.js';
import type { CampaignService } from './campaigns/service.js';
import type { AppConfig } from './config/env.js';
import type { AlertEvent } from './domain/alert.js';
import type { Calendar, Clock } from './domain/clock.js';
import type { RuleSet } from './domain/rule.js';
import type { Duties } from './duties/index.js';
import type { QueueSampleSink } from './ingest/queue-sink.js';
import type { Notifier } from './notify/notifier.js';
import type { NotificationStore } from './state/notification-store.js';
import type { LookoutMetrics } from './observability/metrics.js';
import type { EntityEvaluator } from './evaluate/live-evaluator.js';
import type { EvaluationDrainer } from './evaluate/drainer.js';
import type { EventRelay } from './route/event-relay.js';
import type { Keyspace } from './state/keys.js';
import { ApiRole } from './roles/api.js';
import { openCore, type CoreOptions, type Queues } from './roles/core.js';
import type { DayCloser } from './roles/day-closer.js';
import type { FeedGuard } from './roles/feed-guard.js';
import { openFeatures } from './roles/features.js';
import type { Role, RoleName } from './roles/role.js';
import { SchedulerRole } from './roles/scheduler.js';
import { WorkerRole } from './roles/worker.js';
import type { PolicySet } from './route/types.js';
import type { RedisAlertStore } from './state/alert-store.js';
import type { RedisRegistryStore } from './state/registry-store.js';
import type { SeriesStore } from './state/series-store.js';
import type { RedisSilenceStore } from './state/silence-store.js';

export { ROLES, type RoleName } from './roles/role.js';

export interface LookoutOptions extends CoreOptions {
  readonly roles: readonly RoleName[];
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
  readonly redis: RedisClient;
  readonly keys: Keyspace;
  readonly calendar: Calendar;
  readonly clock: Clock;
  readonly metrics: LookoutMetrics;
  readonly sink: QueueSampleSink;
  readonly registry: RedisRegistryStore;
  readonly alerts: RedisAlertStore;
  readonly series: SeriesStore;
  readonly queues: Queues;
  readonly http?: FastifyInstance;
  /** http://host:port of the API role (or of health and metrics without it). */
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
  /** The scheduler's campaign reports: run() is the LOOKOUT_REPORT_CRON job, reportDay(day) one day's reports. */
  readonly campaignReporter?: CampaignReporter;
  /** Reminders, the halls' satisfaction ranking, broadcasts (src/duties). */
  readonly duties: Duties;
  ruleSet(): RuleSet;
  policies(): PolicySet;
  /** Re-read rules, policies, contacts, rotas and templates; swap only if all are valid. */
  reload(): Promise<{ ok: boolean; errors: string[] }>;
  stop(): Promise<void>;
}

export async function startLookout(opts: LookoutOptions): Promise<Lookout> {
  const core = await openCore(opts);
  const features = openFeatures(core);
  const want = new Set(opts.roles);
  const worker = want.has('worker') ? new WorkerRole(core, features, { notify: !opts.noNotifier, onTransition: opts.onTransition, onOutbox: opts.onOutbox }) : undefined;
  const scheduler = want.has('scheduler') ? new SchedulerRole(core, features) : undefined;
  // Without the api role the port still serves /healthz, /readyz and /metrics.
  const api = new ApiRole(core, features, want.has('api'));
  const roles: Role[] = [worker, scheduler, api].filter((r) => r !== undefined);
  for (const role of roles) await role.start();
  if (opts.watch) core.watch();

  const { config, redisUrl, redis, keys, calendar, clock, metrics, sink, registry, alerts, series, queues, notifications, silences, cfg } = core;
  return {
    config, redisUrl, redis, keys, calendar, clock, metrics, sink, registry, alerts, series, queues, notifications, silences,
    http: api.http, url: api.url, relay: worker?.relay, drainer: worker?.drainer, notifier: worker?.notifier,
    dayCloser: scheduler?.dayCloser, feedGuard: scheduler?.feedGuard, campaignReporter: scheduler?.campaignReporter,
    evaluator: worker || scheduler ? core.evaluator() : undefined,
    campaigns: features.campaigns,
    duties: features.duties,
    ruleSet: () => cfg().ruleSet,
    policies: () => cfg().policies,
    reload: () => core.reload(),
    async stop() {
      // Shutting down: closed connections are no outage.
      core.outage.stop();
      for (const role of [...roles].reverse()) await role.stop();
      await features.close();
      await core.close();
    },
  };
}
