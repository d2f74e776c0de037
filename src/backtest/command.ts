// `lookout backtest --data history.csv [--rules DIR] [--entities FILE] [--from YYYY-MM-DD
// --to YYYY-MM-DD] [--threads N] [--json]`: exit 0 with the report (bad rows are listed and
// skipped, like `lookout import`), 2 on a usage or configuration error (rules, entities,
// environment, header, a --data file that is not UTF-8 without --encoding: csv_encoding).
// Options are parsed by src/cli.ts.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { loadConfig } from '../config/env.js';
import type { CsvEncoding } from '../config/csv-rows.js';
import { loadRegistryFiles, readEntityFile } from '../config/registry-loader.js';
import { loadRuleSet } from '../config/rules-loader.js';
import type { Entity } from '../domain/entity.js';
import { ConfigError } from '../errors/catalogue.js';
import { BacktestRangeError, runBacktest, type BacktestPhase } from './backtest.js';
import { formatReport } from './report.js';

/** Options of `lookout backtest`. */
export interface BacktestArgs {
  readonly data?: string;
  readonly rules?: string;
  readonly entities?: string;
  readonly from?: string;
  readonly to?: string;
  readonly json?: boolean;
  readonly threads?: string;
  /** Encoding of the --data and --entities CSVs (default: UTF-8, anything else refused). */
  readonly encoding?: CsvEncoding;
}

export interface CommandIo {
  /** Resolves once written (the process may exit right after: a large JSON report on a pipe). */
  readonly out: (text: string) => void | Promise<void>;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stderr is a terminal: show a progress bar there. */
  readonly progress: boolean;
}

const defaultIo = (): CommandIo => ({
  out: (t) => new Promise<void>((resolve, reject) => process.stdout.write(t, (err) => (err ? reject(err) : resolve()))),
  err: (t) => process.stderr.write(t),
  env: process.env,
  progress: process.stderr.isTTY === true,
});

/** A one-line progress bar, redrawn in place: `judging  [#####-----]  52%  2,600 / 5,000`. */
function progressBar(err: (t: string) => void): { update: (phase: BacktestPhase, done: number, total: number | undefined) => void; end: () => void } {
  let last = '';
  let lastAt = 0;
  let drawn = false;
  const started = performance.now();
  return {
    update(phase, done, total) {
      // At most ten redraws a second (and always the last one of a phase).
      const t = performance.now();
      if (t - lastAt < 100 && done !== total) return;
      lastAt = t;
      const width = 30;
      const share = total ? Math.min(1, done / total) : 0;
      const bar = total ? `[${'#'.repeat(Math.round(share * width)).padEnd(width, '-')}] ${String(Math.round(share * 100)).padStart(3)}%` : '';
      const what = phase === 'read' ? `${(done / 1e6).toFixed(0)} / ${total ? (total / 1e6).toFixed(0) : '?'} MB` : `${done.toLocaleString('en')} / ${(total ?? 0).toLocaleString('en')} entities`;
      const line = `\r  ${phase === 'read' ? 'reading' : 'judging'}  ${bar}  ${what}  ${((performance.now() - started) / 1000).toFixed(0)} s `;
      if (line === last) return;
      last = line;
      drawn = true;
      err(line);
    },
    end() {
      if (drawn) err('\r\x1b[2K');
    },
  };
}

async function loadEntities(file: string | undefined, configDir: string, encoding: CsvEncoding | undefined): Promise<{ entities: Entity[]; errors: ConfigError[] }> {
  if (file === undefined) return loadRegistryFiles(configDir);
  return readEntityFile(readFileSync(file), file, encoding);
}

/** Run the command; returns the exit code. */
export async function runBacktestCommand(values: BacktestArgs, io: CommandIo = defaultIo()): Promise<number> {
  const usage = (message: string): number => {
    io.err(`lookout backtest: ${message} (see lookout backtest --help)\n`);
    return 2;
  };
  if (!values.data) return usage('--data FILE is required');
  if (!existsSync(values.data) || !statSync(values.data).isFile()) return usage(`--data ${values.data}: no such file`);
  if (values.entities !== undefined && (!existsSync(values.entities) || !statSync(values.entities).isFile())) return usage(`--entities ${values.entities}: no such file`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) return usage(`--threads: expected an integer 1–64, got ${JSON.stringify(values.threads)}`);

  const fail = (errors: readonly ConfigError[]): number => {
    for (const e of errors) io.err(`${e.format()}\n`);
    return 2;
  };
  let config;
  try {
    config = loadConfig(io.env);
  } catch (e) {
    if (e instanceof ConfigError) return fail([e]);
    throw e;
  }
  const rulesDir = values.rules ?? config.rulesDir;
  const rules = await loadRuleSet(rulesDir);
  if (!rules.ok) return fail(rules.errors);
  const registry = await loadEntities(values.entities, config.configDir, values.encoding);
  if (registry.errors.length) return fail(registry.errors);

  const bar = io.progress ? progressBar(io.err) : undefined;
  let report;
  try {
    report = await runBacktest({
      data: values.data,
      ruleSet: rules.ruleSet,
      entities: registry.entities,
      timeZone: config.timeZone,
      dayCloseCron: config.dayCloseCron,
      retentionDays: config.retentionDays,
      hourlyRetentionDays: config.hourlyRetentionDays,
      batchSize: config.batchSize,
      maxFutureMs: config.maxFutureMs,
      now: config.now,
      from: values.from,
      to: values.to,
      threads,
      encoding: values.encoding,
      onProgress: bar?.update,
    });
  } catch (e) {
    bar?.end();
    if (e instanceof BacktestRangeError) return usage(e.message);
    if (e instanceof ConfigError) return fail([e]);
    throw e;
  }
  bar?.end();
  await io.out(values.json ? `${JSON.stringify(report)}\n` : `${formatReport(report).join('\n')}\n`);
  return 0;
}
