// Ctrl-C in a terminal signals the whole foreground process group. The demo must stop at any
// moment — before Redis is up, during the history import, during the live days, while idle —
// in under 5 s, exit 0, print no stack traces or connection errors, and leave no redis-server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, ROOT } from '../support/cli.js';

const NOW = '2026-11-23T10:00:00+08:00';
const dirs: string[] = [];

interface Run {
  readonly child: ChildProcess;
  out: string;
  err: string;
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `lookout demo --fast --speed 360` in its own process group, as a shell starts a foreground job; embedded Redis. */
function startDemo(env: Record<string, string> = {}): Run {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-demo-sigint-'));
  dirs.push(dir);
  // --speed 360: the escalation part of the story takes 5 s, not 20.
  const child = spawn(process.execPath, [BIN, 'demo', '--fast', '--speed', '360', '--now', NOW], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LOOKOUT_DATA_DIR: dir, LOOKOUT_HTTP_PORT: '0', NO_COLOR: '1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const run: Run = {
    child,
    out: '',
    err: '',
    closed: new Promise((res) => child.once('close', (code, signal) => res({ code, signal }))),
  };
  child.stdout!.on('data', (d: Buffer) => (run.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.err += d.toString()));
  return run;
}

async function until(run: Run, pattern: RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!pattern.test(run.out)) {
    if (performance.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms\nstdout: ${run.out}\nstderr: ${run.err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ctrl-C as the terminal sends it (to the process group); how the demo ended and how long it took. */
async function ctrlC(run: Run): Promise<{ code: number | null; ms: number }> {
  const t0 = performance.now();
  process.kill(-run.child.pid!, 'SIGINT');
  const timer = setTimeout(() => process.kill(-run.child.pid!, 'SIGKILL'), 20_000);
  const { code } = await run.closed;
  clearTimeout(timer);
  return { code, ms: performance.now() - t0 };
}

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((res) => {
    const sock = createConnection({ host: hostname, port: Number(port) });
    sock.once('connect', () => {
      sock.destroy();
      res(true);
    });
    sock.once('error', () => res(false));
  });
}

async function redisGone(url: string, withinMs: number): Promise<boolean> {
  const deadline = performance.now() + withinMs;
  while (performance.now() < deadline) {
    if (!(await answers(url))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const redisUrl = (run: Run) => /^redis: (redis:\/\/\S+)/m.exec(run.out)?.[1];

function expectClean(run: Run, res: { code: number | null; ms: number }): void {
  expect(res.code, `stdout: ${run.out}\nstderr: ${run.err}`).toBe(0);
  expect(res.ms).toBeLessThan(5_000);
  expect(run.err).not.toMatch(/\n\s+at |ECONNREFUSED|Unhandled error|did not finish/);
  expect(run.err.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
  expect(run.out).toContain('SIGINT: finishing in-flight jobs and stopping');
}

describe('Ctrl-C in lookout demo', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 130_000);
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('before the embedded Redis is up', async () => {
    const run = startDemo();
    await until(run, /^simulated branch:/m);
    const res = await ctrlC(run);
    expectClean(run, res);
  }, 60_000);

  it('during the history import, and the embedded Redis is stopped after Lookout', async () => {
    const run = startDemo();
    await until(run, /^redis: /m);
    const url = redisUrl(run)!;
    expect(await answers(url)).toBe(true);
    const res = await ctrlC(run);
    expectClean(run, res);
    expect(run.out).not.toMatch(/^history: /m);
    expect(await redisGone(url, 1_000)).toBe(true);
  }, 60_000);

  it('during the live days', async () => {
    const run = startDemo();
    await until(run, /daily export for \d{4}-\d{2}-\d{2} arrives/);
    const url = redisUrl(run)!;
    const res = await ctrlC(run);
    expectClean(run, res);
    expect(await redisGone(url, 1_000)).toBe(true);
  }, 120_000);

  it('while idle, serving the console: a live drop in a district silenced first is recorded muted; Ctrl-C amid the live drops', async () => {
    const run = startDemo({ LOOKOUT_DEMO_LIVE_EVERY_MS: '3000' });
    await until(run, /Ctrl-C stops Lookout/, 150_000);
    const url = redisUrl(run)!;
    // What a newcomer does in the console: silence the district the next drop is announced for.
    await until(run, /next live drop in \d+ s: (\S+) .*\(district (\S+)\)/);
    const [, dealer, district] = /next live drop in \d+ s: (\S+) .*\(district (\S+)\)/.exec(run.out)!;
    const api = /^console: (http:\/\/[^/\s]+)/m.exec(run.out)![1]!;
    const made = await fetch(`${api}/api/v1/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: [{ name: 'district', value: district }], duration: '2h', createdBy: 'test', comment: 'demo live drop' }),
    });
    expect(made.status, await made.text()).toBe(201);
    await until(run, new RegExp(`^live: ${dealer} .*→ (muted|paged|no warning).*$`, 'm'), 60_000);
    expect(run.out).toMatch(new RegExp(`^live: ${dealer} .*开卡量下降 70% → muted \\(silence:`, 'm'));
    // The next one is announced; Ctrl-C lands in the middle of the live drops.
    await until(run, new RegExp(`next live drop in \\d+ s: (?!${dealer} )`));
    const res = await ctrlC(run);
    expectClean(run, res);
    expect(await redisGone(url, 1_000)).toBe(true);
  }, 200_000);

  it('a SIGKILLed demo leaves no redis-server behind (the watchdog pipe closes)', async () => {
    const run = startDemo();
    await until(run, /^redis: /m);
    const url = redisUrl(run)!;
    process.kill(run.child.pid!, 'SIGKILL');
    await run.closed;
    expect(await redisGone(url, 5_000)).toBe(true);
  }, 60_000);
});
