// The API role: the HTTP API, ingest and the console. Without it the port still serves /healthz,
// /readyz and /metrics (the "ops" server every process runs). Closing the server first stops
// new requests before anything behind them closes.

import type { FastifyInstance } from 'fastify';
import type { ConsoleDeps, HttpDeps } from '../http/deps.js';
import { buildHttpServer, buildOpsServer } from '../http/server.js';
import { SmsReplies } from '../notify/sms-replies.js';
import { READY_TIMEOUT_MS, withTimeout } from '../redis/connect.js';
import { SeriesStore } from '../state/series-store.js';
import type { Core } from './core.js';
import type { Features } from './features.js';
import { NO_CHANNELS, notifyContext } from './notify-context.js';
import { Role, type Close } from './role.js';

export class ApiRole extends Role {
  readonly name: 'api' | 'ops';
  http?: FastifyInstance;
  /** http://host:port of the server. */
  url?: string;

  /** `full`: the API role; otherwise health and metrics only. */
  constructor(
    private readonly core: Core,
    private readonly features: Features,
    private readonly full: boolean,
  ) {
    super();
    this.name = full ? 'api' : 'ops';
  }

  protected async open(opened: (close: Close) => void): Promise<void> {
    const { core, full } = this;
    const { config, cfg, request, metrics, outage } = core;
    const replies = new SmsReplies(notifyContext(core, this.features.complaintLead, NO_CHANNELS));
    const features = full ? this.features.forApi(opened) : undefined;
    const reads = new SeriesStore(request.redis, core.keys, core.calendar, () => cfg().catalogue, config);
    const consoleDeps: ConsoleDeps = {
      rules: () => cfg().ruleSet.rules,
      contactName: (id) => cfg().directory.contacts.get(id)?.name,
      series: {
        readDays: (entity, metrics, range) => reads.readDailyRange(entity, metrics, range),
        readHours: (entity, metric, from, to) => reads.readHourRange(entity, metric, from, to),
      },
    };
    const deps: HttpDeps = {
      config,
      clock: core.clock,
      calendar: core.calendar,
      metrics: () => cfg().catalogue,
      sink: core.sink,
      registry: request.registry,
      alerts: request.alerts,
      logger: core.logger.child({ component: 'http' }),
      silences: request.silences,
      notifications: request.notifications,
      contactExists: (id) => cfg().directory.contacts.size === 0 || cfg().directory.contacts.has(id),
      contactName: (id) => cfg().directory.contacts.get(id)?.name,
      ruleTitle: (id) => core.ruleTitle(id),
      sms: { reply: (m) => replies.inbound(m), receipt: (r) => replies.receipt(r) },
      ackLinks: config.linkSecret ? { secret: config.linkSecret } : undefined,
      ready: async () => {
        const checks: Record<string, boolean | string> = { rules: cfg().ruleSet.rules.length > 0 };
        try {
          await withTimeout(request.redis.ping(), READY_TIMEOUT_MS, 'ping');
          checks.redis = true;
          outage.succeeded();
        } catch (err) {
          checks.redis = (err as Error).message;
          outage.failed();
        }
        return { ok: checks.redis === true && checks.rules === true, checks };
      },
      metricsText: async () => ({ contentType: metrics.registry.contentType, body: await metrics.scrape() }),
      campaigns: features?.campaigns,
      duties: features?.duties,
      console: consoleDeps,
      onIngest: (accepted, rejected, source, counts) => {
        metrics.observer.samplesReceived(source, accepted + (counts?.total ?? rejected.length));
        metrics.observer.samplesAccepted(source, accepted);
        const byCode = new Map<string, number>(Object.entries(counts?.byCode ?? {}));
        if (!counts) for (const r of rejected) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
        for (const [code, n] of byCode) metrics.observer.samplesRejected(source, code, n);
      },
    };
    const http = full ? buildHttpServer(deps) : buildOpsServer(deps);
    const address = await http.listen({ port: config.httpPort, host: config.httpHost });
    opened(() => http.close());
    this.http = http;
    this.url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
    core.logger.info({ url: this.url, api: full }, full ? 'API listening' : 'health and metrics listening');
  }
}
