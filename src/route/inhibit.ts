// Inhibition, as Alertmanager has it: an alert that pages (the source) mutes the alerts its cause
// explains (the targets), e.g. a region-wide network outage mutes every dealer drop in that region.
//
// Mutual inhibition: Alertmanager lets an alert that matches both sides of a rule not inhibit
// another two-sided match. Lookout generalises that: when A would inhibit B and B would also
// inhibit A (by the same rule or by two rules), neither is muted, so both still page.

import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import { alertField } from './fields.js';
import { selectorMatches } from './selector.js';
import type { InhibitRule } from './types.js';

export interface InhibitCandidate {
  readonly alert: AlertRecord;
  readonly entity?: Entity | undefined;
}

/** Only alerts that page can inhibit: firing or acknowledged, and strong enough to notify. */
export function canInhibit(a: AlertRecord): boolean {
  return a.notify && (a.state === 'firing' || a.state === 'acknowledged');
}

function equalFields(rule: InhibitRule, source: InhibitCandidate, target: InhibitCandidate): boolean {
  return rule.equal.every((name) => {
    const v = alertField(source.alert, source.entity, name);
    return v !== undefined && v === alertField(target.alert, target.entity, name);
  });
}

/** Does `rule` let `source` mute `target` (ignoring the mutual check)? */
export function ruleInhibits(rule: InhibitRule, source: InhibitCandidate, target: InhibitCandidate): boolean {
  return (
    source.alert.fingerprint !== target.alert.fingerprint &&
    canInhibit(source.alert) &&
    selectorMatches(rule.target, target.alert, target.entity) &&
    selectorMatches(rule.source, source.alert, source.entity) &&
    equalFields(rule, source, target)
  );
}

/** The first candidate that mutes `target` under some rule, unless `target` mutes it back. */
export function inhibitingAlert(target: InhibitCandidate, candidates: readonly InhibitCandidate[], rules: readonly InhibitRule[]): AlertRecord | undefined {
  const targeted = rules.filter((r) => selectorMatches(r.target, target.alert, target.entity));
  if (!targeted.length) return undefined;
  for (const source of candidates) {
    if (!targeted.some((r) => ruleInhibits(r, source, target))) continue;
    if (rules.some((r) => ruleInhibits(r, target, source))) continue;
    return source.alert;
  }
  return undefined;
}
