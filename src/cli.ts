// lookout start|demo|rules check|rules test|import|backtest|report|broadcast|migrate|halls — the only
// entry point users type. Every option is declared here (commander), so `--help` lists them all;
// every error reaching the top is one line `lookout: …` and a documented exit code (docs/cli.md).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, type AppConfig } from './config/env.js';
import { CSV_ENCODINGS, type CsvEncoding } from './config/csv-rows.js';
import { ConfigError } from './errors/catalogue.js';
import { EXIT } from './exit-codes.js';
import { createLogger } from './observability/logger.js';
import { onShutdown } from './shutdown.js';
import { ROLES, type RoleName } from './roles/role.js';
import { consoleUrl } from './http/console-url.js';

/** A user error found by a command: printed as one line, exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

function packageVersion(): string {
  // src/cli.ts runs from dist/src/cli.js; package.json sits at the root above either.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lookout' && pkg.version) return pkg.version;
    } catch {
      // Not here: look one folder up.
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function config(): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

export function parseRoles(raw: string | undefined): RoleName[] {
  if (!raw || raw === 'all') return [...ROLES];
  const roles = raw.split(',').map((s) => s.trim());
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw new CliError(`--role: "${r}" is not one of ${ROLES.join(', ')}, all`);
  return roles as RoleName[];
}

/** Resolves with the listen error code (EADDRINUSE, EACCES) or undefined when the port is free. */
function probePort(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolvePromise(err.code ?? 'EADDRINUSE'));
    srv.listen(port, host, () => srv.close(() => resolvePromise(undefined)));
  });
}

