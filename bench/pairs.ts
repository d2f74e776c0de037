// node dist/bench/pairs.js --base=DIR [--pairs=8] [bench/run.ts options] — this checkout against
// another, in alternating pairs of bench/run.ts runs.
// Not a test: it prints figures. See bench/README.md "Comparing two builds".
//
// On a shared 2-core machine one build's runs spread by ±15 % (the 100k shape from 45k to 64k
// samples/s in one hour), so a change is judged by runs of both builds taken in turn, base first,
// each pair a minute apart: the medians, how many pairs each build won, and the mean CPU a sample.
// DIR is a checkout of the other build, built (`npx tsc -p tsconfig.build.json` there), with its
// node_modules (a link to this one's will do); `git worktree add DIR COMMIT` makes one.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One row of run.ts's table: a layout at a size. */
interface RunRow {
  readonly layout: string;
  readonly entities: number;
  readonly perSec: number;
  readonly redisCpu: number;
  readonly nodeCpu: number;
}

// layout, entities, samples, seconds, samples/s, × bare, open, judged, stalled, Redis CPU (main thread), Node CPU
const ROW = /^(\S+)\s+(\d+)\s+\d+\s+[\d.]+\s+([\d,]+)\s+[\d.]+×\s+\d+\s+[\d.]+\s+\d+\s+([\d.]+) \([\d.]+\)\s+([\d.]+)/;

/** The table rows of a run.ts output (its other lines ignored). */
function parseRows(output: string): RunRow[] {
  const rows: RunRow[] = [];
  for (const line of output.split('\n')) {
    const m = ROW.exec(line);
    if (m) rows.push({ layout: m[1]!, entities: Number(m[2]), perSec: Number(m[3]!.replace(/,/g, '')), redisCpu: Number(m[4]), nodeCpu: Number(m[5]) });
  }
  return rows;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function run(dir: string, args: readonly string[]): RunRow[] {
  const out = spawnSync(process.execPath, [join(dir, 'dist/bench/run.js'), ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (out.status !== 0) {
    console.error(`lookout bench: run.js in ${dir} failed (exit ${out.status}): ${(out.stderr || out.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    process.exit(1);
  }
  return parseRows(out.stdout);
}

function main(): void {
  const argv = process.argv.slice(2);
  const base = argv.find((a) => a.startsWith('--base='))?.slice('--base='.length);
  const pairs = Number(argv.find((a) => a.startsWith('--pairs='))?.slice('--pairs='.length) ?? 8);
  const runArgs = argv.filter((a) => !a.startsWith('--base=') && !a.startsWith('--pairs='));
  const here = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  if (!base || !Number.isInteger(pairs) || pairs < 1) {
    console.error('usage: node dist/bench/pairs.js --base=DIR [--pairs=8] [bench/run.ts options]');
    process.exit(2);
  }
  const other = resolve(base);
  if (!existsSync(join(other, 'dist/bench/run.js'))) {
    console.error(`lookout bench: ${other} has no dist/bench/run.js: build it there first (npx tsc -p tsconfig.build.json)`);
    process.exit(2);
  }
  const args = runArgs.length > 0 ? runArgs : ['--layout=compact', '--sizes=100000', '--bare=1000'];
  console.log(`pairs of node dist/bench/run.js ${args.join(' ')}: base ${other}, then this checkout ${here}`);
  const results: { base: RunRow[]; here: RunRow[] }[] = [];
  for (let i = 0; i < pairs; i++) {
    const b = run(other, args);
    const h = run(here, args);
    results.push({ base: b, here: h });
    const show = (rows: readonly RunRow[]) => rows.map((r) => `${r.layout} ${r.entities}: ${Math.round(r.perSec).toLocaleString('en')}/s (Node ${r.nodeCpu}, Redis ${r.redisCpu} µs)`).join('; ');
    console.log(`pair ${i + 1}: base ${show(b)}`);
    console.log(`        this ${show(h)}`);
  }
  console.log('\nlayout  entities   base median   this median   this won   Node µs a sample (mean)   Redis µs a sample (mean)');
  for (const [k, row] of results[0]!.base.entries()) {
    const of = (rows: readonly RunRow[]) => rows.find((r) => r.layout === row.layout && r.entities === row.entities);
    const b = results.map((r) => of(r.base)).filter((r): r is RunRow => r !== undefined);
    const h = results.map((r) => of(r.here)).filter((r): r is RunRow => r !== undefined);
    if (b.length !== results.length || h.length !== results.length) {
      console.log(`${row.layout} ${row.entities}: not in every run (row ${k + 1})`);
      continue;
    }
    const won = b.filter((x, i) => h[i]!.perSec > x.perSec).length;
    console.log(
      `${row.layout.padEnd(7)} ${String(row.entities).padStart(8)}   ${Math.round(median(b.map((x) => x.perSec))).toLocaleString('en').padStart(11)}   ${Math.round(median(h.map((x) => x.perSec))).toLocaleString('en').padStart(11)}   ${`${won} of ${results.length}`.padStart(8)}   ${`${mean(b.map((x) => x.nodeCpu)).toFixed(1)} → ${mean(h.map((x) => x.nodeCpu)).toFixed(1)}`.padStart(23)}   ${`${mean(b.map((x) => x.redisCpu)).toFixed(1)} → ${mean(h.map((x) => x.redisCpu)).toFixed(1)}`.padStart(24)}`,
    );
  }
}

main();
