// The rule-file schema (rules/*.yaml): strict zod objects, snake_case in YAML → the camelCase
// Rule types of domain/rule.ts. Also maps zod issues to ConfigErrors naming file, line and field.

import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { isMap, isPair, isScalar, isSeq } from 'yaml';
import { z } from 'zod';
import { ENTITY_KINDS } from '../domain/entity.js';
import type {
  AbsenceRule,
  AttrMatcher,
  ChangeRule,
  CompareOp,
  DateRule,
  FlatlineRule,
  IntradayRule,
  Level,
  RatioRule,
  Rule,
  RuleKind,
  Scope,
  ThresholdRule,
} from '../domain/rule.js';
import { SEVERITIES, severityRank } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';

export const RULE_KINDS: readonly RuleKind[] = ['threshold', 'ratio', 'change', 'absence', 'flatline', 'date', 'intraday'];

const positiveInt = z.number().int().min(1);
const probability = z.number().gt(0).max(1);
const nonEmpty = z.string().min(1);

/** `monthly_fee`, `card_opening`: the names rules and metrics use. */
const identifier = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected lower_snake_case');

const stringList = z
  .union([nonEmpty, z.array(nonEmpty).min(1)], { error: 'expected a string or a list of strings' })
  .transform((v) => (typeof v === 'string' ? [v] : v));

const entityKind = z.enum(ENTITY_KINDS);
const kindList = z
  .union([entityKind, z.array(entityKind).min(1)], { error: `expected one of ${ENTITY_KINDS.join(', ')} (or a list)` })
  .transform((v): string[] => (typeof v === 'string' ? [v] : v));

const OPS: readonly CompareOp[] = ['>=', '<=', '==', '!=', '>', '<'];

/** `">= 50"` → {op: '>=', value: 50}; `"A"` → {op: '==', value: 'A'}; `[a, b]` → {in: [a, b]}. */
export function parseAttrMatcher(v: string | number | boolean | readonly (string | number)[]): AttrMatcher | undefined {
  if (Array.isArray(v)) return { in: v.map(String) };
  if (typeof v === 'number') return { op: '==', value: v };
  if (typeof v === 'boolean') return { op: '==', value: String(v) };
  const s = String(v).trim();
  const op = OPS.find((o) => s.startsWith(o));
  const rest = op ? s.slice(op.length).trim() : s;
  if (rest === '') return undefined;
  const num = Number(rest);
  return { op: op ?? '==', value: Number.isFinite(num) ? num : rest };
}

const attrMatcher = z
  .union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()])).min(1)], {
    error: 'expected ">= 50", a value, or a list of values',
  })
  .transform((v, ctx) => {
    const m = parseAttrMatcher(v);
    if (!m) ctx.issues.push({ code: 'custom', message: 'expected a comparison such as ">= 50"', input: v });
    return m ?? { in: [] };
  });

const scopeSchema = z
  .strictObject({
    kind: kindList.optional(),
    region: stringList.optional(),
    district: stringList.optional(),
    tier: stringList.optional(),
    entity: stringList.optional(),
    attrs: z.record(z.string(), attrMatcher).optional(),
    live: z.boolean().optional(),
  })
  .transform(
    (s): Scope =>
      compact({
        kinds: s.kind,
        regions: s.region,
        districts: s.district,
        tiers: s.tier,
        entities: s.entity,
        attrs: s.attrs,
        liveWindow: s.live ? true : undefined,
      }),
  );

/** Levels in YAML order (so issue paths point at the right line); severities must be distinct. */
function levelsSchema(at: z.ZodNumber) {
  return z
    .array(z.strictObject({ severity: z.enum(SEVERITIES), at }))
    .min(1)
    .superRefine((levels, ctx) => {
      const seen = new Set<string>();
      levels.forEach((l, i) => {
        if (seen.has(l.severity)) ctx.addIssue({ code: 'custom', message: `severity ${l.severity} appears twice`, path: [i, 'severity'] });
        seen.add(l.severity);
      });
    });
}

// Measured values are never negative, so a negative level could never be told apart from "always".
const valueLevels = levelsSchema(z.number().min(0, 'must be ≥ 0 (measured values are never negative)'));
// Change measures are oriented so that a level is a positive distance from the baseline.
const changeLevels = levelsSchema(z.number().gt(0, 'must be > 0 (levels are distances from the baseline, positive for drops and spikes alike)'));

