// Alerts and entities the route tests share.
import { alertRecord } from '../http/harness.js';
import type { Entity } from '../../src/domain/entity.js';

export const NOW = Date.parse('2026-11-21T10:00:00+08:00');
export const HOUR = 3_600_000;

/** The same alert builder the HTTP tests use. */
export const alert = alertRecord;

export function entity(id: string, over: Partial<Entity> = {}): Entity {
  return { id, kind: 'core_dealer', name: `核心渠道 ${id}`, region: 'R1', district: 'X1', manager: 'C001', tier: 'A', attrs: {}, ...over };
}
