// Pure alert lifecycle: (prior record, verdict, now) → next record and the event to publish.
// pending → firing → acknowledged → resolved, with severity upgrades and downgrades.

import type { AlertChange, AlertEvent, AlertRecord, AlertState, Verdict } from './alert.js';
import { fingerprint } from './alert.js';
import type { Severity } from './rule.js';
import { severityRank } from './rule.js';

export interface Step {
  /** The record to store; undefined when nothing changed at all. */
  readonly record?: AlertRecord;
  /** The transition to publish, if any. */
  readonly event?: AlertEvent;
}

const OPEN: readonly AlertState[] = ['pending', 'firing', 'acknowledged'];

export function isOpen(r: AlertRecord | undefined): boolean {
  return r !== undefined && OPEN.includes(r.state);
}

function event(
  prior: AlertRecord | undefined,
  next: AlertRecord,
  change: AlertChange,
  at: number,
): AlertEvent {
  return {
    v: 1,
    id: `${next.fingerprint}-${next.seq}`,
    type: 'alert.transition',
    change,
    from: prior && isOpen(prior) ? prior.state : prior ? 'resolved' : null,
    to: next.state,
    previousSeverity: prior && isOpen(prior) ? prior.severity : null,
    at,
    alert: next,
  };
}

function facts(v: Verdict) {
  return {
    period: v.period,
    value: v.value,
    baseline: v.baseline,
    measure: v.measure,
    p: v.p,
    summary: v.summary,
    notify: v.notify,
  };
}

function sameFacts(r: AlertRecord, v: Verdict): boolean {
  return (
    r.period === v.period &&
    r.value === v.value &&
    r.baseline === v.baseline &&
    r.measure === v.measure &&
    r.summary === v.summary &&
    r.notify === v.notify
  );
}

/** Apply a verdict to the prior state of its alert. */
export function applyVerdict(
  prior: AlertRecord | undefined,
  v: Verdict,
  now: number,
  labels: Readonly<Record<string, string>> = {},
): Step {
  if (v.severity === null) {
    if (!prior || !isOpen(prior)) return {};
    const change: AlertChange = prior.state === 'pending' ? 'cancel' : 'resolve';
    const next: AlertRecord = {
      ...prior,
      ...facts(v),
      severity: prior.severity,
      notify: prior.notify,
      state: 'resolved',
      seq: prior.seq + 1,
      updatedAt: now,
      resolvedAt: now,
    };
    return { record: next, event: event(prior, next, change, now) };
  }

  const severity: Severity = v.severity;
  if (!prior || !isOpen(prior)) {
    const state: AlertState = v.confirmed ? 'firing' : 'pending';
    const fp = fingerprint(v.rule, v.entity);
    const next: AlertRecord = {
      id: fp,
      fingerprint: fp,
      rule: v.rule,
      entity: v.entity,
      state,
      severity,
      episode: (prior?.episode ?? 0) + 1,
      seq: (prior?.seq ?? 0) + 1,
      ...facts(v),
      startsAt: now,
      firingAt: v.confirmed ? now : undefined,
      updatedAt: now,
      labels,
    };
    return { record: next, event: event(prior, next, v.confirmed ? 'fire' : 'start', now) };
  }

  // Open alert: a condition that already fired stays confirmed while it holds.
  if (prior.state === 'pending' && v.confirmed) {
    const next: AlertRecord = { ...prior, ...facts(v), severity, state: 'firing', seq: prior.seq + 1, firingAt: now, updatedAt: now };
    return { record: next, event: event(prior, next, 'fire', now) };
  }

  const up = severityRank(severity) > severityRank(prior.severity);
  const down = severityRank(severity) < severityRank(prior.severity);
  if (prior.state === 'pending') {
    if (!up && !down && sameFacts(prior, v)) return {};
    return { record: { ...prior, ...facts(v), severity, updatedAt: now } };
  }
  if (up) {
    // An upgrade re-notifies, so an acknowledged alert climbs again.
    const next: AlertRecord = { ...prior, ...facts(v), severity, state: 'firing', ack: undefined, seq: prior.seq + 1, updatedAt: now };
    return { record: next, event: event(prior, next, 'upgrade', now) };
  }
  if (down) {
    const next: AlertRecord = { ...prior, ...facts(v), severity, seq: prior.seq + 1, updatedAt: now };
    return { record: next, event: event(prior, next, 'downgrade', now) };
  }
  if (sameFacts(prior, v)) return {};
  return { record: { ...prior, ...facts(v), updatedAt: now } };
}

export type AckOutcome =
  | { readonly ok: true; readonly step: Step }
  | { readonly ok: false; readonly code: 'not_ackable' };

/** Acknowledge a firing alert; acknowledging twice is a no-op. */
export function acknowledge(prior: AlertRecord, by: string, via: string, now: number): AckOutcome {
  if (prior.state === 'acknowledged') return { ok: true, step: {} };
  if (prior.state !== 'firing') return { ok: false, code: 'not_ackable' };
  const next: AlertRecord = { ...prior, state: 'acknowledged', ack: { by, at: now, via }, seq: prior.seq + 1, updatedAt: now };
  return { ok: true, step: { record: next, event: event(prior, next, 'ack', now) } };
}
