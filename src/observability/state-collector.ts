// Gauges read from stored state at scrape time: Redis round trip, queue depth, open and firing
// alerts, alerts that climbed unacknowledged. Queue and alert reads are cached briefly so a busy
// Prometheus (or several) never turns /metrics into load.

import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Entity } from '../domain/entity.js';
import type { Keyspace } from '../queues/names.js';
import type { RedisAlertStore } from '../state/alert-store.js';
import type { LookoutMetrics, stateGauges } from './metrics.js';

export interface StateCollectorDeps {
  readonly redis: Redis;
  readonly keys: Keyspace;
  readonly queues: Readonly<Record<string, Queue>>;
  readonly alerts: RedisAlertStore;
  readonly entity: (id: string) => Entity | undefined;
  readonly metrics: LookoutMetrics;
  readonly gauges: ReturnType<typeof stateGauges>;
  readonly cacheMs?: number;
}

export function stateCollector(d: StateCollectorDeps): () => Promise<void> {
  let fresh = -Infinity;
  return async () => {
    const t0 = performance.now();
    try {
      await d.redis.ping();
    } catch (err) {
      d.metrics.redisUp.set(0);
      throw err;
    }
    d.metrics.redisUp.set(1);
    d.metrics.redisRtt.set((performance.now() - t0) / 1000);
    if (performance.now() - fresh < (d.cacheMs ?? 2000)) return;

    const names = Object.keys(d.queues);
    const counts = await Promise.all(names.map((n) => d.queues[n]!.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized')));
    names.forEach((queue, i) => {
      for (const [state, n] of Object.entries(counts[i]!)) d.gauges.queueDepth.set({ queue, state }, n);
    });

    const open = await d.alerts.listOpen();
    const firing = open.filter((a) => a.state === 'firing' && a.notify);
    const p = d.redis.pipeline();
    for (const a of firing) p.hget(d.keys.escalation(a.fingerprint), 'level');
    const levels = ((await p.exec()) ?? []).map(([, v]) => Number(v ?? 0));

    d.gauges.alertsOpen.reset();
    d.gauges.alertFiring.reset();
    d.gauges.alertValue.reset();
    d.gauges.alertMeasure.reset();
    d.gauges.unackedPastFirstStep.reset();
    for (const a of open) {
      d.gauges.alertsOpen.inc({ rule: a.rule, severity: a.severity, state: a.state });
      if (a.state === 'pending') continue;
      const labels = { rule: a.rule, severity: a.severity, entity: a.entity, region: d.entity(a.entity)?.region ?? '' };
      d.gauges.alertFiring.set({ ...labels, state: a.state }, 1);
      if (a.value !== undefined) d.gauges.alertValue.set(labels, a.value);
      if (a.measure !== undefined) d.gauges.alertMeasure.set(labels, a.measure);
    }
    firing.forEach((a, i) => {
      if (levels[i]! >= 2) d.gauges.unackedPastFirstStep.inc({ severity: a.severity });
    });
    fresh = performance.now();
  };
}
