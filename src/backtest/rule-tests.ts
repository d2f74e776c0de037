// Rule unit tests, run by `lookout rules test FILE|DIR` (in the spirit of `promtool test rules`):
// input series → the exact set of open alerts expected at an instant.
//
// A test file (YAML):
//
//   rule_files: [../core-dealers.yaml]        # relative to the test file
//   tz: Asia/Shanghai                         # optional, default Asia/Shanghai
//   entities:
//     - {id: D1, kind: core_dealer, name: 测试渠道, region: R1, district: X1, manager: C1, attrs: {monthly_fee: 120}}
//   series:
//     - {metric: card_opening, entity: D1, start: 2026-10-24, values: "100x27 40"}
//     - {metric: card_opening, entity: D2, start: 2026-10-24, every: hour, values: "(0x9 10x8 0x7)x28 0x9 2x8"}
//   tests:
//     - name: a 60 % drop is critical
//       at: 2026-11-21T09:00:00+08:00         # evaluation instant
//       expect:                               # exactly the open alerts at `at` ([] = none)
//         - {rule: core_dealer_card_opening_drop, entity: D1, severity: critical, state: firing}
//
// `values` are daily values from `start`, separated by spaces: `40` one day, `100x27` the value
// 100 on 27 days, `5+1x4` four days 5 6 7 8, `_` a day without data (not zero), `_x3` three,
// `(a b c)x7` a group repeated. With `every: hour` the values are hourly from local midnight of
// `start` (24 a day), and the series' daily values are the sums of its hours (as the daily
// buckets of an hourly feed are).
// Each test walks day by day from the first series day to the day of `at`, judging every entity
// at the same local time of day as `at` with the kernel the live worker runs (judgeEntity: the
// same evaluators and alert lifecycle), so `for` and hysteresis work as in production. On each
// day the rules see what a live judgement reads (the kernel's read plan: each metric's lookback,
// capped by LOOKOUT_RETENTION_DAYS): the series up to and including that day (the day itself as
// today's partial day); values after the day of `at` are not.
// An hourly value is visible once its hour is over. Intraday rules are also judged at every full
// hour of each day up to that time of day (as an hourly feed makes the worker do), so their
// alerts resolve when the day ends.
// `state` (pending, firing, acknowledged) and `notify` are checked only when given.

import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { AlertRecord } from '../domain/alert.js';
import { Calendar, isValidTimeZone, MS_PER_HOUR } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { ENTITY_KINDS } from '../domain/entity.js';
import type { Rule } from '../domain/rule.js';
import { SEVERITIES } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';
import { isOpen } from '../domain/lifecycle.js';
import { judgeEntity } from '../evaluate/kernel.js';
import { readFromDay } from '../domain/series.js';
import { ReadPlanner } from '../evaluate/plan.js';
import type { EntityHourly, EntitySeries } from '../domain/series.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import type { PathSeg, YamlSource } from '../config/rule-schema.js';
import { formatPath, issuesToErrors, lineOf } from '../config/rule-schema.js';
import { loadRuleFiles, parseYaml } from '../config/rules-loader.js';

const CODE = 'bad_rule_test';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD').refine((s) => Calendar.parseIsoDay(s) !== undefined, 'not a calendar date');

