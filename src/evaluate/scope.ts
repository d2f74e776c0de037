// Which entities a rule applies to, and on which days (campaign live windows).

import { Calendar } from '../domain/clock.js';
import type { AttrValue, Entity } from '../domain/entity.js';
import type { AttrMatcher, Rule } from '../domain/rule.js';

function asNumber(v: AttrValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function compare<T extends number | string>(a: T, op: string, b: T): boolean {
  switch (op) {
    case '>=':
      return a >= b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '<':
      return a < b;
    case '==':
      return a === b;
    default:
      return a !== b;
  }
}

/** One attribute condition; numbers compare numerically (`"120" >= 50`), the rest as strings. */
export function matchesAttr(m: AttrMatcher, v: AttrValue | undefined): boolean {
  if (v === undefined) return false;
  if ('in' in m) return m.in.includes(String(v));
  if (typeof m.value === 'number') {
    const n = asNumber(v);
    return n !== undefined && compare(n, m.op, m.value);
  }
  return compare(String(v), m.op, m.value);
}

function listed(list: readonly string[] | undefined, v: string | undefined): boolean {
  return list === undefined || (v !== undefined && list.includes(v));
}

/** True when the rule's scope selects the entity (the live window is judged per day). */
export function inScope(rule: Rule, entity: Entity): boolean {
  const s = rule.scope;
  if (!listed(s.kinds, entity.kind)) return false;
  if (!listed(s.regions, entity.region)) return false;
  if (!listed(s.districts, entity.district)) return false;
  if (!listed(s.tiers, entity.tier)) return false;
  if (!listed(s.entities, entity.id)) return false;
  for (const [attr, m] of Object.entries(s.attrs ?? {})) {
    if (!matchesAttr(m, entity.attrs[attr])) return false;
  }
  return true;
}

/** An attribute holding a local date (`2026-11-21`, or an ISO timestamp whose date part is used). */
export function attrDay(v: AttrValue | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  return Calendar.parseIsoDay(v.trim().slice(0, 10));
}

/** A campaign's live window [start, end] as local day indexes, when both dates are set. */
export function liveWindow(entity: Entity): { readonly start: number; readonly end: number } | undefined {
  const start = attrDay(entity.attrs.start);
  const end = attrDay(entity.attrs.end);
  return start !== undefined && end !== undefined ? { start, end } : undefined;
}

/** True when `day` is inside the entity's live window (both ends included). */
export function isLiveOn(entity: Entity, day: number): boolean {
  const w = liveWindow(entity);
  return w !== undefined && day >= w.start && day <= w.end;
}
