// Running `node bin/lookout.js …` as a user would. The CLI runs from dist/: `npm test` builds it
// first; when it is missing or older than src/ (someone edited src and ran vitest alone), the
// first test file that needs it builds it, under a lock so parallel test files build once.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'lookout.js');
const CLI_JS = join(ROOT, 'dist', 'src', 'cli.js');
const LOCK = join(tmpdir(), `lookout-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function distIsCurrent(): boolean {
  return existsSync(CLI_JS) && statSync(CLI_JS).mtimeMs >= newestMtime(join(ROOT, 'src'));
}

/** Build dist/ (tsc -p tsconfig.build.json) unless it is current. Call from beforeAll (slow the first time). */
export async function ensureBuilt(): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (!distIsCurrent()) {
    try {
      mkdirSync(LOCK);
    } catch {
      // Another test file is building; a lock older than two minutes belongs to a dead run.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (performance.now() > deadline) throw new Error(`dist/ is still being built after 2 minutes (lock ${LOCK})`);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      // tsc emits even when a concurrent edit has a type error; the check below decides.
      const res = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      if (!existsSync(CLI_JS)) throw new Error(`building dist/ failed:\n${res.stdout}${res.stderr}`);
      return;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to a minimal environment (PATH, HOME); the test's own LOOKOUT_* never leak in. */
  readonly env?: Record<string, string>;
  /** Replace the environment entirely. */
  readonly exactEnv?: Record<string, string>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** Under `npm run test:faketime` a spawned daemon shares the suite's faked clock, as real hosts share NTP time. */
const FAKED_CLOCK = ['LD_PRELOAD', 'FAKETIME', 'FAKETIME_NO_CACHE', 'DONT_FAKE_MONOTONIC', 'TZ'] as const;

function childEnv(opts: CliOptions): Record<string, string> {
  const faked = Object.fromEntries(FAKED_CLOCK.flatMap((k) => (process.env.FAKETIME && process.env[k] !== undefined ? [[k, process.env[k]!]] : [])));
  if (opts.exactEnv) return { ...faked, ...opts.exactEnv };
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'warn', ...faked, ...opts.env };
}

/** Run `node bin/lookout.js …args` to completion. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, opts);
  return collect(child, opts.timeoutMs ?? 15_000);
}

/** Start `node bin/lookout.js …args` and leave it running (start, demo). */
export function spawnCli(args: readonly string[], opts: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: childEnv(opts), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Wait for a child to exit; kill it (and fail) after `timeoutMs`. */
export function collect(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lookout did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export { freePort } from '../../src/redis/embedded.js';

/**
 * A fixed "now" for child processes (LOOKOUT_NOW): a mid-week afternoon, far from any day, week
 * or year boundary, so tests that build data relative to it pass at any real date and hour.
 */
export const PINNED_NOW = '2026-11-18T14:00:00+08:00';
export const PINNED_NOW_MS = Date.parse(PINNED_NOW);
