// Parsed, validated rule definitions. The YAML schema (config/rule-schema.ts) produces these.

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity | null | undefined): number {
  return s ? SEVERITIES.indexOf(s) + 1 : 0;
}

export type CompareOp = '>=' | '>' | '<=' | '<' | '==' | '!=';

/** One attribute condition of a scope: `monthly_fee: ">= 50"`, `region: [东区, 西区]`. */
export type AttrMatcher =
  | { readonly op: CompareOp; readonly value: number | string }
  | { readonly in: readonly string[] };

export interface Scope {
  readonly kinds?: readonly string[];
  readonly regions?: readonly string[];
  readonly districts?: readonly string[];
  readonly tiers?: readonly string[];
  readonly entities?: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrMatcher>>;
  /** Campaign rules: judge only days inside the entity's [attrs.start, attrs.end] window. */
  readonly liveWindow?: boolean;
}

/** A severity level: fires when the rule's measure reaches `at`. */
export interface Level {
  readonly severity: Severity;
  readonly at: number;
}

export interface RuleBase {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly scope: Scope;
  /** Consecutive judged periods (days) the condition must hold before firing. */
  readonly for: number;
  /** Where the rule came from, for messages: `rules/core-dealers.yaml:12`. */
  readonly source?: string;
  /** Extra labels copied onto alerts (e.g. `team: channels`). */
  readonly labels?: Readonly<Record<string, string>>;
}

export type Aggregator = 'sum' | 'avg' | 'max' | 'min' | 'count';

/** Value of a metric over a window of days vs fixed levels. */
export interface ThresholdRule extends RuleBase {
  readonly kind: 'threshold';
  readonly metric: string;
  /** Window length in days ending at the judged day. */
  readonly window: number;
  readonly agg: Aggregator;
  /** `above`: fires when the value ≥ level; `below`: when ≤ level. */
  readonly direction: 'above' | 'below';
  /** Levels, most severe first after parsing. */
  readonly levels: readonly Level[];
  /** Resolve only when the value is past the lowest level by this much (absolute). */
  readonly hysteresis: number;
}

/** Metric per `scale` units of an entity attribute, e.g. complaints per 10k target customers. */
export interface RatioRule extends RuleBase {
  readonly kind: 'ratio';
  readonly metric: string;
  readonly window: number;
  /** Entity attribute holding the denominator (`target_customers`). */
  readonly per: string;
  readonly scale: number;
  readonly direction: 'above' | 'below';
  readonly levels: readonly Level[];
  readonly hysteresis: number;
}

export type BaselineMethod = 'trailing_mean' | 'trailing_median' | 'same_weekday_median';

export interface BaselineSpec {
  readonly method: BaselineMethod;
  /** Trailing methods: days before the judged day. */
  readonly days: number;
  /** same_weekday_median: weeks back. */
  readonly weeks: number;
  /** Minimum-baseline guard: no judgement when the baseline is below this. */
  readonly min: number;
  /** Fewest history points needed for a baseline at all. */
  readonly minPoints: number;
}

/**
 * Evidence that a change is not ordinary noise (docs/rules.md#evidence-is-the-change-worth-a-text-message): the tail probability of the
 * observation under the entity's own over-dispersed count model.
 */
export interface EvidenceSpec {
  /** Page only when P(observation at least this extreme) ≤ maxP. */
  readonly maxP: number;
  /** Small volumes: also judge the sum of up to this many consecutive days. */
  readonly accumulateDays: number;
  /** Percent met but evidence weaker than maxP yet ≤ infoP → severity info, not paged. 0 = off. */
  readonly infoP: number;
  /** History window (days) used to estimate the entity's dispersion. */
  readonly dispersionDays: number;
}

/** Change vs the entity's own baseline. */
export interface ChangeRule extends RuleBase {
  readonly kind: 'change';
  readonly metric: string;
  readonly direction: 'drop' | 'spike';
  /** percent: |x−b|/b×100; robust_z: (x−b)/(1.4826·MAD); ratio: x/b. */
  readonly measure: 'percent' | 'robust_z' | 'ratio';
  readonly baseline: BaselineSpec;
  readonly levels: readonly Level[];
  readonly evidence?: EvidenceSpec;
  readonly hysteresis: number;
}

