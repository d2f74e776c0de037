// Load rules/*.yaml into one validated, frozen RuleSet, or every error found (file, line, field).
// A broken set is never half-loaded: callers keep their previous rules on { ok: false }.

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { MetricDef } from '../domain/metric.js';
import { metricCatalogue } from '../domain/metric.js';
import type { Rule, RuleSet } from '../domain/rule.js';
import { ruleMetric } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';
import type { YamlSource } from './rule-schema.js';
import { RULE_KINDS, RULE_SCHEMAS, formatPath, isRuleKind, issuesToErrors, lineOf, metricDefSchema, ruleFileSchema } from './rule-schema.js';

/** A rule as parsed from one file, with the lines later cross-file checks point at. */
export interface ParsedRule {
  readonly rule: Rule;
  readonly index: number;
  readonly idLine: number;
  readonly metricLine: number;
}

export interface ParsedRuleFile {
  readonly file: string;
  readonly rules: readonly ParsedRule[];
  readonly metrics: readonly MetricDef[];
  readonly errors: readonly ConfigError[];
}

export type RuleSetResult = { readonly ok: true; readonly ruleSet: RuleSet } | { readonly ok: false; readonly errors: ConfigError[] };

/** Parse a YAML document with line numbers; syntax errors become yaml_syntax ConfigErrors. */
export function parseYaml(file: string, text: string, code = 'yaml_syntax'): { src: YamlSource; errors: ConfigError[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors = doc.errors.map((e) => {
    const line = e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line;
    return new ConfigError(code, e.message.split('\n')[0]!, file, line);
  });
  return { src: { file, doc, lines }, errors };
}

function parseRule(src: YamlSource, raw: unknown, index: number): { parsed?: ParsedRule; errors: ConfigError[] } {
  const at = ['rules', index];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { errors: [new ConfigError('bad_field', 'expected a rule (a mapping)', src.file, lineOf(src, at), formatPath(at))] };
  }
  const kind = (raw as Record<string, unknown>).kind;
  if (kind === undefined) {
    return { errors: [new ConfigError('missing_field', 'required field is missing', src.file, lineOf(src, at), formatPath([...at, 'kind']))] };
  }
  if (!isRuleKind(kind)) {
    const msg = `unknown rule kind ${JSON.stringify(kind)} (expected one of ${RULE_KINDS.join(', ')})`;
    return { errors: [new ConfigError('unknown_kind', msg, src.file, lineOf(src, [...at, 'kind']), formatPath([...at, 'kind']))] };
  }
  const res = RULE_SCHEMAS[kind].safeParse(raw);
  if (!res.success) return { errors: issuesToErrors(res.error.issues, src, at, raw) };
  const rule: Rule = Object.freeze({ ...res.data, source: `${src.file}:${lineOf(src, at)}` });
  return {
    parsed: { rule, index, idLine: lineOf(src, [...at, 'id']), metricLine: lineOf(src, [...at, rule.kind === 'date' ? 'attribute' : 'metric']) },
    errors: [],
  };
}

/** Parse one rule file (no cross-file checks: duplicates and metrics are checked by the set). */
export function parseRuleFile(file: string, text: string): ParsedRuleFile {
  const { src, errors } = parseYaml(file, text);
  if (errors.length > 0) return { file, rules: [], metrics: [], errors };
  const raw: unknown = src.doc.toJS() ?? {};
  const top = ruleFileSchema.safeParse(raw);
  if (!top.success) return { file, rules: [], metrics: [], errors: issuesToErrors(top.error.issues, src, [], raw) };

  const out: ParsedRule[] = [];
  const errs: ConfigError[] = [];
  const metrics: MetricDef[] = [];
  (top.data.metrics ?? []).forEach((m, i) => {
    const res = metricDefSchema.safeParse(m);
    if (res.success) metrics.push({ name: res.data.name, aggregation: res.data.aggregation, title: res.data.title ?? res.data.name });
    else errs.push(...issuesToErrors(res.error.issues, src, ['metrics', i], m));
  });
  (top.data.rules ?? []).forEach((r, i) => {
    const { parsed, errors: ruleErrors } = parseRule(src, r, i);
    if (parsed) out.push(parsed);
    errs.push(...ruleErrors);
  });
  return { file, rules: out, metrics, errors: errs };
}