function portError(code: string | undefined, port: number): CliError | undefined {
  if (code === 'EADDRINUSE') return new CliError(`port ${port} is in use (LOOKOUT_HTTP_PORT)`, EXIT.portInUse);
  if (code === 'EACCES') return new CliError(`port ${port} needs privileges this user lacks (LOOKOUT_HTTP_PORT)`, EXIT.portInUse);
  return undefined;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const encodingOption = (what = 'the CSV') =>
  new Option('--encoding <enc>', `bytes of ${what} are in this encoding (GBK/GB18030: 经分系统导出); default UTF-8, anything else is refused`).choices(
    CSV_ENCODINGS,
  );

const EPILOG = `
Exit codes: 0 ok, 1 the thing asked failed (rule errors, failed tests, rejected rows, failed sends),
2 usage or configuration error, 3 no Redis reachable, 4 the HTTP port is in use.
Environment: REDIS_URL, LOOKOUT_PREFIX, LOOKOUT_DATA_DIR, LOOKOUT_HTTP_PORT, LOOKOUT_RULES_DIR,
LOOKOUT_CONFIG_DIR, LOOKOUT_TZ, LOG_LEVEL, … (README.md "Configuration").
Every command and option with examples: docs/cli.md`;

/** Exit with `code` once the command is done (long-running commands never call it). */
type Finish = (code: number) => void;

export function buildProgram(finish: Finish): Command {
  const program = new Command('lookout')
    .description('Early-warning daemon for sales channels and marketing campaigns (渠道与营销案预警)')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help (also: lookout help COMMAND)')
    .helpCommand('help [command]', 'show help for a command')
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(true)
    .addHelpText('after', EPILOG);

  program
    .command('start')
    .description('run the daemon: HTTP API, workers and the scheduler (one process or several)')
    .option('--role <roles>', 'comma-separated roles to run: api, worker, scheduler, or all', 'all')
    .addHelpText('after', '\nExamples:\n  lookout start\n  lookout start --role worker     # run several on one Redis')
    .action(async (opts: { role: string }) => {
      const roles = parseRoles(opts.role);
      const cfg = config();
      const logger = createLogger({ level: cfg.logLevel });
      // Checked before anything starts, so a busy port leaves no embedded Redis behind.
      if (cfg.httpPort !== 0) {
        const busy = portError(await probePort(cfg.httpPort, cfg.httpHost), cfg.httpPort);
        if (busy) throw busy;
      }
      const { startLookout } = await import('./main.js');
      try {
        const lookout = await startLookout({ config: cfg, roles, logger, watch: true });
        logger.info({ roles, url: lookout.url, rules: lookout.ruleSet().rules.length }, 'lookout started');
        if (lookout.url && roles.includes('api')) {
          const url = consoleUrl(cfg, lookout.url);
          logger.info({ console: url }, `console: ${url}`);
        }
        onShutdown(() => lookout.stop(), (m) => logger.info(m), cfg.shutdownTimeoutMs);
        // SIGHUP: reload rules, policies, contacts, rotas and templates (a broken set is refused).
        process.on('SIGHUP', () => void lookout.reload());
      } catch (err) {
        throw portError((err as NodeJS.ErrnoException).code, cfg.httpPort) ?? err;
      }
    });

  program
    .command('demo')
    .description('a simulated branch with injected anomalies on an embedded Redis (prefix "demo")')
    .option('--fast', 'a smaller branch (CI smoke runs)')
    .option('--exit', 'stop after the live day instead of serving the API until Ctrl-C')
    .option('--now <iso>', 'pretend the demo runs at this ISO-8601 time (e.g. 2026-11-22T09:00:00+08:00)')
    .option('--keep', "keep the demo's earlier data instead of starting from a clean slate")
    .option('--speed <n>', 'escalation delays shrink n times (default 90: 30 min → 20 s; at most 3600)')
    .action(async (opts: { fast?: boolean; exit?: boolean; now?: string; keep?: boolean; speed?: string }) => {
      const { runDemo, DEMO_MAX_SPEED } = await import('./demo/run.js');
      let speed: number | undefined;
      if (opts.speed !== undefined) {
        speed = Number(opts.speed);
        if (!/^\d+$/.test(opts.speed) || speed < 1 || speed > DEMO_MAX_SPEED) throw new CliError(`demo --speed: expected a whole number from 1 to ${DEMO_MAX_SPEED}, got "${opts.speed}"`);
      }
      await runDemo({ fast: opts.fast ?? false, exitWhenDone: opts.exit ?? false, now: opts.now, keep: opts.keep ?? false, speed });
      if (opts.exit) finish(EXIT.ok);
    });

  const rules = program.command('rules').description('validate rule files and run rule unit tests');
  rules
    .command('check')
    .description('validate rule files and policies.yaml: file:line: field: message [code] per error')
    .argument('[dir]', 'rules folder (default: LOOKOUT_RULES_DIR or rules)')
    .action(async (dirArg: string | undefined) => {
      const { loadRuleSet } = await import('./config/rules-loader.js');
      const { loadPolicies } = await import('./config/policy-loader.js');
      const dir = dirArg ?? process.env.LOOKOUT_RULES_DIR ?? 'rules';
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`rules check: ${dir}: no such folder`);
      const [res, pol] = await Promise.all([loadRuleSet(dir), loadPolicies(dir)]);
      const errors = [...(res.ok ? [] : res.errors), ...(pol.ok ? [] : pol.errors)];
      if (errors.length) {
        for (const e of errors) process.stderr.write(`${e.format()}\n`);
        process.stderr.write(`${errors.length} error(s) in ${dir}\n`);
        return finish(EXIT.failed);
      }
      if (res.ok) process.stdout.write(`${res.ruleSet.rules.length} rules OK in ${res.ruleSet.files.length} file(s) (${dir})\n`);
      if (pol.ok) process.stdout.write(`${pol.policies.escalation.length} escalation policies OK (${pol.policies.source})\n`);
      finish(EXIT.ok);
    });
  rules
    .command('test')
    .description('run rule unit tests: input series → expected alerts (like promtool test rules)')
    .argument('<path>', 'a *.test.yaml file or a folder of them')
    .action(async (path: string) => {
      if (!existsSync(path)) throw new CliError(`rules test: ${path}: no such file or folder`);
      const { runRuleTests } = await import('./backtest/rule-tests.js');
      // The retention the daemon reads with (LOOKOUT_RETENTION_DAYS …), as a live judgement would.
      const ok = await runRuleTests(path, (line) => process.stdout.write(`${line}\n`), config());
      finish(ok ? EXIT.ok : EXIT.failed);
    });

  program
    .command('import')
    .description('stream a samples CSV onto the queue, or load an entities CSV/YAML into the registry (台账)')
    .argument('<file>', 'samples CSV (metric,entity,value,ts[,id][,label.*]) or entities.csv / entities.yaml')
    .option('--entities', 'treat FILE as entities (detected from the header or .yaml otherwise)')
    .option('--source <name>', 'source label on the samples, counted in lookout_samples_*_total{source}', 'csv')
    .addOption(encodingOption())
    .addHelpText('after', '\nUses REDIS_URL, or the embedded Redis a running lookout start/demo recorded, and the prefix it runs with\nunless LOOKOUT_PREFIX is set; the first line on stderr says which.')
    .action(async (file: string, opts: { entities?: boolean; source: string; encoding?: CsvEncoding }) => {
      const { runImport } = await import('./ingest/import-file.js');
      finish(await runImport({ config: config(), file, entities: opts.entities, source: opts.source, encoding: opts.encoding }));
    });

  program
    .command('backtest')
    .description('replay a samples CSV through the rules in-process (no Redis): alerts per rule, per day, per 1,000 entities')
    .requiredOption('--data <file>', 'samples CSV to replay (a year of exports)')
    .option('--rules <dir>', 'rules folder to try (default: LOOKOUT_RULES_DIR)')
    .option('--entities <file>', 'entities CSV/YAML (default: the registry files in LOOKOUT_CONFIG_DIR)')
    .option('--from <day>', 'first local day to judge, YYYY-MM-DD')
    .option('--to <day>', 'last local day to judge, YYYY-MM-DD')
    .option('--threads <n>', 'worker threads, 1–64 (default: by file size and cores)')
    .option('--json', 'print the report as JSON')
    .addOption(encodingOption('the --data and --entities CSVs'))
    .action(async (opts: { data: string; rules?: string; entities?: string; from?: string; to?: string; threads?: string; json?: boolean; encoding?: CsvEncoding }) => {
      const { runBacktestCommand } = await import('./backtest/command.js');
      finish(await runBacktestCommand(opts));
    });

  const report = program.command('report').description("campaign post-evaluation records (后评估) from a running deployment's Redis");
  report
    .command('campaign')
    .description("print one campaign's post-evaluation record: Markdown, or the stored JSON")
    .argument('<id>', 'campaign entity id')
    .option('--json', 'print the stored JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { runReportCommand } = await import('./campaigns/cli.js');
      finish(await runReportCommand({ config: config(), what: 'campaign', id, json: opts.json }));
    });
  report
    .command('campaigns')
    .description('list the post-evaluation records')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { runReportCommand } = await import('./campaigns/cli.js');
      finish(await runReportCommand({ config: config(), what: 'campaigns', json: opts.json }));
    });

  program
    .command('broadcast')
    .description('集群短信下行: one SMS to the managers of the matching channels, queued for a running worker')
    .requiredOption('--text <text>', 'the SMS text')
    .option('--kind <kind>', 'channel kind (core_dealer, grassroots, own_hall, …); repeat or comma-separate', collect)
    .option('--region <id>', 'region id; repeat or comma-separate', collect)
    .option('--district <id>', 'district id; repeat or comma-separate', collect)
    .option('--tier <tier>', 'channel tier (星级); repeat or comma-separate', collect)
    .option('--by <who>', 'operator recorded on the broadcast (default: cli:<user>)')
    .option('--id <id>', 'idempotency id: the same id never sends twice')
    .option('--dry-run', 'only list who would get it')
    .option('--wait', 'wait until the worker has sent every message')
    .option('--json', 'print JSON')
    .action(async (opts: { text: string; kind?: string[]; region?: string[]; district?: string[]; tier?: string[]; by?: string; id?: string; dryRun?: boolean; wait?: boolean; json?: boolean }) => {
      const { runBroadcastCli } = await import('./duties/cli.js');
      finish(await runBroadcastCli(config(), opts));
    });

  program
    .command('migrate')
    .description('copy the series from the buckets layout into the compact one (LOOKOUT_SERIES_LAYOUT=compact): idempotent, resumable')
    .option('--dry-run', 'only count what would be copied')
    .option('--delete-old', 'after a completed migration, delete the old bucket keys (default: keep them for a rollback)')
    .addHelpText('after', '\nStop the workers first. Uses REDIS_URL, or the embedded Redis a running lookout start/demo recorded, and its prefix.\nA killed run resumes where it stopped when run again. See docs/scaling.md "Upgrade path".')
    .action(async (opts: { dryRun?: boolean; deleteOld?: boolean }) => {
      const { runMigrate } = await import('./migrate/cli.js');
      finish(await runMigrate({ config: config(), dryRun: opts.dryRun, deleteOld: opts.deleteOld }));
    });

  const halls = program.command('halls').description('own halls (自有厅) duties');
  halls
    .command('ranking')
    .description("own halls' monthly SMS-satisfaction ranking per grade (top 3 / bottom 3)")
    .option('--month <yyyy-mm>', 'the month (default: last month)')
    .option('--json', 'print JSON')
    .option('--html', 'print the e-mail HTML')
    .option('--send', 'e-mail it to the customer-service leads and region heads')
    .action(async (opts: { month?: string; json?: boolean; html?: boolean; send?: boolean }) => {
      const { runHallsCli } = await import('./duties/cli.js');
      finish(await runHallsCli(config(), opts));
    });

  return program;
}

