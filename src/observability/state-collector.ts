// Gauges read from stored state at scrape time: Redis round trip, queue depth, open and firing
// alerts, alerts that climbed unacknowledged. Reading queues and alerts costs Redis round trips
// proportional to what is open, so it is refreshed in the background at most every `cacheMs` and a
// scrape serves the latest reading (stale-while-revalidate): /metrics stays fast with a province
// of open alerts, and several Prometheus servers never multiply the load.

import type { Queue } from 'bullmq';
import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import type { RedisAlertStore } from '../state/alert-store.js';
import type { StateProbe } from '../state/state-probe.js';
import { withTimeout } from '../redis/connect.js';
import type { LookoutMetrics, stateGauges } from './metrics.js';

export interface StateCollectorDeps {
  readonly state: StateProbe;
  readonly queues: Readonly<Record<string, Pick<Queue, 'getJobCounts'>>>;
  readonly alerts: RedisAlertStore;
  readonly entity: (id: string) => Entity | undefined;
  readonly metrics: LookoutMetrics;
  readonly gauges: ReturnType<typeof stateGauges>;
  readonly cacheMs?: number;
  /** Bound on the ping and on the first reading, so a scrape answers while Redis is away. */
  readonly timeoutMs?: number;
  /** Told each ping's outcome (the outage tracker). */
  readonly onPing?: (ok: boolean) => void;
}

/**
 * One series per firing alert, rendered as exposition text once per refresh rather than kept in
 * prom-client gauges (thousands of label sets re-serialised on every scrape).
 */
export const FIRING_SERIES = {
  lookout_alert_firing: { help: 'One series per firing (or acknowledged) alert, value 1', labels: ['rule', 'severity', 'entity', 'entity_name', 'kind', 'region', 'district', 'state'] },
  lookout_alert_value: { help: 'Observed value of each firing alert (e.g. complaints that day), same series as lookout_alert_firing', labels: ['rule', 'severity', 'entity', 'entity_name', 'region', 'district'] },
  lookout_alert_measure: { help: "The rule's measure for each firing alert: % below baseline, complaints per 10k, × baseline", labels: ['rule', 'severity', 'entity', 'entity_name', 'region', 'district'] },
} as const;

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function firingText(open: readonly AlertRecord[], entity: (id: string) => Entity | undefined): string {
  const lines: Record<keyof typeof FIRING_SERIES, string[]> = { lookout_alert_firing: [], lookout_alert_value: [], lookout_alert_measure: [] };
  for (const a of open) {
    if (a.state === 'pending') continue;
    // Names ride on the alert's own series (one per firing alert), so they add no series of their own.
    const e = entity(a.entity);
    const base =
      `rule="${esc(a.rule)}",severity="${a.severity}",entity="${esc(a.entity)}",entity_name="${esc(e?.name ?? '')}",` +
      `region="${esc(e?.region ?? '')}",district="${esc(e?.district ?? '')}"`;
    lines.lookout_alert_firing.push(`lookout_alert_firing{${base},kind="${e?.kind ?? ''}",state="${a.state}"} 1`);
    if (a.value !== undefined) lines.lookout_alert_value.push(`lookout_alert_value{${base}} ${a.value}`);
    if (a.measure !== undefined) lines.lookout_alert_measure.push(`lookout_alert_measure{${base}} ${a.measure}`);
  }
  return Object.entries(FIRING_SERIES)
    .map(([name, def]) => [`# HELP ${name} ${def.help}`, `# TYPE ${name} gauge`, ...lines[name as keyof typeof FIRING_SERIES]].join('\n'))
    .join('\n');
}

export interface StateCollector {
  /** Refresh what is due (awaiting only the first reading) — called before each scrape. */
  collect(): Promise<void>;
  /** The per-alert series of the latest reading. */
  firingText(): string;
}

export function stateCollector(d: StateCollectorDeps): StateCollector {
  let freshAt = -Infinity;
  let refreshing: Promise<void> | undefined;
  let firing = firingText([], d.entity);
  let failure: unknown;

  const refresh = async () => {
    const names = Object.keys(d.queues);
    const counts = await Promise.all(names.map((n) => d.queues[n]!.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized')));
    names.forEach((queue, i) => {
      for (const [state, n] of Object.entries(counts[i]!)) d.gauges.queueDepth.set({ queue, state }, n);
    });

    const open = await d.alerts.listOpen();
    const climbing = open.filter((a) => a.state === 'firing' && a.notify);
    const levels = await d.state.escalationLevels(climbing.map((a) => a.fingerprint));

    d.gauges.alertsOpen.reset();
    d.gauges.unackedPastFirstStep.reset();
    for (const a of open) d.gauges.alertsOpen.inc({ rule: a.rule, severity: a.severity, state: a.state });
    climbing.forEach((a, i) => {
      if (levels[i]! >= 2) d.gauges.unackedPastFirstStep.inc({ severity: a.severity });
    });
    firing = firingText(open, d.entity);
    freshAt = performance.now();
  };

  return {
    async collect() {
      const t0 = performance.now();
      const timeoutMs = d.timeoutMs ?? 1000;
      try {
        await withTimeout(d.state.ping(), timeoutMs, 'ping');
      } catch (err) {
        d.metrics.redisUp.set(0);
        d.onPing?.(false);
        throw err;
      }
      d.metrics.redisUp.set(1);
      d.onPing?.(true);
      d.metrics.redisRtt.set((performance.now() - t0) / 1000);
      if (failure !== undefined) {
        // A background refresh failed: this scrape says so (lookout_scrape_collector_ok 0).
        const err = failure;
        failure = undefined;
        throw err;
      }
      if (performance.now() - freshAt < (d.cacheMs ?? 2000) || refreshing) return refreshing && freshAt === -Infinity ? withTimeout(refreshing, timeoutMs, 'first reading') : undefined;
      refreshing = refresh().finally(() => (refreshing = undefined));
      // The first reading is awaited (a scrape never shows nothing); later ones refresh behind it.
      if (freshAt === -Infinity) return withTimeout(refreshing, timeoutMs, 'first reading');
      refreshing.catch((err: unknown) => (failure = err));
    },
    firingText: () => firing,
  };
}
