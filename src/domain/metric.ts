/** How samples of a metric combine inside a bucket. */
export type Aggregation = 'sum' | 'avg';

export interface MetricDef {
  readonly name: string;
  readonly aggregation: Aggregation;
  /** 中文名 for messages and dashboards. */
  readonly title: string;
}

/** The built-in metric catalogue (docs/ingest.md#sample-fields). Rule files may declare more (`metrics:` section). */
export const BUILTIN_METRICS: readonly MetricDef[] = Object.freeze([
  { name: 'card_opening', aggregation: 'sum', title: '开卡量' },
  { name: 'air_recharge', aggregation: 'sum', title: '空中充值' },
  { name: 'basic_business', aggregation: 'sum', title: '基础业务办理量' },
  { name: 'complaints', aggregation: 'sum', title: '投诉量' },
  { name: 'unsubscribes', aggregation: 'sum', title: '退订量' },
  { name: 'enrollments', aggregation: 'sum', title: '办理量' },
  { name: 'satisfaction', aggregation: 'avg', title: '短信满意度评分' },
  // Complaints by category (labels.category), derived by the worker from each complaint sample.
  { name: 'complaints.network', aggregation: 'sum', title: '网络类投诉' },
  { name: 'complaints.billing', aggregation: 'sum', title: '计费类投诉' },
  { name: 'complaints.promotion', aggregation: 'sum', title: '促销类投诉' },
  { name: 'complaints.tariff', aggregation: 'sum', title: '资费类投诉' },
  { name: 'complaints.service', aggregation: 'sum', title: '服务类投诉' },
  { name: 'complaints.other', aggregation: 'sum', title: '其他投诉' },
]);

export type MetricCatalogue = ReadonlyMap<string, MetricDef>;

export function metricCatalogue(extra: readonly MetricDef[] = []): MetricCatalogue {
  const map = new Map<string, MetricDef>();
  for (const m of [...BUILTIN_METRICS, ...extra]) map.set(m.name, m);
  return map;
}

export const COMPLAINT_CATEGORIES = ['network', 'billing', 'promotion', 'tariff', 'service', 'other'] as const;
