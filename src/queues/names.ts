// Queue names and job payloads: the contract between producers, workers and the notifier.

import type { AlertEvent } from '../domain/alert.js';
import type { RawSample } from '../domain/sample.js';
import type { ColumnarSamples } from './sample-payload.js';

export const QUEUES = {
  /** Batches of samples → worker (apply to buckets, evaluate touched entities). Live ones, and those other producers add. */
  samples: 'samples',
  /**
   * Batches of samples none of which is live (older than yesterday): a backfill, queued apart by the
   * doors so that it never holds up a live sample, and applied in deep rounds (group commit).
   */
  backfill: 'samples-backfill',
  /** Alert transitions → notifier. */
  alertEvents: 'alert-events',
  /** Escalation steps: delayed jobs, id `step.<fp>.<token>.<n>`. */
  escalations: 'escalations',
  /** Group flushes: a recipient's alerts inside the group wait become one message. */
  dispatch: 'notify-dispatch',
  /** Messages to send, one queue per channel so an SMS outage never holds up email. */
  sms: 'notify-sms',
  email: 'notify-email',
  webhook: 'notify-webhook',
} as const;

/**
 * Job `batch` on queue `samples` or `samples-backfill` (BullMQ prefix = LOOKOUT_PREFIX). Other Node services may add
 * these directly: `queue.add('batch', {v: 1, source: 'billing-export', samples: [...]})`.
 * Samples are validated again by the worker; rejects are counted and logged, never applied.
 */
export type SampleBatchJob = SampleBatchJobV1 | SampleBatchJobV2;

export interface SampleBatchJobV1 {
  readonly v: 1;
  readonly source: string;
  readonly samples: readonly RawSample[];
  /** Epoch ms when the batch was accepted (for ingest-lag metrics). */
  readonly receivedAt?: number;
}

/** The queue door's own batches: the samples in columns (queues/sample-payload.ts). */
export interface SampleBatchJobV2 extends ColumnarSamples {
  readonly v: 2;
  readonly source: string;
  readonly receivedAt?: number;
}

/** Job `transition` on queue `alert-events`. */
export type AlertEventJob = AlertEvent;
