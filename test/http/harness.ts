// Builds the HTTP app over the in-memory stores, for app.inject() tests.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/env.js';
import type { AlertRecord } from '../../src/domain/alert.js';
import type { Entity } from '../../src/domain/entity.js';
import { fingerprint } from '../../src/domain/alert.js';
import { Calendar, ManualClock } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { SampleRejection } from '../../src/domain/sample.js';
import { buildHttpServer } from '../../src/http/server.js';
import type { ReadyReport } from '../../src/http/deps.js';
import { MemoryAlertStore, MemoryRegistryStore, MemorySampleSink } from '../../src/state/memory-stores.js';
import type { SilenceStore } from '../../src/state/ports.js';

export const NOW = Date.parse('2026-11-21T10:00:00+08:00');
export const INGEST_TOKEN = 'ingest-token-0123';
export const OPERATOR_TOKEN = 'operator-token-4567';

export function alertRecord(over: Partial<AlertRecord> & { rule: string; entity: string }): AlertRecord {
  const fp = fingerprint(over.rule, over.entity);
  return {
    id: fp,
    fingerprint: fp,
    state: 'firing',
    severity: 'warning',
    episode: 1,
    seq: 2,
    notify: true,
    period: '2026-11-20',
    summary: '开卡量 40，同期基线 100，下降 60%',
    startsAt: NOW - 3_600_000,
    firingAt: NOW - 3_600_000,
    updatedAt: NOW - 3_600_000,
    labels: {},
    ...over,
  };
}

export interface HarnessOptions {
  readonly env?: Record<string, string>;
  readonly alerts?: AlertRecord[];
  readonly withLogger?: boolean;
  /** Absent: the silences routes answer 503 not_ready. */
  readonly silences?: SilenceStore;
  /** The registry's entities (alerts in the API carry their names). */
  readonly entities?: Entity[];
  /** Rule titles by rule id (`name:` in the rules YAML). */
  readonly ruleTitles?: Record<string, string>;
  /** Contact names by contact id. */
  readonly contactNames?: Record<string, string>;
}

export function harness(opts: HarnessOptions = {}) {
  const config = loadConfig({ LOOKOUT_TZ: 'Asia/Shanghai', ...opts.env });
  const clock = new ManualClock(NOW);
  const calendar = new Calendar(config.timeZone);
  const sink = new MemorySampleSink();
  const registry = new MemoryRegistryStore(opts.entities ?? []);
  const alerts = new MemoryAlertStore(opts.alerts ?? []);
  const ingested: { accepted: number; rejected: readonly SampleRejection[]; source: string }[] = [];
  const state: { ready: ReadyReport | Error } = { ready: { ok: true, checks: { redis: true, rules: true } } };
  const logLines: string[] = [];
  const logger = opts.withLogger
    ? pino(
        { level: 'debug' },
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            logLines.push(chunk.toString());
            cb();
          },
        }),
      )
    : undefined;
  const app = buildHttpServer({
    config,
    clock,
    calendar,
    metrics: () => metricCatalogue(),
    sink,
    registry,
    alerts,
    silences: opts.silences,
    ruleTitle: (id) => opts.ruleTitles?.[id],
    contactName: (id) => opts.contactNames?.[id],
    ready: async () => {
      if (state.ready instanceof Error) throw state.ready;
      return state.ready;
    },
    metricsText: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# HELP lookout_up Up.\n# TYPE lookout_up gauge\nlookout_up 1\n' }),
    logger,
    onIngest: (accepted, rejected, source) => ingested.push({ accepted, rejected, source }),
  });
  return { app, config, clock, sink, registry, alerts, ingested, state, logLines };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
