// The embedded default: when REDIS_URL is unset Lookout runs its own redis-server child with AOF
// under the data directory, on a free loopback port, and stops it on exit.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors/catalogue.js';

/**
 * The environment a redis-server child gets: this process's, without LD_PRELOAD. redis-server
 * (jemalloc) hangs inside libfaketime; Lookout takes its time from its own clock, not Redis's.
 */
export function redisServerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _faked, ...rest } = env;
  return rest;
}

export interface EmbeddedRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** A TCP port on the loopback nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => res(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export function findRedisServer(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8', env: redisServerEnv() });
  return found.status === 0 ? 'redis-server' : undefined;
}

/** scripts/ensure.sh of this package, found upwards from this module (src/, dist/src/ or a global install). */
export function ensureScriptPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = resolve(dir, 'scripts', 'ensure.sh');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

/** Runs scripts/ensure.sh redis-server (installs it when allowed); on failure redis_missing alone speaks. */
function ensureRedisServer(): boolean {
  const script = ensureScriptPath();
  if (!script) return false;
  const shell = existsSync('/bin/bash') ? '/bin/bash' : 'bash';
  const run = spawnSync(shell, [script, 'redis-server'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const ok = run.status === 0 && findRedisServer() !== undefined;
  if (ok && run.stderr) process.stderr.write(run.stderr);
  return ok;
}

/** The AOF rewrite policy of the embedded Redis and compose.yaml's (docs/deploy.md "Redis settings"). */
export const AOF_REWRITE_PERCENTAGE = 400;
export const AOF_REWRITE_MIN_SIZE = '256mb';

export async function startEmbeddedRedis(dataDir: string, onLine?: (line: string) => void): Promise<EmbeddedRedis> {
  if (!findRedisServer() && !ensureRedisServer()) {
    throw new ConfigError(
      'redis_missing',
      'no redis-server found and REDIS_URL is not set: install one (Debian/Ubuntu: sudo apt-get install -y redis-server) or set REDIS_URL=redis://host:6379',
    );
  }
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  // Its own process group: the terminal's Ctrl-C reaches Lookout only, which stops Redis last.
  // A watcher in the shell reads a pipe from this process; when this process ends in any way
  // (SIGKILL included) the pipe closes and the watcher stops redis-server, so no orphan outlives
  // it. The shell exits with redis-server's own status, so a failed start is seen at once.
  const child: ChildProcess = spawn(
    'sh',
    [
      '-c',
      'exec 3<&0; redis-server "$@" </dev/null & pid=$!; { read -r _ <&3; kill -TERM $pid 2>/dev/null; } & watcher=$!; wait $pid; code=$?; kill $watcher 2>/dev/null; exit $code',
      'redis-server',
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      // Rewrite the AOF once it has grown by 4 times its base (Redis's default: once it doubled) and
      // is at least 256 MB. A rewrite serializes the whole dataset in a forked child; a backfill
      // writes about the dataset's size of AOF, so with the default a 600,000-sample backfill of
      // 100,000 series forked 4 rewrites in 15 s, ~2.6 s of CPU beside the workers' on the same
      // cores (bench/README.md "The AOF rewrite, and a gather that waits for the backfill").
      '--auto-aof-rewrite-percentage', String(AOF_REWRITE_PERCENTAGE),
      '--auto-aof-rewrite-min-size', AOF_REWRITE_MIN_SIZE,
      '--save', '',
      '--maxmemory-policy', 'noeviction',
      '--protected-mode', 'yes',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: redisServerEnv() },
  );
  let log = '';
  const ready = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new ConfigError('redis_unreachable', `embedded redis-server did not start: ${log.slice(-500)}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      const s = d.toString();
      log += s;
      for (const line of s.split('\n')) if (line.trim()) onLine?.(line);
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        res();
      }
    });
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new ConfigError('redis_unreachable', `embedded redis-server exited (${code}): ${log.slice(-500)}`));
    });
  });
  await ready;
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((res) => {
        if (stopped || child.exitCode !== null) return res();
        stopped = true;
        child.removeAllListeners('exit');
        child.once('exit', () => res());
        // Closing the pipe makes the shell stop redis-server and wait for it (AOF flushed).
        child.stdin?.end();
        setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
          res();
        }, 3_000).unref();
      }),
  };
}
