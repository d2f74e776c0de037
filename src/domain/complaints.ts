// Complaint categories (labels.category of `complaints` samples), the departments that lead on
// them (complaint routing, docs/campaigns.md; by default network → 网管中心, billing →
// 业务支撑中心, promotion/tariff → 客服中心) and the per-category metrics the worker derives.
// Pure: no I/O.

import { COMPLAINT_CATEGORIES, COMPLAINT_CATEGORY_TITLES_ZH } from './metric.js';
import type { Sample } from './sample.js';

export { COMPLAINT_CATEGORIES };
export type ComplaintCategory = (typeof COMPLAINT_CATEGORIES)[number];
export type Locale = 'zh' | 'en';

/** The metric holding one category's complaints: `complaints.billing`. */
export function categoryMetric(category: ComplaintCategory): string {
  return `complaints.${category}`;
}

export const CATEGORY_METRICS: readonly string[] = COMPLAINT_CATEGORIES.map(categoryMetric);

export function isComplaintCategory(s: unknown): s is ComplaintCategory {
  return typeof s === 'string' && (COMPLAINT_CATEGORIES as readonly string[]).includes(s);
}

/** A label as sent → its category; a missing or unknown label counts as `other`. */
export function categoryOf(label: string | undefined): ComplaintCategory {
  const c = label?.trim().toLowerCase();
  return isComplaintCategory(c) ? c : 'other';
}

/**
 * For every `complaints` sample, one more sample of `complaints.<category>` (same entity, value
 * and time; id `<id>#category` when the sample has an id, so a corrected or re-sent export
 * replaces it like any sample, even when the correction changes the category). Other samples
 * pass through; the input is returned as is when it holds no complaints.
 */
export function withCategorySamples(samples: readonly Sample[]): readonly Sample[] {
  if (!samples.some((s) => s.metric === 'complaints')) return samples;
  const out: Sample[] = [];
  for (const s of samples) {
    out.push(s);
    if (s.metric !== 'complaints') continue;
    const derived: { -readonly [K in keyof Sample]: Sample[K] } = { metric: categoryMetric(categoryOf(s.labels?.category)), entity: s.entity, value: s.value, ts: s.ts };
    if (s.id !== undefined) derived.id = `${s.id}#category`;
    out.push(derived);
  }
  return out;
}

/** Category → the department (`dept_lead` scope) that leads on it. */
export type ComplaintRouting = Readonly<Record<ComplaintCategory, string>>;

/** The default routing (docs/campaigns.md): network → network management centre, billing → business support centre, the rest → customer service centre. */
export const DEFAULT_COMPLAINT_ROUTING: ComplaintRouting = Object.freeze({
  network: 'network',
  billing: 'billing',
  promotion: 'customer_service',
  tariff: 'customer_service',
  service: 'customer_service',
  other: 'customer_service',
});

/** A policy's `complaint_routing` (possibly partial or absent) completed with the defaults. */
export function routingFrom(map: Readonly<Record<string, string>> | undefined): ComplaintRouting {
  const out: Record<ComplaintCategory, string> = { ...DEFAULT_COMPLAINT_ROUTING };
  for (const c of COMPLAINT_CATEGORIES) if (map?.[c]) out[c] = map[c]!;
  return out;
}

const CATEGORY_TITLES: Readonly<Record<Locale, Readonly<Record<ComplaintCategory, string>>>> = {
  zh: COMPLAINT_CATEGORY_TITLES_ZH,
  en: { network: 'network', billing: 'billing', promotion: 'promotion', tariff: 'tariff', service: 'service', other: 'other' },
};

const DEPARTMENT_NAMES: Readonly<Record<Locale, Readonly<Record<string, string>>>> = {
  zh: { network: '网管中心', billing: '业务支撑中心', customer_service: '客服中心', marketing: '市场部' },
  en: { network: 'Network Management Centre', billing: 'Business Support Centre', customer_service: 'Customer Service Centre', marketing: 'Marketing Department' },
};

export function categoryTitle(c: ComplaintCategory, locale: Locale): string {
  return CATEGORY_TITLES[locale][c];
}

/** 业务支撑中心 for `billing`; a department named only in a policy shows its scope. */
export function departmentName(scope: string, locale: Locale): string {
  return DEPARTMENT_NAMES[locale][scope] ?? scope;
}

/** One category's share of a day's (or a campaign's) complaints. */
export interface CategoryCount {
  readonly category: ComplaintCategory;
  readonly count: number;
  /** 0–1 of all categorised complaints. */
  readonly share: number;
  /** The department that leads on it (dept_lead scope). */
  readonly department: string;
}

/** Counts per category → the non-empty ones, most first (ties in COMPLAINT_CATEGORIES order). */
export function breakdown(counts: ReadonlyMap<ComplaintCategory, number>, routing: ComplaintRouting = DEFAULT_COMPLAINT_ROUTING): CategoryCount[] {
  let total = 0;
  for (const c of COMPLAINT_CATEGORIES) total += counts.get(c) ?? 0;
  if (total <= 0) return [];
  return COMPLAINT_CATEGORIES.filter((c) => (counts.get(c) ?? 0) > 0)
    .map((c) => ({ category: c, count: counts.get(c)!, share: counts.get(c)! / total, department: routing[c] }))
    .sort((a, b) => b.count - a.count || COMPLAINT_CATEGORIES.indexOf(a.category) - COMPLAINT_CATEGORIES.indexOf(b.category));
}

/** The department leading on a day's complaints: that of the category with the most complaints. */
export interface ComplaintLead {
  readonly category: ComplaintCategory;
  readonly department: string;
  readonly count: number;
  readonly total: number;
  /** 0–1; undefined when the day has no categorised complaints (the `other` route is used). */
  readonly share?: number;
}

export function leadOf(counts: ReadonlyMap<ComplaintCategory, number>, routing: ComplaintRouting = DEFAULT_COMPLAINT_ROUTING): ComplaintLead {
  const list = breakdown(counts, routing);
  const top = list[0];
  if (!top) return { category: 'other', department: routing.other, count: 0, total: 0 };
  const total = list.reduce((a, c) => a + c.count, 0);
  return { category: top.category, department: top.department, count: top.count, total, share: top.share };
}

/** `业务支撑中心（计费类投诉 62%）` / `Business Support Centre (billing complaints 62%)`. */
export function leadText(lead: ComplaintLead, locale: Locale): { readonly text: string; readonly dept: string } {
  const dept = departmentName(lead.department, locale);
  if (lead.share === undefined) return { text: dept, dept };
  const pct = Math.round(lead.share * 100);
  const cat = categoryTitle(lead.category, locale);
  return { text: locale === 'zh' ? `${dept}（${cat}投诉 ${pct}%）` : `${dept} (${cat} complaints ${pct}%)`, dept };
}
