// lookout start|demo|rules check|rules test|import|broadcast|halls — the only entry point users type.

import { parseArgs } from 'node:util';
import { loadConfig, type AppConfig } from './config/env.js';
import { ConfigError } from './errors/catalogue.js';
import { createLogger } from './observability/logger.js';
import { onShutdown } from './shutdown.js';

const USAGE = `Usage: lookout <command> [options]

Commands:
  start [--role api,worker,scheduler|all]   run the daemon (default role: all)
  demo [--fast] [--now ISO] [--keep]        simulated branch with injected anomalies (embedded Redis)
  rules check [DIR]                          validate rule files (default: LOOKOUT_RULES_DIR)
  rules test FILE|DIR                        run rule unit tests (promtool style)
  import FILE [--entities]                   stream a samples CSV (or entities CSV/YAML) into Lookout
  backtest --data FILE [--rules DIR] [--entities FILE] [--from D --to D] [--json]
                                             replay a samples CSV through the rules, alerts per rule
  report campaign ID [--json]                a campaign's post-evaluation record (Markdown, or JSON)
  broadcast --text TEXT [--kind K] [--region R] [--district D] [--tier T] [--dry-run] [--wait]
                                             one SMS to the managers of the matching channels
  halls ranking [--month YYYY-MM] [--json|--html] [--send]
                                             own halls' satisfaction ranking per grade

Environment: see README.md (REDIS_URL, LOOKOUT_HTTP_PORT, LOOKOUT_RULES_DIR, LOOKOUT_CONFIG_DIR, LOOKOUT_TZ, …)`;

function die(message: string, code = 1): never {
  process.stderr.write(`lookout: ${message}\n`);
  process.exit(code);
}

function config(): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) die(err.message, 2);
    throw err;
  }
}

export function parseRoles(raw: string | undefined): ('api' | 'worker' | 'scheduler')[] {
  const all = ['api', 'worker', 'scheduler'] as const;
  if (!raw || raw === 'all') return [...all];
  const roles = raw.split(',').map((s) => s.trim());
  for (const r of roles) if (!(all as readonly string[]).includes(r)) die(`--role: "${r}" is not one of api, worker, scheduler, all`, 2);
  return roles as ('api' | 'worker' | 'scheduler')[];
}

async function cmdStart(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' } }, allowPositionals: false });
  const cfg = config();
  const logger = createLogger({ level: cfg.logLevel });
  const roles = parseRoles(values.role);
  const { startLookout } = await import('./main.js');
  try {
    const lookout = await startLookout({ config: cfg, roles, logger, watch: true });
    logger.info({ roles, url: lookout.url, rules: lookout.ruleSet().rules.length }, 'lookout started');
    onShutdown(() => lookout.stop(), (m) => logger.info(m), cfg.shutdownTimeoutMs);
    // SIGHUP: reload rules, policies, contacts, rotas and templates (a broken set is refused).
    process.on('SIGHUP', () => void lookout.reload());
  } catch (err) {
    if (err instanceof ConfigError) die(err.message, 2);
    throw err;
  }
}

async function cmdRules(args: string[]): Promise<void> {
  const [sub, target, ...rest] = args;
  if (sub === 'check') {
    const { loadRuleSet } = await import('./config/rules-loader.js');
    const { loadPolicies } = await import('./config/policy-loader.js');
    const dir = target ?? process.env.LOOKOUT_RULES_DIR ?? 'rules';
    const [res, pol] = await Promise.all([loadRuleSet(dir), loadPolicies(dir)]);
    const errors = [...(res.ok ? [] : res.errors), ...(pol.ok ? [] : pol.errors)];
    if (errors.length) {
      for (const e of errors) process.stderr.write(`${e.format()}\n`);
      process.stderr.write(`${errors.length} error(s) in ${dir}\n`);
      process.exit(1);
    }
    if (res.ok) process.stdout.write(`${res.ruleSet.rules.length} rules OK in ${res.ruleSet.files.length} file(s) (${dir})\n`);
    if (pol.ok) process.stdout.write(`${pol.policies.escalation.length} escalation policies OK (${pol.policies.source})\n`);
    return;
  }
  if (sub === 'test') {
    if (!target || rest.length) die('usage: lookout rules test FILE|DIR', 2);
    const { runRuleTests } = await import('./config/rule-tests.js');
    const ok = await runRuleTests(target, (line) => process.stdout.write(`${line}\n`));
    process.exit(ok ? 0 : 1);
  }
  die(`usage: lookout rules check [DIR] | lookout rules test FILE|DIR`, 2);
}

async function cmdImport(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { entities: { type: 'boolean' }, source: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) die('usage: lookout import FILE [--entities]', 2);
  const { runImport } = await import('./ingest/import-file.js');
  const code = await runImport({ config: config(), file: positionals[0]!, entities: values.entities, source: values.source });
  process.exit(code);
}

async function cmdDuty(cmd: 'broadcast' | 'halls', args: string[]): Promise<void> {
  const { runBroadcastCli, runHallsCli } = await import('./duties/cli.js');
  process.exit(await (cmd === 'broadcast' ? runBroadcastCli : runHallsCli)(config(), args));
}

async function cmdReport(args: string[]): Promise<void> {
  const { runReportCommand } = await import('./campaigns/cli.js');
  process.exit(await runReportCommand({ config: config(), args }));
}

async function cmdBacktest(args: string[]): Promise<void> {
  const { runBacktestCommand } = await import('./backtest/command.js');
  process.exit(await runBacktestCommand(args));
}

async function cmdDemo(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { fast: { type: 'boolean' }, exit: { type: 'boolean' }, now: { type: 'string' }, keep: { type: 'boolean' } }, allowPositionals: false });
  const { runDemo } = await import('./demo/run.js');
  await runDemo({ fast: values.fast ?? false, exitWhenDone: values.exit ?? false, now: values.now, keep: values.keep ?? false });
  if (values.exit) process.exit(0);
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'start':
      return cmdStart(rest);
    case 'demo':
      return cmdDemo(rest);
    case 'rules':
      return cmdRules(rest);
    case 'broadcast':
    case 'halls':
      return cmdDuty(cmd, rest);
    case 'import':
      return cmdImport(rest);
    case 'backtest':
      return cmdBacktest(rest);
    case 'report':
      return cmdReport(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      die(`unknown command "${cmd}"\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) die(err.message, 2);
  if (err instanceof Error && 'code' in err && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') die(err.message, 2);
  process.stderr.write(`lookout: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
