// A campaign's lifecycle (营销案生命周期): preparation (上线准备, before `start`) → live (实施,
// `start`…`end` inclusive, local dates in LOOKOUT_TZ) → post-evaluation (后评估, after `end`).
// Pure: the phase is derived from the entity's attributes and a local day, never stored.

import { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { liveWindow } from '../evaluate/scope.js';

export const CAMPAIGN_PHASES = ['preparation', 'live', 'post_evaluation'] as const;
export type CampaignPhase = (typeof CAMPAIGN_PHASES)[number];

export interface CampaignWindow {
  /** Local day indexes (Calendar), both ends included. */
  readonly start: number;
  readonly end: number;
}

/** The live window of a campaign, read the same way the rules' `scope.live` reads it. */
export function campaignWindow(entity: Entity): CampaignWindow | undefined {
  if (entity.kind !== 'campaign') return undefined;
  return liveWindow(entity);
}

/** The phase on local day `day`; undefined for an entity that is not a campaign with a window. */
export function phaseOn(entity: Entity, day: number): CampaignPhase | undefined {
  const w = campaignWindow(entity);
  if (!w) return undefined;
  if (day < w.start) return 'preparation';
  return day <= w.end ? 'live' : 'post_evaluation';
}

/** The phase at instant `now` in the calendar's time zone. */
export function phaseAt(entity: Entity, now: number, calendar: Calendar): CampaignPhase | undefined {
  return phaseOn(entity, calendar.dayOf(now));
}

export interface CampaignTimeline {
  readonly phase: CampaignPhase;
  readonly start: string;
  readonly end: string;
  /** Days in the window. */
  readonly days: number;
  /** 1-based day of the campaign while live (day 1 = start). */
  readonly dayOfCampaign?: number;
  /** Days until start (preparation) or since end (post-evaluation). */
  readonly daysToStart?: number;
  readonly daysSinceEnd?: number;
}

/** Phase and position in the window on `day`, for APIs and reports. */
export function timeline(entity: Entity, day: number): CampaignTimeline | undefined {
  const w = campaignWindow(entity);
  const phase = phaseOn(entity, day);
  if (!w || !phase) return undefined;
  const base = { phase, start: Calendar.isoDay(w.start), end: Calendar.isoDay(w.end), days: w.end - w.start + 1 };
  if (phase === 'preparation') return { ...base, daysToStart: w.start - day };
  if (phase === 'live') return { ...base, dayOfCampaign: day - w.start + 1 };
  return { ...base, daysSinceEnd: day - w.end };
}

/** The campaign's target customer count (attrs.target_customers), when it is a positive number. */
export function targetCustomers(entity: Entity): number | undefined {
  const v = entity.attrs.target_customers;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
