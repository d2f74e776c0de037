import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expandSeriesValues, formatRuleTestResults, runRuleTestFile, runRuleTestPath, runRuleTests } from '../../src/backtest/rule-tests.js';

const RULES = `rules:
  - id: outlet_absent
    name: 网点无数据
    kind: absence
    metric: air_recharge
    scope: {kind: grassroots}
    days: 2
    severity: warning
`;

const testFile = (expect: string, extra = '') => `rule_files: [rules.yaml]
entities:
  - {id: G1, kind: grassroots, name: 网点, manager: CM01, attrs: {monthly_fee: 80}}
series:
  - {metric: air_recharge, entity: G1, start: 2026-11-01, values: "5x5 _ _"}
${extra}tests:
  - name: two silent days
    at: 2026-11-08T09:00:00+08:00
    expect: ${expect}
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-rule-tests-'));
  await writeFile(join(dir, 'rules.yaml'), RULES);
});

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('expandSeriesValues', () => {
  it.each([
    ['40', [40]],
    ['100x3 40', [100, 100, 100, 40]],
    ['_ 5 _x2', [undefined, 5, undefined, undefined]],
    ['5+1x4', [5, 6, 7, 8]],
    ['10-2x3 0.5', [10, 8, 6, 0.5]],
    ['  1   2 ', [1, 2]],
  ])('%j', (text, want) => expect(expandSeriesValues(text)).toEqual(want));

  it.each(['abc', '5x', '_+1x3', '1,2'])('rejects %j', (text) => expect(() => expandSeriesValues(text)).toThrow(/bad value/));
});

describe('runRuleTestFile', () => {
  it('a passing test file', async () => {
    const res = await runRuleTestFile(await write('pass.yaml', testFile('\n      - {rule: outlet_absent, entity: G1, severity: warning, state: firing}')));
    expect(res).toMatchObject({ ok: true, errors: [], cases: [{ name: 'two silent days', ok: true, diff: [] }] });
  });

  it('a failing test file reports the test name and a readable diff', async () => {
    const path = await write('fail.yaml', testFile('\n      - {rule: outlet_absent, entity: G1, severity: critical}'));
    const res = await runRuleTestFile(path);
    expect(res.ok).toBe(false);
    expect(res.cases[0]!.diff).toEqual([
      '  - expected:   {rule: outlet_absent, entity: G1, severity: critical}',
      '    got:        {rule: outlet_absent, entity: G1, severity: warning, state: firing} — 空中充值 已连续 2 天无数据（最后一次 2026-11-05）',
    ]);
    const report = formatRuleTestResults([res]);
    expect(report[0]).toBe(`FAIL ${path}:7 two silent days`);
    expect(report.at(-1)).toBe('0 passed, 1 failed in 1 file(s)');
  });

  it('an empty expectation asserts that no alert is open', async () => {
    const res = await runRuleTestFile(await write('none.yaml', testFile('[]')));
    expect(res.cases[0]!.diff).toEqual([
      '  - unexpected: {rule: outlet_absent, entity: G1, severity: warning, state: firing, notify: true} — 空中充值 已连续 2 天无数据（最后一次 2026-11-05）',
    ]);
  });

  it('a missing alert is named', async () => {
    const text = testFile('\n      - {rule: outlet_absent, entity: G1, severity: warning}\n      - {rule: outlet_absent, entity: G2, severity: warning}').replace(
      'entities:\n',
      'entities:\n  - {id: G2, kind: grassroots, attrs: {monthly_fee: 80}}\n',
    );
    const res = await runRuleTestFile(await write('missing.yaml', text));
    expect(res.cases[0]!.diff).toEqual(['  - missing:    {rule: outlet_absent, entity: G2, severity: warning}']);
  });

  it.each([
    ['an unknown field', testFile('[]').replace('tests:', 'bogus: 1\ntests:'), 'bogus', 6],
    ['a bad series token', testFile('[]').replace('5x5 _ _', '5x5 oops'), 'series[0].values', 5],
    ['an undeclared entity', testFile('[]').replace('entity: G1, start', 'entity: G9, start'), 'series[0].entity', 5],
    ['a rule not in rule_files', testFile('\n      - {rule: nope, entity: G1, severity: warning}'), 'tests[0].expect[0].rule', 10],
    ['a bad instant', testFile('[]').replace('2026-11-08T09:00:00+08:00', 'tomorrow'), 'tests[0].at', 8],
    ['an unknown time zone', `tz: Mars/Olympus\n${testFile('[]')}`, 'tz', 1],
  ])('%s → bad_rule_test with file, line and field', async (_name, text, field, line) => {
    const path = await write('invalid.yaml', text);
    const res = await runRuleTestFile(path);
    expect(res.ok).toBe(false);
    expect(res.errors.map((e) => ({ code: e.code, file: e.file, field: e.field, line: e.line }))).toEqual([{ code: 'bad_rule_test', file: path, field, line }]);
  });

  it('invalid YAML and a broken rule file are reported too', async () => {
    const yaml = await runRuleTestFile(await write('syntax.yaml', 'rule_files: [\n'));
    expect(yaml.errors[0]).toMatchObject({ code: 'bad_rule_test' });
    await write('broken-rules.yaml', 'rules:\n  - {id: x, name: X, kind: nope}\n');
    const broken = await runRuleTestFile(await write('broken.yaml', testFile('[]').replace('[rules.yaml]', '[broken-rules.yaml]')));
    expect(broken.errors.map((e) => e.code)).toEqual(['bad_rule_test', 'unknown_kind']);
  });
});

describe('runRuleTests', () => {
  it('the shipped rule tests pass', async () => {
    const lines: string[] = [];
    const ok = await runRuleTests('rules/tests', (l) => lines.push(l));
    expect(lines.filter((l) => !l.startsWith('PASS'))).toEqual([expect.stringMatching(/^\d+ passed, 0 failed in \d+ file\(s\)$/)]);
    expect(ok).toBe(true);
  });

  it('a directory runs every yaml file in it; an empty one is a failure', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'lookout-empty-'));
    expect(await runRuleTestPath(empty)).toEqual([]);
    expect(await runRuleTests(empty, () => {})).toBe(false);
  });
});