/** Most severe first, as the evaluators read them. */
function sortLevels(levels: readonly Level[]): Level[] {
  return [...levels].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
}

/** A more severe level must sit further out than a milder one (`ge`: higher `at`). */
function checkLevelOrder(unsorted: readonly Level[], reach: 'ge' | 'le', ctx: z.RefinementCtx): void {
  const levels = sortLevels(unsorted);
  for (let i = 1; i < levels.length; i++) {
    const severe = levels[i - 1]!;
    const mild = levels[i]!;
    if (severe.severity === mild.severity) continue; // reported as a duplicate already
    const ok = reach === 'ge' ? severe.at >= mild.at : severe.at <= mild.at;
    if (!ok) {
      const want = reach === 'ge' ? 'at least' : 'at most';
      ctx.addIssue({ code: 'custom', message: `${severe.severity} must be ${want} the ${mild.severity} level (${mild.at})`, path: ['levels'] });
    }
  }
}

/** Bounds a change measure can reach at all: a drop is at most 100 %, a ratio drop lies below 1, a ratio spike above 1. */
function checkChangeReach(levels: readonly Level[], measure: string, direction: 'drop' | 'spike', ctx: z.RefinementCtx): void {
  levels.forEach((l, i) => {
    let problem: string | undefined;
    if (measure === 'percent' && direction === 'drop' && l.at > 100) problem = 'must be ≤ 100 (a drop cannot exceed 100 %)';
    else if (measure === 'ratio' && direction === 'drop' && l.at >= 1) problem = 'must be < 1 for a ratio drop (today / baseline, e.g. 0.5)';
    else if (measure === 'ratio' && direction === 'spike' && l.at <= 1) problem = 'must be > 1 for a ratio spike (today / baseline, e.g. 3)';
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['levels', i, 'at'] });
  });
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const common = {
  id: z.string().regex(/^[a-z0-9_]+$/, 'expected [a-z0-9_]+'),
  name: nonEmpty,
  description: z.string().optional(),
  scope: scopeSchema.default({}),
  for: positiveInt.default(1),
  labels: z.record(z.string(), z.string()).optional(),
};

type CommonIn = {
  id: string;
  name: string;
  description?: string;
  scope: Scope;
  for: number;
  labels?: Record<string, string>;
};

function base(r: CommonIn) {
  return compact({ id: r.id, name: r.name, description: r.description, scope: r.scope, for: r.for, labels: r.labels });
}

const direction = z.enum(['above', 'below']).default('above');
const hysteresis = z.number().min(0).default(0);

const thresholdSchema = z
  .strictObject({
    ...common,
    kind: z.literal('threshold'),
    metric: identifier,
    window: positiveInt.default(1),
    agg: z.enum(['sum', 'avg', 'max', 'min', 'count']).default('sum'),
    direction,
    levels: valueLevels,
    hysteresis,
  })
  .superRefine((r, ctx) => checkLevelOrder(r.levels, r.direction === 'above' ? 'ge' : 'le', ctx))
  .transform(
    (r): ThresholdRule => ({
      ...base(r),
      kind: 'threshold',
      metric: r.metric,
      window: r.window,
      agg: r.agg,
      direction: r.direction,
      levels: sortLevels(r.levels),
      hysteresis: r.hysteresis,
    }),
  );

const ratioSchema = z
  .strictObject({
    ...common,
    kind: z.literal('ratio'),
    metric: identifier,
    window: positiveInt.default(1),
    per: nonEmpty,
    scale: z.number().gt(0).default(10000),
    direction,
    levels: valueLevels,
    hysteresis,
  })
  .superRefine((r, ctx) => checkLevelOrder(r.levels, r.direction === 'above' ? 'ge' : 'le', ctx))
  .transform(
    (r): RatioRule => ({
      ...base(r),
      kind: 'ratio',
      metric: r.metric,
      window: r.window,
      per: r.per,
      scale: r.scale,
      direction: r.direction,
      levels: sortLevels(r.levels),
      hysteresis: r.hysteresis,
    }),
  );

const baselineSchema = z.strictObject({
  method: z.enum(['trailing_mean', 'trailing_median', 'same_weekday_median']),
  days: positiveInt.default(14),
  weeks: positiveInt.default(4),
  min: z.number().min(0).default(0),
  min_points: positiveInt.default(3),
});