const entitySchema = z.strictObject({
  id: z.string().min(1),
  kind: z.enum(ENTITY_KINDS),
  name: z.string().optional(),
  region: z.string().optional(),
  district: z.string().optional(),
  manager: z.string().optional(),
  tier: z.string().optional(),
  attrs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

const seriesSchema = z.strictObject({
  metric: z.string().min(1),
  entity: z.string().min(1),
  start: isoDate,
  /** `day` (default): one value per day; `hour`: one value per local hour from midnight of `start`. */
  every: z.enum(['day', 'hour']).default('day'),
  values: z.union([z.string(), z.number()]).transform(String),
});

const expectSchema = z.strictObject({
  rule: z.string().min(1),
  entity: z.string().min(1),
  severity: z.enum(SEVERITIES),
  state: z.enum(['pending', 'firing', 'acknowledged']).optional(),
  notify: z.boolean().optional(),
});

const testSchema = z.strictObject({
  name: z.string().min(1),
  at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 instant such as 2026-11-21T09:00:00+08:00'),
  expect: z.array(expectSchema),
});

const fileSchema = z.strictObject({
  rule_files: z.array(z.string().min(1)).min(1),
  tz: z.string().default('Asia/Shanghai'),
  entities: z.array(entitySchema).min(1),
  series: z.array(seriesSchema).default([]),
  tests: z.array(testSchema).min(1),
});

type TestFile = z.infer<typeof fileSchema>;
type Expectation = z.infer<typeof expectSchema>;

export interface RuleTestCaseResult {
  readonly name: string;
  readonly line: number;
  readonly ok: boolean;
  /** Readable diff lines when the case failed. */
  readonly diff: readonly string[];
}

export interface RuleTestResult {
  readonly file: string;
  readonly ok: boolean;
  readonly cases: readonly RuleTestCaseResult[];
  /** The test file (or a rule file it names) is invalid; no case ran. */
  readonly errors: readonly ConfigError[];
}

/**
 * `"100x3 _ 5+1x3"` → [100, 100, 100, undefined, 5, 6, 7]; `"(0 5)x2 1"` → [0, 5, 0, 5, 1] (a
 * parenthesised group repeated N times, e.g. one day's 24 hours for every day of four weeks).
 * Throws on a bad token.
 */
export function expandSeriesValues(text: string): (number | undefined)[] {
  const src = text.trim();
  let i = 0;
  const bad = (what: string): Error => new Error(`bad value ${JSON.stringify(what)} (expected 40, 100x27, 5+1x4, _, _x3 or (a b c)x7)`);
  const items = (depth: number): (number | undefined)[] => {
    const out: (number | undefined)[] = [];
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++;
      if (i >= src.length) {
        if (depth > 0) throw bad(src);
        return out;
      }
      if (src[i] === ')') {
        if (depth === 0) throw bad(src.slice(i));
        i++;
        return out;
      }
      if (src[i] === '(') {
        const start = i++;
        const inner = items(depth + 1);
        const m = /^x(\d+)/.exec(src.slice(i));
        if (m) i += m[0].length;
        if (i < src.length && !/[\s)]/.test(src[i]!)) throw bad(src.slice(start, i + 1));
        const times = m ? Number(m[1]) : 1;
        for (let k = 0; k < times; k++) for (const v of inner) out.push(v);
        continue;
      }
      let end = i;
      while (end < src.length && !/[\s()]/.test(src[end]!)) end++;
      const token = src.slice(i, end);
      i = end;
      const m = /^(_|-?\d+(?:\.\d+)?)(?:([+-]\d+(?:\.\d+)?))?(?:x(\d+))?$/.exec(token);
      if (!m || (m[1] === '_' && m[2]) || src[i] === '(') throw bad(token);
      const times = m[3] === undefined ? 1 : Number(m[3]);
      const first = m[1] === '_' ? undefined : Number(m[1]);
      const step = m[2] === undefined ? 0 : Number(m[2]);
      for (let k = 0; k < times; k++) out.push(first === undefined ? undefined : first + step * k);
    }
  };
  return items(0);
}

function err(src: YamlSource, path: readonly PathSeg[], message: string): ConfigError {
  return new ConfigError(CODE, message, src.file, lineOf(src, path), formatPath(path));
}

interface Prepared {
  readonly rules: readonly Rule[];
  readonly calendar: Calendar;
  readonly entities: readonly Entity[];
  readonly series: ReadonlyMap<string, Map<string, Map<number, number>>>;
  /** Series given `every: hour`: entity → metric → day → 24 hourly values (NaN: no data). */
  readonly hourly: ReadonlyMap<string, Map<string, Map<number, Float64Array>>>;
  readonly firstDay?: number;
  readonly retention: RuleTestRetention;
}

