/** How samples of a metric combine inside a bucket. */
export type Aggregation = 'sum' | 'avg';

export interface MetricDef {
  readonly name: string;
  readonly aggregation: Aggregation;
  /** 中文名 for messages and dashboards. */
  readonly title: string;
}

export const COMPLAINT_CATEGORIES = ['network', 'billing', 'promotion', 'tariff', 'service', 'other'] as const;

/** 中文名 of each complaint category: 网络类 (its metric `complaints.network` is 网络类投诉). */
export const COMPLAINT_CATEGORY_TITLES_ZH: Readonly<Record<(typeof COMPLAINT_CATEGORIES)[number], string>> = {
  network: '网络类', billing: '计费类', promotion: '促销类', tariff: '资费类', service: '服务类', other: '其他',
};

const summed = (name: string, title: string): MetricDef => ({ name, aggregation: 'sum', title });

/** The built-in metric catalogue (docs/ingest.md#sample-fields). Rule files may declare more (`metrics:` section). */
export const BUILTIN_METRICS: readonly MetricDef[] = Object.freeze([
  summed('card_opening', '开卡量'),
  summed('air_recharge', '空中充值'),
  summed('basic_business', '基础业务办理量'),
  summed('complaints', '投诉量'),
  summed('unsubscribes', '退订量'),
  summed('enrollments', '办理量'),
  { name: 'satisfaction', aggregation: 'avg', title: '短信满意度评分' },
  // Complaints by category (labels.category), derived by the worker from each complaint sample.
  ...COMPLAINT_CATEGORIES.map((c) => summed(`complaints.${c}`, `${COMPLAINT_CATEGORY_TITLES_ZH[c]}投诉`)),
]);

export type MetricCatalogue = ReadonlyMap<string, MetricDef>;

export function metricCatalogue(extra: readonly MetricDef[] = []): MetricCatalogue {
  const map = new Map<string, MetricDef>();
  for (const m of [...BUILTIN_METRICS, ...extra]) map.set(m.name, m);
  return map;
}
