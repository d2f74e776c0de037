// Rule unit tests with hourly input (src/config/rule-tests.ts, `every: hour`): what the rules see
// at each instant of the walk, and the errors a bad hourly series gives.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expandSeriesValues, runRuleTestFile } from '../../src/backtest/rule-tests.js';

const RULES = `rules:
  - id: running_total
    name: 今日累计
    kind: threshold
    metric: card_opening
    direction: above
    levels: [{severity: warning, at: 10}]
`;

const INTRADAY = `rules:
  - id: intraday_drop
    name: 日内下降
    kind: intraday
    metric: card_opening
    direction: drop
    from_hour: 10
    baseline: {weeks: 4, min: 10}
    levels: [{severity: warning, at: 50}]
`;

const file = (series: string, tests: string, rules = 'rules.yaml') => `rule_files: [${rules}]
entities:
  - {id: D1, kind: core_dealer, name: 渠道, manager: CM01}
series:
${series}
tests:
${tests}`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-intraday-rule-tests-'));
  await writeFile(join(dir, 'rules.yaml'), RULES);
  await writeFile(join(dir, 'intraday.yaml'), INTRADAY);
});

async function run(name: string, text: string) {
  const path = join(dir, name);
  await writeFile(path, text);
  return runRuleTestFile(path);
}

describe('expandSeriesValues groups', () => {
  it.each([
    ['(0 5)x2 1', [0, 5, 0, 5, 1]],
    ['((1 2)x2 3)x2', [1, 2, 1, 2, 3, 1, 2, 1, 2, 3]],
    ['(1 _)x2', [1, undefined, 1, undefined]],
    ['(7)', [7]],
    ['(0x8 10 20 0x14)x2', [...Array(8).fill(0), 10, 20, ...Array(14).fill(0), ...Array(8).fill(0), 10, 20, ...Array(14).fill(0)]],
  ])('%j', (text, want) => expect(expandSeriesValues(text)).toEqual(want));

  it.each(['(1 2', '1 2)', '(1)y', '1(2)', '(1)x'])('rejects %j', (text) => expect(() => expandSeriesValues(text)).toThrow(/bad value/));
});

describe('hourly series in rule tests', () => {
  it('an hourly value is visible once its hour is over; the day sums its visible hours', async () => {
    // 6 cards in the 10:00 hour and 6 in the 11:00 hour: the running total reaches 10 only at 12:00.
    const series = '  - {metric: card_opening, entity: D1, start: 2026-11-21, every: hour, values: "0x10 6 6 0x12"}';
    const res = await run(
      'visible.yaml',
      file(
        series,
        `  - {name: at 11:30 only the 10:00 hour is over, at: 2026-11-21T11:30:00+08:00, expect: []}
  - name: at 12:00 both hours count
    at: 2026-11-21T12:00:00+08:00
    expect: [{rule: running_total, entity: D1, severity: warning, state: firing}]
`,
      ),
    );
    expect(res.errors).toEqual([]);
    expect(res.cases.map((c) => [c.name, c.ok, c.diff])).toEqual([
      ['at 11:30 only the 10:00 hour is over', true, []],
      ['at 12:00 both hours count', true, []],
    ]);
  });

  it('intraday alerts are judged on every full hour and end with their day', async () => {
    const day = '0x8 10 20 20 15 10 5x5 0x6';
    const series = `  - {metric: card_opening, entity: D1, start: 2026-10-24, every: hour, values: "(${day})x28 0x24 ${day}"}`;
    const res = await run(
      'walk.yaml',
      file(
        series,
        `  - name: nothing sold since midnight, judged from 10:00
    at: 2026-11-21T10:00:00+08:00
    expect: [{rule: intraday_drop, entity: D1, severity: warning, state: firing}]
  - name: still firing late in the evening
    at: 2026-11-21T23:30:00+08:00
    expect: [{rule: intraday_drop, entity: D1, severity: warning, state: firing}]
  - {name: resolved at midnight, at: 2026-11-22T00:00:00+08:00, expect: []}
  - {name: a normal next morning, at: 2026-11-22T11:00:00+08:00, expect: []}
`,
        'intraday.yaml',
      ),
    );
    expect(res.errors).toEqual([]);
    expect(res.cases.filter((c) => !c.ok)).toEqual([]);
  });

  it('a bad hourly series is a bad_rule_test error with file, line and field', async () => {
    const res = await run(
      'bad.yaml',
      file(
        `  - {metric: card_opening, entity: D1, start: 2026-11-21, every: hour, values: "(0x8 10"}
  - {metric: card_opening, entity: D1, start: 2026-11-21, every: minute, values: "1"}`,
        '  - {name: x, at: 2026-11-21T12:00:00+08:00, expect: []}\n',
      ),
    );
    expect(res.ok).toBe(false);
    expect(res.errors.map((e) => e.format())).toEqual([expect.stringMatching(/bad\.yaml:6: series\[1\]\.every: .*\[bad_rule_test\]/)]);
    const res2 = await run(
      'bad2.yaml',
      file('  - {metric: card_opening, entity: D1, start: 2026-11-21, every: hour, values: "(0x8 10"}', '  - {name: x, at: 2026-11-21T12:00:00+08:00, expect: []}\n'),
    );
    expect(res2.errors.map((e) => e.format())).toEqual([expect.stringMatching(/bad2\.yaml:5: series\[0\]\.values: bad value .*\[bad_rule_test\]/)]);
  });
});