function buildSeries(src: YamlSource, t: TestFile): { prepared?: Omit<Prepared, 'rules' | 'calendar' | 'retention'>; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const entities: Entity[] = t.entities.map((e) => ({ ...e, name: e.name ?? e.id }));
  const ids = new Set<string>();
  entities.forEach((e, i) => {
    if (ids.has(e.id)) errors.push(err(src, ['entities', i, 'id'], `entity ${e.id} is declared twice`));
    ids.add(e.id);
  });
  const series = new Map<string, Map<string, Map<number, number>>>();
  const hourly = new Map<string, Map<string, Map<number, Float64Array>>>();
  let firstDay: number | undefined;
  t.series.forEach((s, i) => {
    if (!ids.has(s.entity)) errors.push(err(src, ['series', i, 'entity'], `entity ${s.entity} is not declared under entities`));
    let values: (number | undefined)[];
    try {
      values = expandSeriesValues(s.values);
    } catch (e) {
      errors.push(err(src, ['series', i, 'values'], (e as Error).message));
      return;
    }
    const byMetric = series.get(s.entity) ?? new Map<string, Map<number, number>>();
    series.set(s.entity, byMetric);
    if (byMetric.has(s.metric)) errors.push(err(src, ['series', i], `series ${s.metric} of ${s.entity} is given twice`));
    const days = new Map<number, number>();
    const start = Calendar.parseIsoDay(s.start)!;
    if (s.every === 'hour') {
      const rows = new Map<number, Float64Array>();
      values.forEach((v, k) => {
        if (v === undefined) return;
        const d = start + Math.floor(k / HOURS_PER_DAY);
        let row = rows.get(d);
        if (!row) rows.set(d, (row = new Float64Array(HOURS_PER_DAY).fill(NaN)));
        row[k % HOURS_PER_DAY] = v;
        days.set(d, (days.get(d) ?? 0) + v);
      });
      const byMetricHourly = hourly.get(s.entity) ?? new Map<string, Map<number, Float64Array>>();
      hourly.set(s.entity, byMetricHourly);
      byMetricHourly.set(s.metric, rows);
    } else {
      values.forEach((v, k) => {
        if (v !== undefined) days.set(start + k, v);
      });
    }
    byMetric.set(s.metric, days);
    firstDay = firstDay === undefined ? start : Math.min(firstDay, start);
  });
  return { prepared: { entities, series, hourly, firstDay }, errors };
}

function describe(a: { rule: string; entity: string; severity: string; state?: string; notify?: boolean }): string {
  const notify = a.notify === undefined ? '' : `, notify: ${a.notify}`;
  return `{rule: ${a.rule}, entity: ${a.entity}, severity: ${a.severity}${a.state ? `, state: ${a.state}` : ''}${notify}}`;
}

/** Compare open alerts with the expectation; empty when they match. */
function diff(expected: readonly Expectation[], open: readonly AlertRecord[]): string[] {
  const lines: string[] = [];
  const byKey = new Map(open.map((a) => [`${a.rule}\0${a.entity}`, a]));
  const matched = new Set<string>();
  for (const e of expected) {
    const key = `${e.rule}\0${e.entity}`;
    const a = byKey.get(key);
    if (!a) {
      lines.push(`  - missing:    ${describe(e)}`);
      continue;
    }
    matched.add(key);
    const ok = a.severity === e.severity && (e.state === undefined || a.state === e.state) && (e.notify === undefined || a.notify === e.notify);
    if (!ok) {
      lines.push(`  - expected:   ${describe(e)}`);
      lines.push(`    got:        ${describe({ ...a, notify: e.notify === undefined ? undefined : a.notify })} — ${a.summary}`);
    }
  }
  for (const a of open) {
    if (!matched.has(`${a.rule}\0${a.entity}`)) lines.push(`  - unexpected: ${describe(a)} — ${a.summary}`);
  }
  return lines;
}