const evidenceSchema = z
  .strictObject({
    max_p: probability.default(0.001),
    accumulate_days: positiveInt.max(14).default(1),
    info_p: z.number().min(0).max(1).default(0),
    dispersion_days: z.number().int().min(7).default(28),
  })
  .superRefine((e, ctx) => {
    if (e.info_p !== 0 && e.info_p <= e.max_p) {
      ctx.addIssue({ code: 'custom', message: 'info_p must be 0 (off) or larger than max_p', path: ['info_p'] });
    }
  });

const changeSchema = z
  .strictObject({
    ...common,
    kind: z.literal('change'),
    metric: identifier,
    direction: z.enum(['drop', 'spike']),
    measure: z.enum(['percent', 'robust_z', 'ratio']).default('percent'),
    baseline: baselineSchema,
    levels: changeLevels,
    evidence: evidenceSchema.optional(),
    hysteresis,
  })
  .superRefine((r, ctx) => {
    checkLevelOrder(r.levels, r.measure === 'ratio' && r.direction === 'drop' ? 'le' : 'ge', ctx);
    checkChangeReach(r.levels, r.measure, r.direction, ctx);
  })
  .transform(
    (r): ChangeRule => ({
      ...base(r),
      kind: 'change',
      metric: r.metric,
      direction: r.direction,
      measure: r.measure,
      baseline: {
        method: r.baseline.method,
        days: r.baseline.days,
        weeks: r.baseline.weeks,
        min: r.baseline.min,
        minPoints: r.baseline.min_points,
      },
      levels: sortLevels(r.levels),
      ...(r.evidence
        ? {
            evidence: {
              maxP: r.evidence.max_p,
              accumulateDays: r.evidence.accumulate_days,
              infoP: r.evidence.info_p,
              dispersionDays: r.evidence.dispersion_days,
            },
          }
        : {}),
      hysteresis: r.hysteresis,
    }),
  );

const severity = z.enum(SEVERITIES);

const absenceSchema = z
  .strictObject({ ...common, kind: z.literal('absence'), metric: identifier, days: positiveInt, severity })
  .transform((r): AbsenceRule => ({ ...base(r), kind: 'absence', metric: r.metric, days: r.days, severity: r.severity }));

const flatlineSchema = z
  .strictObject({
    ...common,
    kind: z.literal('flatline'),
    metric: identifier,
    days: z.number().int().min(2),
    severity,
    ignore_zero: z.boolean().default(true),
  })
  .transform(
    (r): FlatlineRule => ({ ...base(r), kind: 'flatline', metric: r.metric, days: r.days, severity: r.severity, ignoreZero: r.ignore_zero }),
  );

const dateSchema = z
  .strictObject({
    ...common,
    kind: z.literal('date'),
    attribute: nonEmpty,
    within_days: z.number().int().min(0),
    severity,
    remind_every_days: positiveInt.optional(),
  })
  .transform(
    (r): DateRule =>
      compact({ ...base(r), kind: 'date' as const, attribute: r.attribute, withinDays: r.within_days, severity: r.severity, remindEveryDays: r.remind_every_days }),
  );

const intradayBaselineSchema = z.strictObject({
  weeks: positiveInt.default(4),
  min: z.number().min(0).default(0),
  min_points: positiveInt.default(3),
});

const intradayEvidenceSchema = z
  .strictObject({
    max_p: probability.default(0.001),
    info_p: z.number().min(0).max(1).default(0),
    dispersion_days: z.number().int().min(7).default(28),
  })
  .superRefine((e, ctx) => {
    if (e.info_p !== 0 && e.info_p <= e.max_p) {
      ctx.addIssue({ code: 'custom', message: 'info_p must be 0 (off) or larger than max_p', path: ['info_p'] });
    }
  });

