import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRuleSet, loadRuleSet, parseRuleFile } from '../../src/config/rules-loader.js';
import type { ConfigError } from '../../src/errors/catalogue.js';

const where = (e: ConfigError) => ({ code: e.code, file: e.file, line: e.line, field: e.field });

describe('parseRuleFile: valid rules', () => {
  it('maps YAML to the domain types with defaults, sorted levels and a source', () => {
    const text = [
      'rules:',
      '  - id: complaints_high',
      '    name: 投诉过多',
      '    kind: threshold',
      '    metric: complaints',
      '    scope: {kind: campaign, region: [R1, R2], attrs: {monthly_fee: ">= 50", category: [data, tariff]}, live: true}',
      '    levels:',
      '      - {severity: warning, at: 10}',
      '      - {severity: critical, at: 20}',
      '    labels: {team: service}',
    ].join('\n');
    const f = parseRuleFile('rules/x.yaml', text);
    expect(f.errors).toEqual([]);
    expect(f.rules[0]!.rule).toEqual({
      id: 'complaints_high',
      name: '投诉过多',
      kind: 'threshold',
      metric: 'complaints',
      scope: {
        kinds: ['campaign'],
        regions: ['R1', 'R2'],
        attrs: { monthly_fee: { op: '>=', value: 50 }, category: { in: ['data', 'tariff'] } },
        liveWindow: true,
      },
      for: 1,
      window: 1,
      agg: 'sum',
      direction: 'above',
      levels: [
        { severity: 'critical', at: 20 },
        { severity: 'warning', at: 10 },
      ],
      hysteresis: 0,
      labels: { team: 'service' },
      source: 'rules/x.yaml:2',
    });
  });

  it('maps snake_case change fields and fills evidence defaults', () => {
    const text = [
      'rules:',
      '  - id: drop',
      '    name: 下降',
      '    kind: change',
      '    metric: card_opening',
      '    direction: drop',
      '    baseline: {method: same_weekday_median, min: 10, min_points: 2}',
      '    levels: [{severity: warning, at: 30}]',
      '    evidence: {accumulate_days: 3}',
      '    for: 2',
    ].join('\n');
    const { rules, errors } = parseRuleFile('c.yaml', text);
    expect(errors).toEqual([]);
    expect(rules[0]!.rule).toMatchObject({
      kind: 'change',
      measure: 'percent',
      for: 2,
      scope: {},
      baseline: { method: 'same_weekday_median', days: 14, weeks: 4, min: 10, minPoints: 2 },
      evidence: { maxP: 0.001, accumulateDays: 3, infoP: 0, dispersionDays: 28 },
    });
  });

  it('absence, flatline and date rules', () => {
    const text = [
      'rules:',
      '  - {id: a, name: A, kind: absence, metric: air_recharge, days: 2, severity: warning}',
      '  - {id: f, name: F, kind: flatline, metric: card_opening, days: 3, severity: info}',
      '  - {id: d, name: D, kind: date, attribute: contract_end, within_days: 30, severity: info}',
    ].join('\n');
    const { rules, errors } = parseRuleFile('k.yaml', text);
    expect(errors).toEqual([]);
    expect(rules.map((r) => r.rule)).toMatchObject([
      { kind: 'absence', days: 2, severity: 'warning' },
      { kind: 'flatline', days: 3, ignoreZero: true },
      { kind: 'date', attribute: 'contract_end', withinDays: 30 },
    ]);
  });
});