/** How far back a live judgement reads (LOOKOUT_RETENTION_DAYS, LOOKOUT_HOURLY_RETENTION_DAYS). */
export interface RuleTestRetention {
  readonly retentionDays: number;
  readonly hourlyRetentionDays: number;
}

const DEFAULT_RETENTION: RuleTestRetention = { retentionDays: 35, hourlyRetentionDays: 28 };

/** Entries of `m` whose day is ≥ `from`. */
function since<V>(m: ReadonlyMap<number, V>, from: number): Map<number, V> {
  const out = new Map<number, V>();
  for (const [k, v] of m) if (k >= from) out.set(k, v);
  return out;
}

/**
 * What the rules see at `now` (today = `day`), as the live worker reads it (the kernel's read
 * plan: each metric's lookback, capped by the retention): hourly values whose hour is over, and
 * daily values up to today; the daily value of an hourly series today is the sum of its visible
 * hours.
 */
function visibleAt(prepared: Prepared, planner: ReadPlanner, entity: string, day: number, now: number): { series: EntitySeries; hourly?: EntityHourly } {
  const stored = prepared.series.get(entity) ?? new Map<string, Map<number, number>>();
  const series = new Map<string, Map<number, number>>();
  for (const [metric, byDay] of stored) series.set(metric, since(byDay, readFromDay(day, prepared.retention.retentionDays, planner.lookback(metric))));
  const rows = prepared.hourly.get(entity);
  if (!rows) return { series };
  const firstHidden = prepared.calendar.hourOf(now) - day * HOURS_PER_DAY;
  const hourlyView = new Map<string, Map<number, Float64Array>>();
  for (const [metric, byDay] of rows) {
    const d = series.get(metric)!;
    const h = new Map<number, Float64Array>();
    const fromDay = day - Math.min(planner.hourlyLookback(metric), prepared.retention.hourlyRetentionDays);
    d.delete(day);
    for (const [k, row] of byDay) {
      if (k < day) {
        if (k >= fromDay) h.set(k, row);
      } else if (k === day) {
        const part = row.map((v, hour) => (hour < firstHidden ? v : NaN));
        const sum = part.reduce((a, v) => (Number.isNaN(v) ? a : a + v), 0);
        if (part.some((v) => !Number.isNaN(v))) {
          h.set(k, part);
          d.set(k, sum);
        }
      }
    }
    for (const k of [...d.keys()]) if (k > day) d.delete(k);
    hourlyView.set(metric, h);
  }
  return { series, hourly: hourlyView };
}

/**
 * Walk day by day to `at`, judging every entity with the kernel (judgeEntity, as the live worker
 * does) and keeping each alert's record; the open alerts at `at`.
 */
function openAlertsAt(prepared: Prepared, atMs: number): AlertRecord[] {
  const atDay = prepared.calendar.dayOf(atMs);
  const timeOfDay = atMs - prepared.calendar.startOfDay(atDay);
  const planner = new ReadPlanner(prepared.rules);
  const state = new Map<string, Map<string, AlertRecord>>();
  const intraday = prepared.rules.filter((r) => r.kind === 'intraday');
  const from = Math.min(prepared.firstDay ?? atDay, atDay);
  const evaluate = (rules: readonly Rule[], day: number, now: number): void => {
    const ctx = { now, today: day, calendar: prepared.calendar };
    for (const entity of prepared.entities) {
      const priors = state.get(entity.id) ?? new Map<string, AlertRecord>();
      state.set(entity.id, priors);
      if (!planner.plan(entity)) continue;
      const { series, hourly } = visibleAt(prepared, planner, entity.id, day, now);
      for (const step of judgeEntity({ rules, entity, series, hourly, priors, ctx })) priors.set(step.rule, step.record);
    }
  };
  for (let day = from; day <= atDay; day++) {
    const start = prepared.calendar.startOfDay(day);
    const now = day === atDay ? atMs : start + timeOfDay;
    // Intraday rules at every full hour before `now` (an hourly feed keeps the worker judging).
    if (intraday.length) for (let h = 0; start + h * MS_PER_HOUR < now; h++) evaluate(intraday, day, start + h * MS_PER_HOUR);
    evaluate(prepared.rules, day, now);
  }
  return [...state.values()].flatMap((m) => [...m.values()]).filter((r) => isOpen(r));
}