/** Cross-file checks (unique ids, known metrics) and the RuleSet of already-read files. */
export function buildRuleSet(files: readonly { file: string; text: string }[]): RuleSetResult {
  const parsed = files.map((f) => parseRuleFile(f.file, f.text));
  const errors: ConfigError[] = parsed.flatMap((p) => [...p.errors]);
  const declared = parsed.flatMap((p) => [...p.metrics]);
  const catalogue = metricCatalogue(declared);

  const seen = new Map<string, string>();
  const rules: Rule[] = [];
  for (const p of parsed) {
    for (const r of p.rules) {
      const where = `${p.file}:${r.idLine}`;
      const first = seen.get(r.rule.id);
      if (first) {
        errors.push(new ConfigError('duplicate_rule', `rule id ${r.rule.id} is already defined at ${first}`, p.file, r.idLine, formatPath(['rules', r.index, 'id'])));
        continue;
      }
      seen.set(r.rule.id, where);
      const metric = ruleMetric(r.rule);
      if (metric !== undefined && !catalogue.has(metric)) {
        const msg = `metric ${metric} is neither built in nor declared under metrics: in any rule file`;
        errors.push(new ConfigError('unknown_rule_metric', msg, p.file, r.metricLine, formatPath(['rules', r.index, 'metric'])));
      }
      rules.push(r.rule);
    }
  }
  if (errors.length > 0) {
    // Read top to bottom: by file (in load order), then by line.
    const order = new Map(files.map((f, i) => [f.file, i]));
    errors.sort((a, b) => (order.get(a.file ?? '') ?? 0) - (order.get(b.file ?? '') ?? 0) || (a.line ?? 0) - (b.line ?? 0));
    return { ok: false, errors };
  }

  const hash = createHash('sha256');
  for (const f of files) hash.update(basename(f.file)).update('\0').update(f.text).update('\0');
  const ruleSet: RuleSet = Object.freeze({
    rules: Object.freeze(rules),
    metrics: Object.freeze(declared),
    hash: hash.digest('hex'),
    files: Object.freeze(files.map((f) => f.file)),
  });
  return { ok: true, ruleSet };
}

/** Read the given rule files (in the order given) and build one RuleSet. */
export async function loadRuleFiles(paths: readonly string[]): Promise<RuleSetResult> {
  const files: { file: string; text: string }[] = [];
  const errors: ConfigError[] = [];
  for (const file of paths) {
    try {
      files.push({ file, text: await readFile(file, 'utf8') });
    } catch (err) {
      errors.push(new ConfigError('yaml_syntax', `cannot read file: ${(err as Error).message}`, file));
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return buildRuleSet(files);
}

/** The notification policy file shares the rules directory but is not a rule file. */
export const POLICY_FILE_NAMES: readonly string[] = ['policies.yaml', 'policies.yml'];

/** Every *.yaml / *.yml directly in `dir` (not subfolders: rules/tests/ holds tests), sorted. */
export async function ruleFilesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name) && !POLICY_FILE_NAMES.includes(e.name.toLowerCase()))
    .map((e) => e.name)
    .sort()
    .map((name) => join(dir, name));
}

/** Load and validate every rule file of a directory; all errors of all files, or the set. */
export async function loadRuleSet(dir: string): Promise<RuleSetResult> {
  let paths: string[];
  try {
    paths = await ruleFilesIn(dir);
  } catch (err) {
    return { ok: false, errors: [new ConfigError('yaml_syntax', `cannot read rules directory: ${(err as Error).message}`, dir)] };
  }
  return loadRuleFiles(paths);
}
