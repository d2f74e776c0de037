// What the pipeline reports about itself. Domain and pipeline code call this interface; only
// observability/metrics.ts turns it into prom-client series, so nothing else depends on prom-client.

import type { AlertEvent } from '../domain/alert.js';

export interface PipelineObserver {
  samplesReceived(source: string, n: number): void;
  samplesAccepted(source: string, n: number): void;
  samplesRejected(source: string, code: string, n: number): void;
  unknownEntitySamples(n: number): void;
  /** A batch applied to buckets; lag = evaluation time − sample event time, in seconds. */
  batchApplied(samples: number, seconds: number, lagSeconds: readonly number[]): void;
  entitiesEvaluated(n: number, seconds: number, conflicts: number): void;
  /** Sample jobs a worker applied together in one round of a lane (group commit: src/ingest/apply-rounds.ts). */
  applyRound(jobs: number, samples: number, lane: 'live' | 'backfill'): void;
  /**
   * A sample job found stalled (its worker died, or its lock lapsed) and queued again: applied
   * again, it applies nothing twice (chunk markers), but its work is done twice.
   */
  jobStalled(lane: 'live' | 'backfill'): void;
  /** Live samples a door queued behind their entity's backfill, in its partition (src/ingest/queue-sink.ts). */
  liveSamplesFollowed(n: number): void;
  /** Samples applied per metric (count and sum of values), e.g. complaints across all campaigns. */
  metricSamples(byMetric: ReadonlyMap<string, { readonly n: number; readonly sum: number }>): void;
  transitions(events: readonly AlertEvent[]): void;
}

export const nullObserver: PipelineObserver = {
  samplesReceived() {},
  samplesAccepted() {},
  samplesRejected() {},
  unknownEntitySamples() {},
  batchApplied() {},
  entitiesEvaluated() {},
  applyRound() {},
  jobStalled() {},
  liveSamplesFollowed() {},
  metricSamples() {},
  transitions() {},
};