/** Run one rule-test file. */
export async function runRuleTestFile(path: string, retention: RuleTestRetention = DEFAULT_RETENTION): Promise<RuleTestResult> {
  const fail = (errors: ConfigError[]): RuleTestResult => ({ file: path, ok: false, cases: [], errors });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return fail([new ConfigError(CODE, `cannot read file: ${(e as Error).message}`, path)]);
  }
  const { src, errors: syntax } = parseYaml(path, text, CODE);
  if (syntax.length > 0) return fail(syntax);
  const raw: unknown = src.doc.toJS();
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) return fail(issuesToErrors(parsed.error.issues, src, [], raw, CODE));
  const t = parsed.data;
  if (!isValidTimeZone(t.tz)) return fail([err(src, ['tz'], `unknown time zone ${t.tz}`)]);

  const ruleFiles = t.rule_files.map((f) => resolve(dirname(path), f));
  const loaded = await loadRuleFiles(ruleFiles);
  if (!loaded.ok) return fail([err(src, ['rule_files'], 'a rule file is invalid (errors follow)'), ...loaded.errors]);
  const built = buildSeries(src, t);
  if (built.errors.length > 0 || !built.prepared) return fail(built.errors);
  const known = new Set(loaded.ruleSet.rules.map((r) => r.id));
  const unknownRules = t.tests.flatMap((c, i) =>
    c.expect.flatMap((e, k) => (known.has(e.rule) ? [] : [err(src, ['tests', i, 'expect', k, 'rule'], `rule ${e.rule} is not in rule_files`)])),
  );
  if (unknownRules.length > 0) return fail(unknownRules);

  const prepared: Prepared = { ...built.prepared, rules: loaded.ruleSet.rules, calendar: new Calendar(t.tz), retention };
  const cases = t.tests.map((c, i): RuleTestCaseResult => {
    const lines = diff(c.expect, openAlertsAt(prepared, Date.parse(c.at)));
    return { name: c.name, line: lineOf(src, ['tests', i]), ok: lines.length === 0, diff: lines };
  });
  return { file: path, ok: cases.every((c) => c.ok), cases, errors: [] };
}

/** A test file, or every *.yaml / *.yml directly in a directory (sorted). */
export async function runRuleTestPath(path: string, retention?: RuleTestRetention): Promise<RuleTestResult[]> {
  let files = [path];
  try {
    if ((await stat(path)).isDirectory()) {
      const names = (await readdir(path)).filter((n) => /\.ya?ml$/i.test(n)).sort();
      files = names.map((n) => join(path, n));
    }
  } catch {
    // A missing path is reported by runRuleTestFile as an unreadable file.
  }
  const out: RuleTestResult[] = [];
  for (const f of files) out.push(await runRuleTestFile(f, retention));
  return out;
}

/** Human-readable report lines for results. */
export function formatRuleTestResults(results: readonly RuleTestResult[]): string[] {
  const lines: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const r of results) {
    for (const e of r.errors) lines.push(e.format());
    for (const c of r.cases) {
      if (c.ok) passed++;
      else failed++;
      lines.push(`${c.ok ? 'PASS' : 'FAIL'} ${r.file}:${c.line} ${c.name}`);
      lines.push(...c.diff);
    }
    if (r.errors.length > 0) failed++;
  }
  lines.push(`${passed} passed, ${failed} failed in ${results.length} file(s)`);
  return lines;
}

/** `lookout rules test FILE|DIR`: print the report; true when every case passed. */
export async function runRuleTests(path: string, print: (line: string) => void, retention?: RuleTestRetention): Promise<boolean> {
  const results = await runRuleTestPath(path, retention);
  for (const line of formatRuleTestResults(results)) print(line);
  return results.length > 0 && results.every((r) => r.ok);
}
