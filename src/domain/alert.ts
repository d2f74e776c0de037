import * as crypto from 'node:crypto';
import type { Severity } from './rule.js';

export const ALERT_STATES = ['pending', 'firing', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** Stable id of a (rule, entity) alert; all severities of the rule share it (severity lineage). */
export function fingerprint(ruleId: string, entity: string): string {
  // The one-shot hash (Node 20.12 on) costs a third of a Hash object's: a judgement makes one per
  // rule in scope, twice. The same bytes either way.
  const data = `${ruleId}\0${entity}`;
  return (typeof crypto.hash === 'function' ? crypto.hash('sha1', data, 'hex') : crypto.createHash('sha1').update(data).digest('hex')).slice(0, 16);
}

/** What an evaluator concluded for one rule, one entity, at one moment. */
export interface Verdict {
  readonly rule: string;
  readonly entity: string;
  /** null: the condition does not hold (or no longer holds, hysteresis included). */
  readonly severity: Severity | null;
  /** Condition held for the rule's `for` periods (false → pending). */
  readonly confirmed: boolean;
  /** Local day judged, `2026-11-21`. */
  readonly period: string;
  /** Observed value (the rule's measure input), baseline and measure (percent, z, ratio…). */
  readonly value?: number;
  readonly baseline?: number;
  readonly measure?: number;
  /** Tail probability of the observation under the entity's own variability. */
  readonly p?: number;
  /** Weak-evidence verdicts are recorded for dashboards but page nobody. */
  readonly notify: boolean;
  /** One line a person can read: "开卡量 40，同期基线 100，下降 60%". */
  readonly summary: string;
}

/** The stored state of one alert (one fingerprint, its latest episode). */
export interface AlertRecord {
  readonly id: string;
  readonly fingerprint: string;
  readonly rule: string;
  readonly entity: string;
  readonly state: AlertState;
  readonly severity: Severity;
  /** Episode number: increases each time the alert starts again after resolving. */
  readonly episode: number;
  /** Transition counter across the record's life; event ids derive from it. */
  readonly seq: number;
  readonly notify: boolean;
  readonly period: string;
  readonly value?: number;
  readonly baseline?: number;
  readonly measure?: number;
  readonly p?: number;
  readonly summary: string;
  readonly startsAt: number;
  readonly firingAt?: number;
  readonly updatedAt: number;
  readonly resolvedAt?: number;
  readonly ack?: { readonly by: string; readonly at: number; readonly via: string };
  readonly labels: Readonly<Record<string, string>>;
}

export type AlertChange = 'start' | 'fire' | 'upgrade' | 'downgrade' | 'ack' | 'resolve' | 'cancel';

/**
 * Published for every transition on the `lookout-alert-events` queue (job name `transition`).
 * The notifier consumes it. `id` is deterministic (`<fingerprint>-<seq>`) so a re-publish is
 * deduplicated by the queue.
 */
export interface AlertEvent {
  readonly v: 1;
  readonly id: string;
  readonly type: 'alert.transition';
  readonly change: AlertChange;
  readonly from: AlertState | null;
  readonly to: AlertState;
  readonly previousSeverity: Severity | null;
  readonly at: number;
  readonly alert: AlertRecord;
}