const intradaySchema = z
  .strictObject({
    ...common,
    kind: z.literal('intraday'),
    metric: identifier,
    direction: z.enum(['drop', 'spike']),
    measure: z.enum(['percent', 'ratio']).default('percent'),
    baseline: intradayBaselineSchema.default({ weeks: 4, min: 0, min_points: 3 }),
    from_hour: z.number().int().min(0).max(23).default(10),
    levels: changeLevels,
    evidence: intradayEvidenceSchema.optional(),
    hysteresis,
  })
  .superRefine((r, ctx) => {
    checkLevelOrder(r.levels, r.measure === 'ratio' && r.direction === 'drop' ? 'le' : 'ge', ctx);
    checkChangeReach(r.levels, r.measure, r.direction, ctx);
  })
  .transform(
    (r): IntradayRule => ({
      ...base(r),
      kind: 'intraday',
      metric: r.metric,
      direction: r.direction,
      measure: r.measure,
      baseline: { weeks: r.baseline.weeks, min: r.baseline.min, minPoints: r.baseline.min_points },
      fromHour: r.from_hour,
      levels: sortLevels(r.levels),
      ...(r.evidence
        ? { evidence: { maxP: r.evidence.max_p, infoP: r.evidence.info_p, dispersionDays: r.evidence.dispersion_days } }
        : {}),
      hysteresis: r.hysteresis,
    }),
  );

/** One schema per rule kind; the loader picks it from `kind` so errors speak of that kind only. */
export const RULE_SCHEMAS: { readonly [K in RuleKind]: z.ZodType<Extract<Rule, { kind: K }>> } = {
  threshold: thresholdSchema,
  ratio: ratioSchema,
  change: changeSchema,
  absence: absenceSchema,
  flatline: flatlineSchema,
  date: dateSchema,
  intraday: intradaySchema,
};

export function isRuleKind(s: unknown): s is RuleKind {
  return typeof s === 'string' && (RULE_KINDS as readonly string[]).includes(s);
}

/** A metric a rule file declares beyond the built-in catalogue. */
export const metricDefSchema = z.strictObject({
  name: identifier,
  aggregation: z.enum(['sum', 'avg']).default('sum'),
  title: nonEmpty.optional(),
});

/** The top level of a rule file; each rule is checked on its own against its kind's schema. */
export const ruleFileSchema = z.strictObject({
  metrics: z.array(z.unknown()).optional(),
  rules: z.array(z.unknown()).optional(),
});

// ---- locating errors -------------------------------------------------------------------------

export type PathSeg = string | number;

/** `rules[2].levels[0].bogus` */
export function formatPath(path: readonly PathSeg[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

/** A parsed YAML document and where it came from, to turn paths into line numbers. */
export interface YamlSource {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
}

function lineAt(src: YamlSource, node: { range?: readonly number[] | null } | null | undefined): number | undefined {
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : src.lines.linePos(offset).line;
}

/**
 * The line of `path` in the document: the key's line when `key` (unknown or bad fields),
 * otherwise the value's; the nearest existing ancestor when the path does not exist (missing).
 */
export function lineOf(src: YamlSource, path: readonly PathSeg[], key = false): number {
  let node: unknown = src.doc.contents;
  let line = lineAt(src, node as YamlNode) ?? 1;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return line;
      const keyLine = lineAt(src, pair.key as YamlNode) ?? line;
      if (last && key) return keyLine;
      node = pair.value;
      line = lineAt(src, node as YamlNode) ?? keyLine;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return line;
      node = item;
      line = lineAt(src, node as YamlNode) ?? line;
    } else {
      return line;
    }
  }
  return line;
}

function valueAt(raw: unknown, path: readonly PathSeg[]): unknown {
  let v = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/**
 * zod issues → ConfigErrors. `prefix` is where `raw` sits in the document (`['rules', 2]`).
 * Unknown keys become unknown_field, absent required ones missing_field, the rest bad_field
 * (or `code` for every issue, e.g. bad_rule_test).
 */
export function issuesToErrors(
  issues: readonly z.core.$ZodIssue[],
  src: YamlSource,
  prefix: readonly PathSeg[],
  raw: unknown,
  code?: string,
): ConfigError[] {
  const out: ConfigError[] = [];
  for (const issue of issues) {
    const rel = issue.path.filter((s): s is PathSeg => typeof s !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const path = [...prefix, ...rel, k];
        out.push(new ConfigError(code ?? 'unknown_field', 'unknown field', src.file, lineOf(src, path, true), formatPath(path)));
      }
      continue;
    }
    const path = [...prefix, ...rel];
    const missing = issue.code === 'invalid_type' && valueAt(raw, rel) === undefined;
    const message = missing ? 'required field is missing' : issue.message;
    out.push(new ConfigError(code ?? (missing ? 'missing_field' : 'bad_field'), message, src.file, lineOf(src, path), formatPath(path)));
  }
  return out;
}
