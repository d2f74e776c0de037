// node dist/bench/backtest.js — `lookout backtest` speed: a year of daily exports for 5,000
// channels × 3 metrics (~5.5 million samples) replayed in-process through the shipped rules,
// against the I/O floor measured in the same run on the same file: csv-parse (the options
// every samples CSV is read with) reading it and summing the values, nothing else.
// Not a test: it prints figures. See docs/backtest.md ("Speed").
//
// Options: --channels=5000 --days=365 --seed=7 --keep (leave the CSV in the temp dir),
// --report=FILE (write the report as JSON: compare the alerts of two versions on the same data).

import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { runBacktest } from '../src/backtest/backtest.js';
import { formatReport } from '../src/backtest/report.js';
import { loadRulesOrThrow } from '../src/config/load-rules.js';
import { defaultRulesDir } from '../src/config/paths.js';
import { Calendar } from '../src/domain/clock.js';
import type { Entity } from '../src/domain/entity.js';
import { gammaPoisson, mulberry32 } from '../src/demo/simulate.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const CHANNELS = Number(args.get('channels') ?? 5000);
const DAYS = Number(args.get('days') ?? 365);
const SEED = Number(args.get('seed') ?? 7);
const TZ = 'Asia/Shanghai';
const METRICS = ['card_opening', 'air_recharge', 'basic_business'] as const;
const WEEKDAY = [1.1, 0.95, 0.95, 0.95, 0.97, 1.0, 1.1];

interface Channel {
  readonly entity: Entity;
  /** Mean per day and rate CV, per metric. */
  readonly means: readonly number[];
  readonly cv: number;
}

/** 5 % core dealers, 95 % grassroots outlets (most with monthly_fee ≥ 50, as in a branch). */
function channels(n: number, today: number, rand: () => number): Channel[] {
  const logU = (lo: number, hi: number) => Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));
  const out: Channel[] = [];
  for (let i = 0; i < n; i++) {
    const region = `R${1 + (i % 6)}`;
    const district = `M${String(1 + (i % 31)).padStart(2, '0')}`;
    if (i % 20 === 0) {
      out.push({
        entity: {
          id: `D${String(i).padStart(5, '0')}`,
          kind: 'core_dealer',
          name: `核心渠道${i}`,
          region,
          district,
          manager: 'CM01',
          attrs: { monthly_fee: Math.round(logU(3000, 30000)), contract_end: Calendar.isoDay(today + 20 + Math.floor(rand() * 400)) },
        },
        means: [logU(50, 300), logU(20, 120), logU(80, 400)],
        cv: 0.08 + rand() * 0.04,
      });
    } else {
      out.push({
        entity: {
          id: `G${String(i).padStart(5, '0')}`,
          kind: 'grassroots',
          name: `基层网点${i}`,
          region,
          district,
          manager: 'CM01',
          attrs: { monthly_fee: rand() < 0.95 ? Math.round(logU(50, 600)) : 20 + Math.floor(rand() * 30) },
        },
        means: [logU(1, 10), logU(2, 40), logU(1, 15)],
        cv: 0.12 + rand() * 0.08,
      });
    }
  }
  return out;
}

/** Write the history CSV (one daily-export row per channel, metric and day, with its id). */
async function writeHistory(file: string, chans: readonly Channel[], firstDay: number, days: number, rand: () => number): Promise<number> {
  const out = createWriteStream(file);
  out.write('metric,entity,value,ts,id\n');
  let rows = 0;
  for (let d = firstDay; d < firstDay + days; d++) {
    const date = Calendar.isoDay(d);
    const w = WEEKDAY[Calendar.weekday(d)]!;
    const lines: string[] = [];
    for (const c of chans) {
      METRICS.forEach((metric, m) => {
        const value = gammaPoisson(rand, c.means[m]! * w, c.cv);
        lines.push(`${metric},${c.entity.id},${value},${date},${c.entity.id}/${metric}/${date}`);
      });
    }
    rows += lines.length;
    if (!out.write(`${lines.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return rows;
}

/** The floor: csv-parse with the samples-CSV options, summing the value column. */
async function parseFloor(file: string): Promise<{ rows: number; seconds: number }> {
  const started = performance.now();
  const parser = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
    parse({ bom: true, trim: true, skip_empty_lines: true, relax_quotes: true, skip_records_with_error: true }),
  );
  let rows = 0;
  let sum = 0;
  await new Promise<void>((resolve, reject) => {
    parser.on('readable', () => {
      let r: string[] | null;
      while ((r = parser.read() as string[] | null) !== null) {
        if (rows++ > 0) sum += Number(r[2]);
      }
    });
    parser.once('end', () => resolve());
    parser.once('error', reject);
  });
  if (Number.isNaN(sum)) throw new Error('unexpected');
  return { rows: rows - 1, seconds: (performance.now() - started) / 1000 };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');

async function main(): Promise<void> {
  const cal = new Calendar(TZ);
  // History ends yesterday (the samples are validated against the real clock, like an import).
  const today = cal.dayOf(Date.now());
  const firstDay = today - DAYS;
  const rand = mulberry32(SEED);
  const chans = channels(CHANNELS, today, rand);
  const dir = mkdtempSync(join(tmpdir(), 'lookout-backtest-bench-'));
  const file = join(dir, 'history.csv');
  const rows = await writeHistory(file, chans, firstDay, DAYS, rand);
  const mb = statSync(file).size / 1e6;
  console.log(`lookout backtest bench — ${fmt(CHANNELS)} channels × ${METRICS.length} metrics × ${DAYS} days = ${fmt(rows)} samples (${mb.toFixed(0)} MB CSV, ${TZ}), shipped rules`);
  const ruleSet = await loadRulesOrThrow(defaultRulesDir());

  const floor = await parseFloor(file);
  const report = await runBacktest({
    data: file,
    ruleSet,
    entities: chans.map((c) => c.entity),
    timeZone: TZ,
    retentionDays: 35,
  });
  if (report.samples.accepted !== rows) throw new Error(`expected ${rows} samples, got ${report.samples.accepted}`);
  const total = report.seconds.total;
  const heap = process.memoryUsage();
  console.log(
    `csv-parse floor (read + sum)   ${floor.seconds.toFixed(1).padStart(5)} s   ${fmt(floor.rows / floor.seconds).padStart(9)} samples/s`,
  );
  console.log(
    `backtest                       ${total.toFixed(1).padStart(5)} s   ${fmt(rows / total).padStart(9)} samples/s   ` +
      `(read+validate+bucket ${report.seconds.read.toFixed(1)} s, judge ${report.seconds.judge.toFixed(1)} s: ` +
      `${fmt(report.entities.judged)} entities × ${report.days} days)   ${(total / floor.seconds).toFixed(2)}× the floor   ` +
      `${(total / 30).toFixed(2)} of the 30 s target   rss ${(heap.rss / 1e6).toFixed(0)} MB`,
  );
  console.log('');
  for (const line of formatReport(report).slice(0, 20)) console.log(line);
  // --report=FILE: the whole report as JSON, to compare the alerts of two versions on the same data.
  const reportFile = args.get('report');
  if (reportFile) writeFileSync(reportFile, `${JSON.stringify({ ...report, seconds: undefined, file: undefined }, null, 1)}\n`);
  if (args.has('keep')) console.log(`\nCSV kept: ${file}`);
  else rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
