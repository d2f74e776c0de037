// Alerts and entities the route tests share.
import { fingerprint, type AlertRecord } from '../../src/domain/alert.js';
import type { Entity } from '../../src/domain/entity.js';

export const NOW = Date.parse('2026-11-21T10:00:00+08:00');
export const HOUR = 3_600_000;

export function alert(over: Partial<AlertRecord> & { rule: string; entity: string }): AlertRecord {
  const fp = fingerprint(over.rule, over.entity);
  return {
    id: fp,
    fingerprint: fp,
    state: 'firing',
    severity: 'warning',
    episode: 1,
    seq: 2,
    notify: true,
    period: '2026-11-20',
    summary: '开卡量 40，同期基线 100，下降 60%',
    startsAt: NOW - HOUR,
    firingAt: NOW - HOUR,
    updatedAt: NOW - HOUR,
    labels: {},
    ...over,
  };
}

export function entity(id: string, over: Partial<Entity> = {}): Entity {
  return { id, kind: 'core_dealer', name: `核心渠道 ${id}`, region: 'R1', district: 'X1', manager: 'C001', tier: 'A', attrs: {}, ...over };
}
