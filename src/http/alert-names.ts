// Alerts as the API answers them: the stored record plus the entity's name, kind, region and
// district (from the registry) and the rule's title (from the loaded rules), read at answer time
// so a renamed entity or retitled rule shows its new name.

import { z } from 'zod';
import { ALERT_STATES, type AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import { SEVERITIES } from '../domain/rule.js';
import type { HttpDeps } from './deps.js';
import { fromStore } from './errors.js';

export interface NamedAlert extends AlertRecord {
  /** The entity's name; its id when the registry does not know it. */
  readonly name: string;
  readonly kind?: string;
  readonly region?: string;
  readonly district?: string;
  /** The rule's `name:` from the rules YAML (核心渠道开卡量下降); its id when no loaded rule has it. */
  readonly ruleTitle: string;
}

export function nameAlert(alert: AlertRecord, entity: Entity | undefined, ruleTitle: string | undefined): NamedAlert {
  return {
    ...alert,
    name: entity?.name || alert.entity,
    ...(entity?.kind && { kind: entity.kind }),
    ...(entity?.region && { region: entity.region }),
    ...(entity?.district && { district: entity.district }),
    ruleTitle: ruleTitle ?? alert.rule,
  };
}

/** Names one alert (one registry read). */
export async function namedAlert(deps: HttpDeps, alert: AlertRecord): Promise<NamedAlert> {
  const entity = await fromStore(deps.registry.get(alert.entity), 'the registry');
  return nameAlert(alert, entity, deps.ruleTitle?.(alert.rule));
}

/** Up to this many distinct entities are read one by one; more, and the whole registry is read once. */
const READ_EACH_UP_TO = 16;

/** Names many alerts. */
export async function namedAlerts(deps: HttpDeps, alerts: readonly AlertRecord[]): Promise<NamedAlert[]> {
  if (alerts.length === 0) return [];
  const ids = [...new Set(alerts.map((a) => a.entity))];
  const found =
    ids.length <= READ_EACH_UP_TO
      ? (await fromStore(Promise.all(ids.map((id) => deps.registry.get(id))), 'the registry')).filter((e): e is Entity => e !== undefined)
      : await fromStore(deps.registry.list(), 'the registry');
  const entities = new Map(found.map((e) => [e.id, e]));
  return alerts.map((a) => nameAlert(a, entities.get(a.entity), deps.ruleTitle?.(a.rule)));
}

/** The OpenAPI shape of an alert (fields beyond these are passed through as stored; docs/api.md). */
export const AlertSchema = z
  .looseObject({
    id: z.string(),
    rule: z.string().describe('rule id'),
    ruleTitle: z.string().describe("the rule's title (`name:` in the rules YAML), e.g. 核心渠道开卡量下降; the rule id when no loaded rule has it"),
    entity: z.string().describe('entity id'),
    name: z.string().describe("the entity's name from the registry; the entity id when the registry does not know it"),
    kind: z.string().optional().describe("the entity's kind (core_dealer, grassroots, campaign, …)"),
    region: z.string().optional().describe("the entity's region"),
    district: z.string().optional().describe("the entity's district"),
    state: z.enum(ALERT_STATES),
    severity: z.enum(SEVERITIES),
    summary: z.string(),
    period: z.string(),
    updatedAt: z.number(),
  })
  .describe('an alert with its names (read from the registry and the loaded rules when answering)') as unknown as z.ZodType<NamedAlert>;