/** `lookout backtest --colour` → "backtest": the commands named before the first option. */
function commandPath(program: Command, argv: readonly string[]): string {
  const path: string[] = [];
  let cmd: Command | undefined = program;
  for (const word of argv) {
    const sub: Command | undefined = cmd?.commands.find((c) => c.name() === word);
    if (!sub) break;
    path.push(word);
    cmd = sub;
  }
  return ['lookout', ...path].join(' ');
}

const wantsStack = () => ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '');

/** One line on stderr and the exit code; the stack only with LOG_LEVEL=debug. */
function report(err: unknown, program: Command, argv: readonly string[]): number {
  if (err instanceof CommanderError) {
    // --help, --version, `lookout help`: printed already.
    if (err.exitCode === 0) return EXIT.ok;
    if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') return EXIT.usage;
    const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`lookout: ${message} (see ${commandPath(program, argv)} --help)\n`);
    return EXIT.usage;
  }
  if (err instanceof CliError) {
    process.stderr.write(`lookout: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`lookout: ${err.message}\n`);
    return err.code === 'redis_unreachable' ? EXIT.redis : EXIT.usage;
  }
  const e = err as NodeJS.ErrnoException;
  const message = e instanceof Error ? e.message : String(err);
  process.stderr.write(`lookout: ${message.split('\n')[0]}${wantsStack() ? '' : ' (LOG_LEVEL=debug shows where)'}\n`);
  if (wantsStack() && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return EXIT.failed;
}

export async function main(argv: readonly string[]): Promise<void> {
  const finish: Finish = (code) => process.exit(code);
  const program = buildProgram(finish);
  // A failure after a long-running command has started (start, demo) is one line too.
  process.on('unhandledRejection', (err) => finish(report(err, program, argv)));
  process.on('uncaughtException', (err) => finish(report(err, program, argv)));
  if (argv.length === 0) {
    program.outputHelp();
    return finish(EXIT.ok);
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    finish(report(err, program, argv));
  }
}

await main(process.argv.slice(2));