/** No samples of a metric for `days` complete days. */
export interface AbsenceRule extends RuleBase {
  readonly kind: 'absence';
  readonly metric: string;
  readonly days: number;
  readonly severity: Severity;
}

/** The same value reported for `days` consecutive days (a stuck feed). */
export interface FlatlineRule extends RuleBase {
  readonly kind: 'flatline';
  readonly metric: string;
  readonly days: number;
  readonly severity: Severity;
  /** Ignore flat zero runs (those are absence/drop territory). */
  readonly ignoreZero: boolean;
}

/** An attribute date (e.g. `contract_end`) within `withinDays` of today. */
export interface DateRule extends RuleBase {
  readonly kind: 'date';
  readonly attribute: string;
  readonly withinDays: number;
  readonly severity: Severity;
  /** Remind again every N days while the alert stays firing (src/duties/reminders.ts). */
  readonly remindEveryDays?: number;
}

/** Baseline of an intraday rule: the entity's expected cumulative count at an hour of today. */
export interface IntradayBaselineSpec {
  /** Weeks of history: the level from that weekday's daily values, the shape from hourly days. */
  readonly weeks: number;
  /** Minimum-baseline guard on the expected cumulative count at the judged hour. */
  readonly min: number;
  /** Fewest days needed for the level and for the hour-of-day shape. */
  readonly minPoints: number;
}

/** Evidence for an intraday rule (no accumulation: the partial day is one observation). */
export interface IntradayEvidenceSpec {
  readonly maxP: number;
  /** 0 = off. */
  readonly infoP: number;
  /** History window (days) for the entity's day-to-day dispersion. */
  readonly dispersionDays: number;
}

/**
 * Today's cumulative count up to the current local hour vs the entity's own expected
 * cumulative at that hour (its hour-of-day shape × its same-weekday daily level).
 */
export interface IntradayRule extends RuleBase {
  readonly kind: 'intraday';
  readonly metric: string;
  readonly direction: 'drop' | 'spike';
  /** percent: |x−e|/e×100; ratio: x/e. */
  readonly measure: 'percent' | 'ratio';
  readonly baseline: IntradayBaselineSpec;
  /** No judgement before this local hour (0–23): early expectations are tiny. */
  readonly fromHour: number;
  readonly levels: readonly Level[];
  readonly evidence?: IntradayEvidenceSpec;
  readonly hysteresis: number;
}

export type Rule = ThresholdRule | RatioRule | ChangeRule | AbsenceRule | FlatlineRule | DateRule | IntradayRule;
export type RuleKind = Rule['kind'];

/** The metric a rule reads, if any. */
export function ruleMetric(rule: Rule): string | undefined {
  return rule.kind === 'date' ? undefined : rule.metric;
}

/** Daily history a rule needs to judge a day (bounded by retention). */
export function ruleLookbackDays(rule: Rule): number {
  switch (rule.kind) {
    case 'threshold':
    case 'ratio':
      return rule.window + rule.for;
    case 'change': {
      const b = rule.baseline;
      const base = b.method === 'same_weekday_median' ? b.weeks * 7 : b.days;
      const disp = rule.evidence ? rule.evidence.dispersionDays : 0;
      const acc = rule.evidence ? rule.evidence.accumulateDays : 1;
      return Math.max(base, disp) + rule.for + acc;
    }
    case 'absence':
    case 'flatline':
      return rule.days + rule.for;
    case 'date':
      return 0;
    case 'intraday': {
      const disp = rule.evidence ? rule.evidence.dispersionDays : 0;
      return Math.max(rule.baseline.weeks * 7, disp) + 1;
    }
  }
}

/**
 * Days of hourly history (before today) a rule reads for its hour-of-day shape; 0 for rules
 * that read daily buckets only. Bounded by the hourly retention when read.
 */
export function ruleHourlyLookbackDays(rule: Rule): number {
  return rule.kind === 'intraday' ? rule.baseline.weeks * 7 : 0;
}

export interface RuleSet {
  readonly rules: readonly Rule[];
  /** Metric definitions declared by rule files (beyond the built-in ones). */
  readonly metrics: readonly { name: string; aggregation: 'sum' | 'avg'; title: string }[];
  /** sha256 of the files, for /metrics and logs. */
  readonly hash: string;
  readonly files: readonly string[];
}
