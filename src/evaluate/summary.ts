// Short Chinese phrases for verdict summaries (one line a manager can read on a phone).

import { BUILTIN_METRICS } from '../domain/metric.js';

const TITLES = new Map(BUILTIN_METRICS.map((m) => [m.name, m.title]));

const ATTR_TITLES: Readonly<Record<string, string>> = {
  target_customers: '目标客户',
  contract_end: '合同到期日',
  monthly_fee: '月均手续费',
  end: '活动结束日',
  start: '活动开始日',
};

/** 开卡量 for card_opening; rule-file metrics fall back to their name. */
export function metricTitle(metric: string): string {
  return TITLES.get(metric) ?? metric;
}

export function attrTitle(attr: string): string {
  return ATTR_TITLES[attr] ?? attr;
}

/** 37, 3.5, 0.25: integers as they are, other numbers with at most two significant decimals. */
export function fmtNum(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '∞' : String(n);
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 1 ? 1 : 2;
  return String(Number(n.toFixed(digits)));
}

/** 60% (rounded to a whole percent). */
export function fmtPct(n: number): string {
  return `${Math.round(n)}%`;
}

/** 每万 for 10000, 每千 for 1000, 每百 for 100, else 每N. */
export function perScale(scale: number): string {
  const names: Readonly<Record<number, string>> = { 100: '每百', 1000: '每千', 10000: '每万', 100000: '每十万' };
  return names[scale] ?? `每${fmtNum(scale)}`;
}

/** Prefix for values of a window: 近3天合计 for a sum of three days, nothing for one day. */
export function windowPrefix(days: number, partial: boolean): string {
  if (partial) return '今日累计';
  return days > 1 ? `近${days}天合计` : '';
}
