// `--help` on every command and subcommand, `--version`, one-line usage errors, a busy port.
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, freePort, ROOT, runCli } from '../support/cli.js';

beforeAll(ensureBuilt, 180_000);

/** Every command with the options its help must list. */
const COMMANDS: readonly (readonly [args: string[], options: string[]])[] = [
  [['start'], ['--role']],
  [['demo'], ['--fast', '--exit', '--now', '--keep', '--speed']],
  [['rules', 'check'], []],
  [['rules', 'test'], []],
  [['import'], ['--entities', '--source', '--encoding']],
  [['backtest'], ['--data', '--rules', '--entities', '--from', '--to', '--threads', '--json', '--encoding']],
  [['report', 'campaign'], ['--json']],
  [['report', 'campaigns'], ['--json']],
  [['broadcast'], ['--text', '--kind', '--region', '--district', '--tier', '--by', '--id', '--dry-run', '--wait', '--json']],
  [['halls', 'ranking'], ['--month', '--json', '--html', '--send']],
  [['migrate'], ['--dry-run', '--delete-old']],
];

describe('lookout --help', () => {
  it.each(COMMANDS)('%j --help lists every option, exit 0', async (args, options) => {
    const res = await runCli([...args, '--help'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(new RegExp(`^Usage: lookout ${args.join(' ')} `));
    for (const o of options) expect(res.stdout, `${args.join(' ')}: ${o}`).toMatch(new RegExp(`^\\s+${o}\\b.*\\S`, 'm'));
  });

  it('bare lookout, lookout help and lookout help rules print help and exit 0', async () => {
    for (const args of [[], ['help'], ['help', 'rules'], ['rules', '--help']]) {
      const res = await runCli(args);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout).toMatch(/^Usage: lookout/);
    }
    expect((await runCli(['help', 'rules'])).stdout).toMatch(/^\s+check \[dir\]/m);
  });

  it('--version prints package.json version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const res = await runCli(['--version']);
    expect([res.code, res.stdout]).toEqual([0, `${version}\n`]);
  });

  it('an unknown option or a missing argument is one line and exit 2', async () => {
    const cases: [string[], string][] = [
      [['import', 'x.csv', '--colour'], "lookout: unknown option '--colour' (see lookout import --help)\n"],
      [['rules', 'chek'], "lookout: unknown command 'chek' (Did you mean check?) (see lookout rules --help)\n"],
      [['report', 'campaign'], "lookout: missing required argument 'id' (see lookout report campaign --help)\n"],
      [['broadcast', '--region', 'R1'], "lookout: required option '--text <text>' not specified (see lookout broadcast --help)\n"],
      [['import', 'x.csv', '--encoding', 'latin1'], "lookout: option '--encoding <enc>' argument 'latin1' is invalid. Allowed choices are utf8, gbk, gb18030. (see lookout import --help)\n"],
      [['demo', '--speed', 'fast'], 'lookout: demo --speed: expected a whole number from 1 to 3600, got "fast"\n'],
      [['demo', '--speed', '0'], 'lookout: demo --speed: expected a whole number from 1 to 3600, got "0"\n'],
    ];
    for (const [args, line] of cases) {
      const res = await runCli(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toBe(line);
    }
  });

  it('a path that is not there is a usage error, not a rule error', async () => {
    const check = await runCli(['rules', 'check', '/nonexistent-rules']);
    expect([check.code, check.stderr]).toEqual([2, 'lookout: rules check: /nonexistent-rules: no such folder\n']);
    const test = await runCli(['rules', 'test', '/nonexistent-tests']);
    expect([test.code, test.stderr]).toEqual([2, 'lookout: rules test: /nonexistent-tests: no such file or folder\n']);
  });

  it('a command group without its subcommand shows its help on stderr, exit 2', async () => {
    const res = await runCli(['halls']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^Usage: lookout halls/);
  });
});

describe('lookout start on a busy port', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('says which port and variable in one line, exit 4, and starts nothing', async () => {
    const port = await freePort();
    server = createServer();
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    const data = mkdtempSync(join(tmpdir(), 'lookout-busy-'));
    const res = await runCli(['start'], { env: { LOOKOUT_HTTP_PORT: String(port), LOOKOUT_HTTP_HOST: '127.0.0.1', LOOKOUT_DATA_DIR: data } });
    expect(res.code).toBe(4);
    expect(res.stderr).toBe(`lookout: port ${port} is in use (LOOKOUT_HTTP_PORT)\n`);
    expect(res.stdout).toBe('');
  });
});

describe('lookout commands that need a running deployment', () => {
  it('without any Redis exit 3 with one line', async () => {
    const data = mkdtempSync(join(tmpdir(), 'lookout-noredis-'));
    const res = await runCli(['report', 'campaigns'], { env: { LOOKOUT_DATA_DIR: data } });
    expect(res.code).toBe(3);
    expect(res.stderr).toBe(`lookout report: no Lookout Redis found: set REDIS_URL, or start Lookout first (lookout start or lookout demo) so its embedded Redis is recorded under ${join(data, 'redis')}\n`);
  });

  it('with a REDIS_URL that does not answer exit 3, credentials redacted', async () => {
    const res = await runCli(['halls', 'ranking'], { env: { REDIS_URL: `redis://admin:s3cret@127.0.0.1:${await freePort()}` } });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/^lookout halls: Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+ \(REDIS_URL\) does not answer\n$/);
    expect(res.stderr).not.toContain('s3cret');
    const migrate = await runCli(['migrate'], { env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
    expect(migrate.code).toBe(3);
    expect(migrate.stderr).toMatch(/^lookout migrate: Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\) does not answer\n$/);
  });
});
