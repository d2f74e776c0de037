// Complaint routing (投诉分类派单): a campaign complaint alert is led by the department of the
// category with the most complaints on the alert's day — the `complaint_lead` recipient of a
// policy, and the "主责：业务支撑中心（计费类投诉 62%）" line of its messages.

import type { AlertRecord } from '../domain/alert.js';
import { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { categoryMetric, COMPLAINT_CATEGORIES, DEFAULT_COMPLAINT_ROUTING, leadOf, leadText, type ComplaintCategory, type ComplaintLead, type ComplaintRouting, type Locale } from '../domain/complaints.js';
import { pickFields } from '../domain/fields.js';
import type { DailyReads } from '../state/daily-reads.js';

export interface RoutedLead extends ComplaintLead {
  /** The local day judged (the alert's period). */
  readonly day: string;
  /** `业务支撑中心（计费类投诉 62%）`. */
  readonly text: string;
  /** `业务支撑中心`. */
  readonly dept: string;
}

export interface ComplaintRouterDeps {
  readonly days: Pick<DailyReads, 'readDays'>;
  readonly routing: () => ComplaintRouting | undefined;
  /** The metric a rule reads (undefined for date rules and unknown rules). */
  readonly ruleMetric: (rule: string) => string | undefined;
  readonly locale: Locale;
}

/** Complaint counts per category of one entity on one local day. */
export async function categoryCounts(days: Pick<DailyReads, 'readDays'>, entity: string, day: number): Promise<Map<ComplaintCategory, number>> {
  const metrics = COMPLAINT_CATEGORIES.map(categoryMetric);
  const values = (await days.readDays([entity], metrics, day, day)).get(entity)!;
  const out = new Map<ComplaintCategory, number>();
  COMPLAINT_CATEGORIES.forEach((c, i) => {
    const v = values.get(metrics[i]!)?.get(day);
    if (v) out.set(c, v);
  });
  return out;
}

export class ComplaintRouter extends pickFields<ComplaintRouterDeps>()('ruleMetric', 'routing', 'days', 'locale') {

  /** True for alerts about a campaign's complaints (the ones complaint routing applies to). */
  applies(alert: AlertRecord, entity: Entity | undefined): boolean {
    return entity?.kind === 'campaign' && this.ruleMetric(alert.rule) === 'complaints';
  }

  /** The lead department of a campaign complaint alert; undefined for any other alert. */
  async leadFor(alert: AlertRecord, entity: Entity | undefined): Promise<RoutedLead | undefined> {
    if (!this.applies(alert, entity)) return undefined;
    const day = Calendar.parseIsoDay(alert.period.slice(0, 10));
    if (day === undefined) return undefined;
    const routing = this.routing() ?? DEFAULT_COMPLAINT_ROUTING;
    const lead = leadOf(await categoryCounts(this.days, alert.entity, day), routing);
    return { ...lead, day: Calendar.isoDay(day), ...leadText(lead, this.locale) };
  }
}
