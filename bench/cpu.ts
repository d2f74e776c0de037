// node dist/bench/cpu.js [--node='FLAGS'] [bench/run.ts options] — where a throughput run's CPU goes, on the CPU.
// Not a test: it prints figures. See bench/README.md "Where the CPU goes, measured on the CPU".
//
// `node --cpu-prof` samples a main thread on a wall clock: with two cores and three busy threads
// (two worker processes and Redis) a thread the kernel has put aside is charged to the frame it
// stopped in, so a profile overstates whatever wakes Redis (a socket write). Linux `perf` samples
// only what runs, every thread of every process. This runs bench/run.ts under `perf record` (the
// same monotonic clock as its `--window`), cuts the samples to the stopwatch's window and sorts
// them: the worker processes' main threads, their V8 helper threads (compiling, the garbage
// collector), Redis, idle and the rest, as shares of every core.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where a sample of a thread went. */
type Where = 'main: JavaScript and runtime' | 'main: garbage collector' | 'main: page faults' | 'main: kernel (sockets, other)' | 'helpers: compiling' | 'helpers: garbage collector' | 'helpers: other' | 'Redis' | 'idle' | 'other processes';

const ORDER: readonly Where[] = [
  'main: JavaScript and runtime',
  'main: garbage collector',
  'main: page faults',
  'main: kernel (sockets, other)',
  'helpers: compiling',
  'helpers: garbage collector',
  'helpers: other',
  'Redis',
  'idle',
  'other processes',
];

const COMPILING = /compiler::|Compile|Maglev|baseline::|RegisterAllocat|InstructionSelector|Turbofan|JSInlining|BytecodeGraph/;
const COLLECTING = /Scaveng|Marking|MarkCompact|Sweep|Evacuat|IterateAndScavenge|Heap::|ArrayBufferSweeper|MinorMC|Compactor/;

/** A frame's object in `perf script`: the kernel's. */
const KERNEL = '([kernel.kallsyms])';

/** One sample of `perf script -F comm,pid,tid,ip,sym,dso` with its call chain (leaf first), each frame `symbol (object)`. */
interface Sample {
  readonly pid: number;
  readonly tid: number;
  readonly comm: string;
  readonly stack: readonly string[];
}

function parse(script: string): Sample[] {
  const out: Sample[] = [];
  for (const block of script.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    // Header: "<comm> <pid>/<tid>" (comm may hold spaces), then one frame a line: "<addr> <symbol>".
    const head = /^\s*(.*?)\s+(\d+)\/(\d+)\s*$/.exec(lines[0]!);
    if (!head) continue;
    const stack = lines.slice(1).map((l) => l.trim().replace(/^[0-9a-f]+\s+/, ''));
    out.push({ comm: head[1]!, pid: Number(head[2]), tid: Number(head[3]), stack });
  }
  return out;
}

function whereOf(s: Sample, workers: ReadonlySet<number>): Where {
  if (s.pid === 0) return 'idle';
  if (s.comm.startsWith('redis-server') || s.comm === 'bio_aof_fsync' || s.comm.startsWith('jemalloc')) return 'Redis';
  if (!workers.has(s.pid)) return 'other processes';
  const all = s.stack.join(' ');
  if (s.tid !== s.pid) {
    if (COMPILING.test(all)) return 'helpers: compiling';
    if (COLLECTING.test(all)) return 'helpers: garbage collector';
    return 'helpers: other';
  }
  if (all.includes('exc_page_fault')) return 'main: page faults';
  if (COLLECTING.test(s.stack[0] ?? '') || /ScavengerCollector|MarkCompactCollector|Heap::CollectGarbage/.test(all)) return 'main: garbage collector';
  if ((s.stack[0] ?? '').endsWith(KERNEL)) return 'main: kernel (sockets, other)';
  return 'main: JavaScript and runtime';
}