describe('parseRuleFile: errors name file, line and field', () => {
  const rule = (extra: string[]) => ['  - id: r1', '    name: R', '    kind: threshold', '    metric: complaints', ...extra];

  it('bad YAML → yaml_syntax with the line', () => {
    const { errors } = parseRuleFile('bad.yaml', 'rules:\n  - id: a\n    name: [unclosed\n  - id: b\n');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ code: 'yaml_syntax', file: 'bad.yaml' });
    expect(errors[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('unknown field → unknown_field with its path and the line of the key', () => {
    const text = ['rules:', ...rule(['    levels:', '      - severity: warning', '        at: 10', '        bogus: 1'])].join('\n');
    expect(parseRuleFile('u.yaml', text).errors.map(where)).toEqual([
      { code: 'unknown_field', file: 'u.yaml', line: 9, field: 'rules[0].levels[0].bogus' },
    ]);
  });

  it('unknown field on the third rule', () => {
    const ok = (id: string) => [`  - {id: ${id}, name: A, kind: absence, metric: air_recharge, days: 2, severity: warning}`];
    const text = ['rules:', ...ok('a'), ...ok('b'), '  - id: c', '    name: C', '    kind: absence', '    metric: air_recharge', '    days: 2', '    severity: warning', '    colour: red'].join('\n');
    expect(parseRuleFile('u.yaml', text).errors.map(where)).toEqual([
      { code: 'unknown_field', file: 'u.yaml', line: 10, field: 'rules[2].colour' },
    ]);
  });

  it('unknown kind → unknown_kind at the kind line', () => {
    const text = ['rules:', '  - id: r1', '    name: R', '    kind: trend', '    metric: complaints'].join('\n');
    const [e] = parseRuleFile('k.yaml', text).errors;
    expect(where(e!)).toEqual({ code: 'unknown_kind', file: 'k.yaml', line: 4, field: 'rules[0].kind' });
    expect(e!.message).toContain('threshold, ratio, change, absence, flatline, date');
  });

  it('a threshold of the wrong type → bad_field', () => {
    const text = ['rules:', ...rule(['    levels:', '      - {severity: warning, at: "thirty"}'])].join('\n');
    const [e] = parseRuleFile('t.yaml', text).errors;
    expect(where(e!)).toEqual({ code: 'bad_field', file: 't.yaml', line: 7, field: 'rules[0].levels[0].at' });
    expect(e!.format()).toBe('t.yaml:7: rules[0].levels[0].at: Invalid input: expected number, received string [bad_field]');
  });

  it('a missing required field → missing_field at the rule', () => {
    const text = ['rules:', '  - id: r1', '    name: R', '    kind: threshold', '    levels: [{severity: warning, at: 1}]'].join('\n');
    expect(parseRuleFile('m.yaml', text).errors.map(where)).toEqual([
      { code: 'missing_field', file: 'm.yaml', line: 2, field: 'rules[0].metric' },
    ]);
  });

  it.each([
    ['an invalid id', ['  - id: Bad-Id', '    name: R', '    kind: absence', '    metric: air_recharge', '    days: 2', '    severity: warning'], 'rules[0].id'],
    ['levels out of order', [...rule(['    levels: [{severity: warning, at: 50}, {severity: critical, at: 30}]'])], 'rules[0].levels'],
    ['a severity twice', [...rule(['    levels: [{severity: warning, at: 5}, {severity: warning, at: 10}]'])], 'rules[0].levels[1].severity'],
    ['an unknown entity kind in scope', [...rule(['    scope: {kind: shop}', '    levels: [{severity: warning, at: 1}]'])], 'rules[0].scope.kind'],
    ['a bad attribute matcher', [...rule(['    scope: {attrs: {monthly_fee: ">="}}', '    levels: [{severity: warning, at: 1}]'])], 'rules[0].scope.attrs.monthly_fee'],
  ])('%s → bad_field', (_name, lines, field) => {
    const errors = parseRuleFile('b.yaml', ['rules:', ...lines].join('\n')).errors;
    expect(errors.map((e) => [e.code, e.field])).toEqual([['bad_field', field]]);
    expect(errors[0]!.line).toBeGreaterThan(1);
  });

  it.each([
    ['a negative drop threshold', ['  - id: d', '    name: D', '    kind: change', '    metric: complaints', '    direction: drop', '    baseline: {method: trailing_mean}', '    levels:', '      - {severity: critical, at: 50}', '      - {severity: warning, at: -30}'], 10, 'rules[0].levels[1].at', 'must be > 0'],
    ['a zero change level', ['  - {id: d, name: D, kind: intraday, metric: complaints, direction: spike,', '     levels: [{severity: warning, at: 0}]}'], 3, 'rules[0].levels[0].at', 'must be > 0'],
    ['a drop beyond 100 %', ['  - id: d', '    name: D', '    kind: change', '    metric: complaints', '    direction: drop', '    baseline: {method: trailing_mean}', '    levels: [{severity: warning, at: 130}]'], 8, 'rules[0].levels[0].at', 'must be ≤ 100'],
    ['a ratio drop at or above 1', ['  - id: d', '    name: D', '    kind: change', '    metric: complaints', '    direction: drop', '    measure: ratio', '    baseline: {method: trailing_mean}', '    levels: [{severity: warning, at: 1.5}]'], 9, 'rules[0].levels[0].at', 'must be < 1'],
    ['a negative threshold', [...rule(['    levels:', '      - {severity: warning, at: -5}'])], 7, 'rules[0].levels[0].at', 'must be ≥ 0'],
    ['an infinite threshold', [...rule(['    levels:', '      - {severity: warning, at: .inf}'])], 7, 'rules[0].levels[0].at', 'expected number'],
  ])('%s → bad_field with file, line and field', (_name, lines, line, field, message) => {
    const errors = parseRuleFile('n.yaml', ['rules:', ...lines].join('\n')).errors;
    expect(errors.map(where)).toEqual([{ code: 'bad_field', file: 'n.yaml', line, field }]);
    expect(errors[0]!.message).toContain(message);
  });

  it('a level of 0 is a valid threshold and YAML level order does not matter', () => {
    const f = parseRuleFile('z.yaml', ['rules:', ...rule(['    direction: below', '    levels: [{severity: warning, at: 5}, {severity: critical, at: 0}]'])].join('\n'));
    expect(f.errors).toEqual([]);
    expect(f.rules[0]!.rule).toMatchObject({ levels: [{ severity: 'critical', at: 0 }, { severity: 'warning', at: 5 }] });
  });

  it('info_p must exceed max_p', () => {
    const text = [
      'rules:',
      '  - {id: c, name: C, kind: change, metric: complaints, direction: spike, baseline: {method: trailing_mean},',
      '     levels: [{severity: warning, at: 3}], evidence: {max_p: 0.01, info_p: 0.005}}',
    ].join('\n');
    expect(parseRuleFile('e.yaml', text).errors.map((e) => [e.code, e.field])).toEqual([['bad_field', 'rules[0].evidence.info_p']]);
  });

  it('an unknown top-level key and a bad metric declaration', () => {
    const text = ['metrics:', '  - {name: visits, aggregation: median}', 'rulez: []'].join('\n');
    expect(parseRuleFile('t.yaml', text).errors.map(where)).toEqual([
      { code: 'unknown_field', file: 't.yaml', line: 3, field: 'rulez' },
    ]);
    expect(parseRuleFile('t.yaml', 'metrics:\n  - {name: visits, aggregation: median}\n').errors.map(where)).toEqual([
      { code: 'bad_field', file: 't.yaml', line: 2, field: 'metrics[0].aggregation' },
    ]);
  });

  it('collects every error of a file', () => {
    const text = ['rules:', '  - {id: a, name: A, kind: nope}', '  - {id: b, name: B, kind: absence, metric: air_recharge, days: zero, severity: warning, x: 1}'].join('\n');
    expect(parseRuleFile('many.yaml', text).errors.map((e) => e.code).sort()).toEqual(['bad_field', 'unknown_field', 'unknown_kind']);
  });
});

describe('buildRuleSet: cross-file checks', () => {
  const absence = (id: string, metric = 'air_recharge') => `  - {id: ${id}, name: X, kind: absence, metric: ${metric}, days: 2, severity: warning}`;

  it('duplicate ids across files → duplicate_rule at the second one', () => {
    const res = buildRuleSet([
      { file: 'a.yaml', text: `rules:\n${absence('same')}\n` },
      { file: 'b.yaml', text: `rules:\n${absence('other')}\n${absence('same')}\n` },
    ]);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.errors.map(where)).toEqual([{ code: 'duplicate_rule', file: 'b.yaml', line: 3, field: 'rules[1].id' }]);
    expect(res.errors[0]!.message).toContain('a.yaml:2');
  });

  it('a metric neither built in nor declared → unknown_rule_metric; declared in any file → fine', () => {
    const bad = buildRuleSet([{ file: 'a.yaml', text: `rules:\n${absence('v', 'visits')}\n` }]);
    expect(bad.ok ? [] : bad.errors.map(where)).toEqual([{ code: 'unknown_rule_metric', file: 'a.yaml', line: 2, field: 'rules[0].metric' }]);
    const good = buildRuleSet([
      { file: 'a.yaml', text: `rules:\n${absence('v', 'visits')}\n` },
      { file: 'b.yaml', text: 'metrics:\n  - {name: visits, title: 到店量}\n' },
    ]);
    expect(good.ok && good.ruleSet.metrics).toEqual([{ name: 'visits', aggregation: 'sum', title: '到店量' }]);
  });

  it('errors of every file are reported together', () => {
    const res = buildRuleSet([
      { file: 'a.yaml', text: 'rules:\n  - {id: a, name: A, kind: nope}\n' },
      { file: 'b.yaml', text: 'rules: [\n' },
    ]);
    expect(res.ok ? [] : res.errors.map((e) => [e.file, e.code])).toEqual([
      ['a.yaml', 'unknown_kind'],
      ['b.yaml', 'yaml_syntax'],
    ]);
  });
});

describe('loadRuleSet', () => {
  it('reads *.yaml and *.yml directly in the directory, sorted; ignores subfolders and other files; hashes names and contents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-rules-'));
    await mkdir(join(dir, 'tests'));
    const b = 'rules:\n  - {id: b, name: B, kind: absence, metric: air_recharge, days: 2, severity: warning}\n';
    const a = 'rules:\n  - {id: a, name: A, kind: date, attribute: contract_end, within_days: 30, severity: info}\n';
    await writeFile(join(dir, 'b.yml'), b);
    await writeFile(join(dir, 'a.yaml'), a);
    await writeFile(join(dir, 'notes.txt'), 'not rules');
    await writeFile(join(dir, 'tests', 'ignored.yaml'), 'this: [is not a rule file');
    const res = await loadRuleSet(dir);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.ruleSet.files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
    expect(res.ruleSet.rules.map((r) => [r.id, r.source])).toEqual([
      ['a', `${join(dir, 'a.yaml')}:2`],
      ['b', `${join(dir, 'b.yml')}:2`],
    ]);
    const want = createHash('sha256').update('a.yaml').update('\0').update(a).update('\0').update('b.yml').update('\0').update(b).update('\0').digest('hex');
    expect(res.ruleSet.hash).toBe(want);
    expect(Object.isFrozen(res.ruleSet.rules)).toBe(true);
  });

  it('a missing directory is an error, not a crash', async () => {
    const res = await loadRuleSet(join(tmpdir(), 'lookout-no-such-dir-xyz'));
    expect(res.ok).toBe(false);
  });

  it('the shipped rules load', async () => {
    const res = await loadRuleSet('rules');
    if (!res.ok) throw new Error(res.errors.map((e) => e.format()).join('\n'));
    expect(res.ruleSet.rules.map((r) => r.id).sort()).toEqual([
      'campaign_complaint_rate',
      'campaign_complaint_spike',
      'contract_end_reminder',
      'core_dealer_card_opening_drop',
      'core_dealer_card_opening_intraday',
      'grassroots_air_recharge_absent',
      'grassroots_air_recharge_drop',
      'group_customer_churn_warning',
      'own_hall_satisfaction_low',
    ]);
    expect(await readFile('rules/core-dealers.yaml', 'utf8')).toContain('same_weekday_median');
  });
});
