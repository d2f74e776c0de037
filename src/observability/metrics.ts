// Every prom-client metric Lookout exports, in one file. Labels stay low-cardinality: source,
// code, rule, severity, state — never an entity, phone or fingerprint.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertEvent } from '../domain/alert.js';
import type { NotifyObserver } from '../notify/context.js';
import type { PipelineObserver } from './events.js';

export interface LookoutMetrics {
  readonly registry: Registry;
  readonly observer: PipelineObserver;
  readonly notify: NotifyObserver;
  readonly rulesLoaded: Gauge;
  readonly redisUp: Gauge;
  readonly redisRtt: Gauge;
  /** Redis outages seen by this process: count, total seconds, and the last one's length. */
  readonly redisOutages: Counter;
  readonly redisOutageSeconds: Counter;
  readonly redisLastOutage: Gauge;
  /** Rule/policy reloads by outcome (ok, error). */
  readonly configReloads: Counter;
  /** 1, labelled with the hashes of the loaded rules, policies and contacts. */
  readonly configInfo: Gauge;
  /** Called at scrape time to refresh gauges read from Redis/BullMQ; `text` adds pre-rendered series. */
  setCollector(c: { collect(): Promise<void>; firingText?(): string }): void;
  /** The exposition text: state gauges are refreshed first, then every metric is serialised. */
  scrape(): Promise<string>;
  /**
   * Where lookout_apply_conflicts_total reads from at scrape time: the running count of this
   * process's compact apply calls whose fenced write found a key changed since it was read.
   */
  countApplyConflicts(read: () => number): void;
  /** Where lookout_backfill_partitions_served reads from at scrape time: the backfill partitions this worker process serves, and the live members. */
  showBackfillPartitions(read: () => { readonly serving: readonly number[]; readonly members: number }): void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): LookoutMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'lookout_' });
    // Gauges named *_total fail `promtool check metrics`; the per-type gauges without _total stay.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`lookout_nodejs_${name}`);
  }
  const r = [registry];

  const received = new Counter({ name: 'lookout_samples_received_total', help: 'Samples received, by source', labelNames: ['source'], registers: r });
  const accepted = new Counter({ name: 'lookout_samples_accepted_total', help: 'Samples accepted (durable in Redis), by source', labelNames: ['source'], registers: r });
  const rejected = new Counter({ name: 'lookout_samples_rejected_total', help: 'Samples rejected, by source and reject code', labelNames: ['source', 'code'], registers: r });
  const unknown = new Counter({ name: 'lookout_samples_unknown_entity_total', help: 'Samples stored for entities not in the registry', registers: r });
  const applied = new Counter({ name: 'lookout_samples_applied_total', help: 'Samples applied to buckets by workers', registers: r });
  const roundJobs = new Histogram({
    name: 'lookout_apply_round_jobs',
    help: 'Sample jobs a worker applied together in one round, by lane (live: a sample of today or yesterday; group commit: more under a backlog, 1 when idle)',
    labelNames: ['lane'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: r,
  });
  const stalled = new Counter({
    name: 'lookout_sample_jobs_stalled_total',
    help: 'Sample jobs this worker found stalled (a worker died or a lock lapsed) and queued again, by queue (live: samples, backfill: samples-backfill and its partitions)',
    labelNames: ['queue'],
    registers: r,
  });
  const followed = new Counter({
    name: 'lookout_live_samples_followed_total',
    help: 'Live samples this door queued behind their entity\'s backfill, in its partition, to be applied and judged with it (docs/ingest.md "A live sample follows its backfill")',
    registers: r,
  });
  const batchSeconds = new Histogram({ name: 'lookout_batch_apply_seconds', help: 'Time to validate and apply one sample batch', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: r });
  const lag = new Histogram({
    name: 'lookout_ingest_lag_seconds',
    help: 'Event time → applied by a worker (sampled per batch)',
    buckets: [1, 5, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 3 * 86400],
    registers: r,
  });
  const metricSamples = new Counter({ name: 'lookout_metric_samples_total', help: 'Samples applied, by metric (card_opening, complaints …)', labelNames: ['metric'], registers: r });
  const metricValues = new Counter({ name: 'lookout_metric_value_total', help: 'Sum of applied sample values, by metric (e.g. complaints received across all campaigns)', labelNames: ['metric'], registers: r });
  const evaluated = new Counter({ name: 'lookout_evaluations_total', help: 'Entity evaluations (all in-scope rules of one entity)', registers: r });
  const evalSeconds = new Histogram({ name: 'lookout_evaluation_seconds', help: 'Time to evaluate one group of entities', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: r });
  const conflicts = new Counter({ name: 'lookout_evaluation_conflicts_total', help: 'Evaluations retried because another worker changed the entity meanwhile', registers: r });
  let applyConflictsRead: (() => number) | undefined;
  let applyConflictsSeen = 0;
  new Counter({
    name: 'lookout_apply_conflicts_total',
    help: 'Compact apply calls whose fenced write found a key changed since the worker read it (another worker wrote the same series meanwhile): read and computed again',
    registers: r,
    collect() {
      const n = applyConflictsRead?.() ?? 0;
      if (n > applyConflictsSeen) this.inc(n - applyConflictsSeen);
      applyConflictsSeen = Math.max(applyConflictsSeen, n);
    },
  });
  let partitionsRead: (() => { readonly serving: readonly number[]; readonly members: number }) | undefined;
  new Gauge({
    name: 'lookout_backfill_partitions_served',
    help: 'Backfill partitions (queues samples-backfill-p<k>) this worker process serves now; summed over the worker processes it is LOOKOUT_BACKFILL_PARTITIONS once the sharing has settled',
    registers: r,
    collect() {
      if (partitionsRead) this.set(partitionsRead().serving.length);
    },
  });
  new Gauge({
    name: 'lookout_backfill_members',
    help: 'Worker processes sharing the backfill partitions, as this one last saw them (heartbeats not lapsed)',
    registers: r,
    collect() {
      if (partitionsRead) this.set(partitionsRead().members);
    },
  });
  const transitions = new Counter({ name: 'lookout_alert_transitions_total', help: 'Alert transitions, by rule and states', labelNames: ['rule', 'from', 'to', 'severity'], registers: r });
  const rulesLoaded = new Gauge({ name: 'lookout_rules_loaded', help: 'Rules currently loaded', registers: r });
  const redisUp = new Gauge({ name: 'lookout_redis_up', help: '1 when Redis answered the last ping', registers: r });
  const redisRtt = new Gauge({ name: 'lookout_redis_rtt_seconds', help: 'Round-trip time of the last Redis PING (at scrape time)', registers: r });
  const redisOutages = new Counter({ name: 'lookout_redis_outages_total', help: 'Times Redis became unreachable (request path failed or connection closed)', registers: r });
  const redisOutageSeconds = new Counter({ name: 'lookout_redis_outage_seconds_total', help: 'Seconds Redis was unreachable, summed over ended outages', registers: r });
  const redisLastOutage = new Gauge({ name: 'lookout_redis_last_outage_seconds', help: 'Length of the last ended Redis outage (0 when none since start)', registers: r });
  const configReloads = new Counter({ name: 'lookout_config_reloads_total', help: 'Rule and policy reloads, by outcome (ok, error: the previous set stays)', labelNames: ['outcome'], registers: r });
  const configInfo = new Gauge({ name: 'lookout_config_info', help: 'Always 1; labels carry the hashes of the loaded rules, policies and contacts', labelNames: ['rules', 'policies', 'contacts'], registers: r });
  const ackSeconds = new Histogram({
    name: 'lookout_time_to_ack_seconds',
    help: 'Process indicator: alert fired → acknowledged, by severity and the escalation level reached',
    labelNames: ['severity', 'level'],
    buckets: [60, 300, 600, 1800, 3600, 7200, 4 * 3600, 12 * 3600, 86400],
    registers: r,
  });
  const resolveSeconds = new Histogram({
    name: 'lookout_time_to_resolve_seconds',
    help: 'Process indicator: alert fired → resolved, by severity and the escalation level reached',
    labelNames: ['severity', 'level'],
    buckets: [600, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400],
    registers: r,
  });

  const notifications = new Counter({
    name: 'lookout_notifications_total',
    help: 'Notification outcomes by channel: sent, failed, retried, resent_after_crash, resent_in_doubt, deferred, grouped, muted, damped, cancelled, failover, no_recipient, stale',
    labelNames: ['channel', 'outcome'],
    registers: r,
  });
  const sendSeconds = new Histogram({ name: 'lookout_notification_send_seconds', help: 'Time for a channel to accept one message', labelNames: ['channel'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r });
  const receipts = new Counter({ name: 'lookout_sms_receipts_total', help: 'SMS delivery receipts by status', labelNames: ['status'], registers: r });
  const replies = new Counter({ name: 'lookout_sms_replies_total', help: 'SMS replies by outcome (acked, already, not_ackable, stranger, unknown_code, unrecognised)', labelNames: ['outcome'], registers: r });
  const escalations = new Counter({ name: 'lookout_escalation_steps_total', help: 'Escalation steps run, by level (1 = first step) and severity', labelNames: ['level', 'severity'], registers: r });

  const jobsFailed = new Counter({
    name: 'lookout_notify_jobs_failed_total',
    help: 'Jobs of a notify queue BullMQ gave up on (no attempt left, or stalled too often); each becomes a failed notification',
    labelNames: ['queue'],
    registers: r,
  });
  const repairs = new Counter({
    name: 'lookout_reconciler_repairs_total',
    help: 'What the notify reconciler repaired, by kind (step, resend, failed_job, receipt, receipt_unknown)',
    labelNames: ['kind'],
    registers: r,
  });

  let collector: { collect(): Promise<void>; firingText?(): string } | undefined;
  const collectorOk = new Gauge({ name: 'lookout_scrape_collector_ok', help: '1 when the scrape-time collector (queues, alerts) succeeded', registers: r });

  const observer: PipelineObserver = {
    samplesReceived: (source, n) => received.inc({ source }, n),
    samplesAccepted: (source, n) => accepted.inc({ source }, n),
    samplesRejected: (source, code, n) => rejected.inc({ source, code }, n),
    unknownEntitySamples: (n) => unknown.inc(n),
    batchApplied: (n, seconds, lags) => {
      applied.inc(n);
      batchSeconds.observe(seconds);
      for (const l of lags) lag.observe(Math.max(0, l));
    },
    metricSamples: (byMetric) => {
      for (const [metric, t] of byMetric) {
        metricSamples.inc({ metric }, t.n);
        metricValues.inc({ metric }, t.sum);
      }
    },
    applyRound: (jobs, _samples, lane) => roundJobs.observe({ lane }, jobs),
    jobStalled: (lane) => stalled.inc({ queue: lane }),
    liveSamplesFollowed: (n) => followed.inc(n),
    entitiesEvaluated: (n, seconds, c) => {
      evaluated.inc(n);
      evalSeconds.observe(seconds);
      if (c) conflicts.inc(c);
    },
    transitions: (events: readonly AlertEvent[]) => {
      for (const e of events) transitions.inc({ rule: e.alert.rule, from: e.from ?? 'none', to: e.to, severity: e.alert.severity });
    },
  };

  // Known label combinations start at 0, so the first event after a restart shows in rate()/increase().
  for (const channel of ['sms', 'email', 'webhook']) {
    for (const outcome of ['sent', 'failed', 'retried', 'deferred', 'grouped', 'muted', 'cancelled', 'failover']) notifications.labels({ channel, outcome }).inc(0);
  }
  for (const outcome of ['damped', 'stale', 'no_recipient']) notifications.labels({ channel: 'none', outcome }).inc(0);
  notifications.labels({ channel: 'sms', outcome: 'resent_after_crash' }).inc(0);
  notifications.labels({ channel: 'sms', outcome: 'resent_in_doubt' }).inc(0);
  for (const queue of ['escalations', 'notify-dispatch', 'notify-sms', 'notify-email', 'notify-webhook', 'alert-events', 'duty-broadcast']) jobsFailed.labels({ queue }).inc(0);
  for (const kind of ['step', 'resend', 'failed_job', 'receipt', 'receipt_unknown']) repairs.labels({ kind }).inc(0);
  for (const status of ['delivered', 'failed', 'expired', 'rejected', 'unknown']) receipts.labels({ status }).inc(0);
  for (const outcome of ['acked', 'already', 'not_ackable', 'stranger', 'unknown_code', 'unrecognised']) replies.labels({ outcome }).inc(0);
  for (const outcome of ['ok', 'error']) configReloads.labels({ outcome }).inc(0);

  const notify: NotifyObserver = {
    notification: (channel, outcome, n = 1) => notifications.inc({ channel, outcome }, n),
    sendSeconds: (channel, seconds) => sendSeconds.observe({ channel }, seconds),
    receipt: (status) => receipts.inc({ status }),
    smsReply: (outcome) => replies.inc({ outcome }),
    escalation: (level, severity) => escalations.inc({ level: String(level), severity }),
    acknowledged: (severity, level, seconds) => ackSeconds.observe({ severity, level: String(level) }, Math.max(0, seconds)),
    resolved: (severity, level, seconds) => resolveSeconds.observe({ severity, level: String(level) }, Math.max(0, seconds)),
    jobFailed: (queue) => jobsFailed.inc({ queue }),
    repair: (kind) => repairs.inc({ kind }),
  };

  return {
    registry,
    observer,
    notify,
    rulesLoaded,
    redisUp,
    redisRtt,
    redisOutages,
    redisOutageSeconds,
    redisLastOutage,
    configReloads,
    configInfo,
    setCollector(c) {
      collector = c;
    },
    countApplyConflicts(read) {
      applyConflictsRead = read;
    },
    showBackfillPartitions(read) {
      partitionsRead = read;
    },
    async scrape() {
      // Refreshed before serialising, so a scrape never shows the previous scrape's state.
      try {
        await collector?.collect();
        collectorOk.set(1);
      } catch {
        collectorOk.set(0);
      }
      const extra = collector?.firingText?.();
      return extra ? `${await registry.metrics()}${extra}\n` : registry.metrics();
    },
  };
}

/** Gauges read from stored state at scrape time (queue depth, alerts firing now). */
export function stateGauges(registry: Registry) {
  const r = [registry];
  return {
    queueDepth: new Gauge({ name: 'lookout_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers: r }),
    alertsOpen: new Gauge({ name: 'lookout_alerts_open', help: 'Open alerts by rule, severity and state', labelNames: ['rule', 'severity', 'state'], registers: r }),
    unackedPastFirstStep: new Gauge({
      name: 'lookout_alerts_unacknowledged_escalated',
      help: 'Process indicator: firing alerts nobody acknowledged within their first escalation step (the chain climbed), by severity',
      labelNames: ['severity'],
      registers: r,
    }),
  };
}