function main(): void {
  const ensure = spawnSync('bash', [fileURLToPath(new URL('../../scripts/ensure.sh', import.meta.url)), 'perf'], { stdio: 'inherit' });
  if (ensure.status !== 0) process.exit(2);
  const dir = mkdtempSync(join(tmpdir(), 'lookout-cpu-'));
  const data = join(dir, 'perf.data');
  const window = join(dir, 'window.json');
  const run = fileURLToPath(new URL('./run.js', import.meta.url));
  // --node='FLAGS': Node or V8 flags for the run's processes (its worker processes inherit them).
  const args = process.argv.slice(2);
  const nodeFlags = args.filter((a) => a.startsWith('--node=')).flatMap((a) => a.slice('--node='.length).split(' ').filter(Boolean));
  // --inclusive=N: also the N JavaScript functions the main threads' samples were in or under.
  const inclusive = Number(args.find((a) => a.startsWith('--inclusive='))?.slice('--inclusive='.length) ?? 0);
  const rest = args.filter((a) => !a.startsWith('--node=') && !a.startsWith('--inclusive='));
  const runArgs = rest.length > 0 ? rest : ['--layout=compact', '--sizes=100000', '--bare=1000'];
  console.log(`perf record over: node ${[...nodeFlags, '--perf-basic-prof'].join(' ')} dist/bench/run.js ${runArgs.join(' ')}`);
  const rec = spawnSync('perf', ['record', '-k', 'CLOCK_MONOTONIC', '-F', '499', '-g', '-a', '-o', data, '--', process.execPath, ...nodeFlags, '--perf-basic-prof', run, ...runArgs, `--window=${window}`], {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  if (rec.status !== 0) {
    // perf's own lines (permissions: kernel.perf_event_paranoid must be ≤ 1 to sample every process as a user).
    console.error(`lookout bench: perf record failed (exit ${rec.status}): ${rec.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }
  const w = JSON.parse(readFileSync(window, 'utf8')) as { start: number; end: number };
  const seconds = (w.end - w.start) / 1e6;
  const script = spawnSync('perf', ['script', '-i', data, '--time', `${(w.start / 1e6).toFixed(6)},${(w.end / 1e6).toFixed(6)}`, '-F', 'comm,pid,tid,ip,sym,dso'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  rmSync(dir, { recursive: true, force: true });
  if (script.status !== 0) {
    console.error(`lookout bench: perf script failed (exit ${script.status})`);
    process.exit(1);
  }
  const samples = parse(script.stdout);
  // The worker processes: those of the bench's node processes whose threads were sampled.
  const workers = new Set(samples.filter((s) => s.comm === 'node' || s.comm.startsWith('node')).map((s) => s.pid));
  const counts = new Map<Where, number>();
  const leaves = new Map<string, number>();
  const under = new Map<string, number>();
  let mains = 0;
  for (const s of samples) {
    const where = whereOf(s, workers);
    counts.set(where, (counts.get(where) ?? 0) + 1);
    if (where.startsWith('main:')) {
      mains += 1;
      // One function counted once a sample, whichever tier (^ baseline, * optimized) and process it ran in.
      const fns = new Set(s.stack.filter((f) => f.startsWith('JS:')).map((f) => f.replace(/ \([^()]*\)$/, '').replace(/^JS:[*^~+]?/, '').replace(/file:\/\/\S*?\/dist\//, '')));
      for (const f of fns) under.set(f, (under.get(f) ?? 0) + 1);
    }
    if (where === 'main: JavaScript and runtime') leaves.set(s.stack[0] ?? '?', (leaves.get(s.stack[0] ?? '?') ?? 0) + 1);
  }
  const total = samples.length;
  const cores = cpus().length;
  console.log(`\nthe stopwatch's window: ${seconds.toFixed(2)} s × ${cores} cores, ${total} samples (${(total / seconds / cores).toFixed(0)} a core-second)`);
  console.log('where                                    share of the cores');
  for (const where of ORDER) console.log(`${where.padEnd(40)} ${((100 * (counts.get(where) ?? 0)) / total).toFixed(1).padStart(5)} %`);
  console.log('\nthe main threads\' JavaScript and runtime, by the function a sample was in (top 15)');
  const js = counts.get('main: JavaScript and runtime') ?? 1;
  for (const [leaf, n] of [...leaves].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${((100 * n) / js).toFixed(1).padStart(5)} %  ${leaf.replace(/ \([^()]*\)$/, '').slice(0, 110)}`);
  if (inclusive > 0) {
    console.log(`\nthe main threads' samples (all ${mains}: JavaScript, collecting, page faults, kernel), by the JavaScript functions they were in or under (top ${inclusive})`);
    for (const [f, n] of [...under].sort((a, b) => b[1] - a[1]).slice(0, inclusive)) console.log(`${((100 * n) / mains).toFixed(1).padStart(5)} %  ${f.slice(0, 110)}`);
  }
  // --perf-basic-prof's symbol maps, one per process.
  for (const pid of workers) rmSync(`/tmp/perf-${pid}.map`, { force: true });
}

main();
