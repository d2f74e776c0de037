// Which escalation policy an alert follows: the first whose `match` selects it. None matching is
// allowed (the alert is recorded and notifies nobody), so callers handle undefined.

import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import { selectorMatches } from './selector.js';
import type { EscalationPolicy, PolicySet } from './types.js';

export function policyFor(set: PolicySet, alert: AlertRecord, entity: Entity | undefined): EscalationPolicy | undefined {
  return set.escalation.find((p) => selectorMatches(p.match, alert, entity));
}
