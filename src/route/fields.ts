// The names silences, inhibition and policies match on, read from an alert and its entity.

import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';

/**
 * `rule`, `entity`, `severity`, `state`, `kind`, `name`, `region`, `district`, `manager`, `tier`,
 * `attrs.<k>`, `labels.<k>`; any other bare name is looked up in the alert's labels, then the
 * entity's attrs. Undefined when the alert has no such field.
 */
export function alertField(alert: AlertRecord, entity: Entity | undefined, name: string): string | undefined {
  switch (name) {
    case 'rule':
      return alert.rule;
    case 'entity':
      return alert.entity;
    case 'severity':
      return alert.severity;
    case 'state':
      return alert.state;
    case 'kind':
    case 'name':
    case 'region':
    case 'district':
    case 'manager':
    case 'tier':
      return entity?.[name];
  }
  if (name.startsWith('attrs.')) return str(entity?.attrs[name.slice(6)]);
  if (name.startsWith('labels.')) return alert.labels[name.slice(7)];
  return alert.labels[name] ?? str(entity?.attrs[name]);
}

function str(v: string | number | boolean | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}
