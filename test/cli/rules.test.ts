// `lookout rules check|test`, `--help` and unknown commands, run as a user runs them.
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, runCli } from '../support/cli.js';

beforeAll(ensureBuilt, 180_000);

/** Rule files broken in one known place: the line holding `marker`. */
const BAD_FILES: Record<string, { text: string; marker: string; field?: string; code: string }> = {
  // The escalation policies are checked with the rules: a broken file never reaches start-up.
  'policies.yaml': {
    text: 'escalation:\n  - id: warning\n    steps:\n      - notify: [manager]\n        after: 30 minutes\n',
    marker: 'after: 30 minutes',
    field: 'escalation[0].steps[0].after',
    code: 'bad_policy',
  },
  'bad-yaml.yaml': {
    // An unquoted colon in a value: a common slip in hand-written YAML.
    text: 'rules:\n  - id: broken\n    name: 开卡量: 下降\n    kind: absence\n',
    marker: 'name: 开卡量: 下降',
    code: 'yaml_syntax',
  },
  'unknown-field.yaml': {
    text: 'rules:\n  - id: absent_outlet\n    name: 网点无数据\n    kind: absence\n    metric: air_recharge\n    scope: {kind: grassroots}\n    days: 2\n    severity: warning\n    colour: red\n',
    marker: 'colour: red',
    field: 'rules[0].colour',
    code: 'unknown_field',
  },
  'unknown-kind.yaml': {
    text: 'rules:\n  - id: mystery\n    name: 未知\n    kind: prophecy\n    metric: card_opening\n',
    marker: 'kind: prophecy',
    field: 'rules[0].kind',
    code: 'unknown_kind',
  },
  'threshold-text.yaml': {
    text: 'rules:\n  - id: few_cards\n    name: 开卡量过低\n    kind: threshold\n    metric: card_opening\n    scope: {kind: core_dealer}\n    direction: below\n    levels:\n      - {severity: warning, at: "thirty"}\n',
    marker: 'at: "thirty"',
    field: 'rules[0].levels[0].at',
    code: 'bad_field',
  },
};

const lineOf = (text: string, marker: string) => text.split('\n').findIndex((l) => l.includes(marker)) + 1;

describe('lookout rules check', () => {
  it('passes on the shipped rules/ (exit 0)', async () => {
    const res = await runCli(['rules', 'check', 'rules']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const files = (await readdir(join(ROOT, 'rules'))).filter((f) => f.endsWith('.yaml') && f !== 'policies.yaml');
    expect(res.stdout).toMatch(new RegExp(`^\\d+ rules OK in ${files.length} file\\(s\\)`));
    expect(res.stdout).toMatch(/\n6 escalation policies OK \(rules\/policies\.yaml\)\n$/);
  });

  it('reports every broken file as `file:line: field: message [code]` (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-bad-rules-'));
    for (const [name, f] of Object.entries(BAD_FILES)) await writeFile(join(dir, name), f.text);
    const res = await runCli(['rules', 'check', dir]);
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split('\n');
    for (const [name, f] of Object.entries(BAD_FILES)) {
      const where = `${join(dir, name)}:${lineOf(f.text, f.marker)}: `;
      const line = lines.find((l) => l.startsWith(join(dir, name)));
      expect(line, `no error line for ${name} in:\n${res.stderr}`).toBeDefined();
      expect(line!.startsWith(where), `${line} should start with ${where}`).toBe(true);
      if (f.field) expect(line!.slice(where.length)).toMatch(new RegExp(`^${f.field.replace(/[[\].]/g, '\\$&')}: \\S`));
      expect(line).toMatch(new RegExp(` \\[${f.code}\\]$`));
    }
    expect(lines.at(-1)).toMatch(new RegExp(`^${Object.keys(BAD_FILES).length} error\\(s\\) in `));
  });
});

describe('lookout rules test', () => {
  it('passes on rules/tests (exit 0)', async () => {
    const res = await runCli(['rules', 'test', 'rules/tests']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/\b0 failed\b/);
    expect(res.stdout).not.toMatch(/^FAIL/m);
  });

  it('fails a test file whose expectation is wrong, naming the test (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-rule-test-'));
    await writeFile(
      join(dir, 'outlets.yaml'),
      'rules:\n  - id: outlet_absent\n    name: 网点无数据\n    kind: absence\n    metric: air_recharge\n    scope: {kind: grassroots}\n    days: 2\n    severity: warning\n',
    );
    const file = join(dir, 'outlets.test.yaml');
    await writeFile(
      file,
      [
        'rule_files: [outlets.yaml]',
        'entities:',
        '  - {id: G1, kind: grassroots, name: 网点, manager: CM01, attrs: {monthly_fee: 80}}',
        'series:',
        '  - {metric: air_recharge, entity: G1, start: 2026-11-01, values: "5x5 _ _"}',
        'tests:',
        '  - name: two silent days page the manager at critical',
        '    at: 2026-11-08T09:00:00+08:00',
        '    expect:',
        '      - {rule: outlet_absent, entity: G1, severity: critical}',
        '',
      ].join('\n'),
    );
    const res = await runCli(['rules', 'test', file]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^FAIL .*two silent days page the manager at critical$/m);
  });

  it('needs a file or directory (exit 2, one line)', async () => {
    const res = await runCli(['rules', 'test']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("lookout: missing required argument 'path' (see lookout rules test --help)\n");
  });
});

describe('lookout commands', () => {
  it('--help lists the commands (exit 0)', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const cmd of ['start', 'demo', 'rules', 'import', 'backtest', 'report', 'broadcast', 'halls']) expect(res.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('an unknown command exits 2 with one line pointing at --help', async () => {
    const res = await runCli(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("lookout: unknown command 'frobnicate' (see lookout --help)\n");
    expect(res.stdout).toBe('');
  });

  it('an unknown role exits 2', async () => {
    const res = await runCli(['start', '--role', 'janitor'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('lookout: --role: "janitor" is not one of api, worker, scheduler, all\n');
  });
});
