// Does an alert (with its entity) fall under a policy's `match`, or one side of an inhibit rule?

import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import { alertField } from './fields.js';
import type { AlertSelector } from './types.js';

export function selectorMatches(sel: AlertSelector, alert: AlertRecord, entity: Entity | undefined): boolean {
  if (sel.severity && !sel.severity.includes(alert.severity)) return false;
  if (sel.rule && !sel.rule.includes(alert.rule)) return false;
  if (sel.kind && (!entity || !sel.kind.includes(entity.kind))) return false;
  for (const [name, values] of Object.entries(sel.fields ?? {})) {
    const v = alertField(alert, entity, name);
    if (v === undefined || !values.includes(v)) return false;
  }
  return true;
}
