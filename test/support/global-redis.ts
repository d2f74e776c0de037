// One private redis-server for the whole test run (free port, no persistence), unless
// TEST_REDIS_URL points at one. Tests isolate themselves with a fresh key prefix each.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, redisServerEnv } from '../../src/redis/embedded.js';

let child: ChildProcess | undefined;


async function waitForPing(port: number): Promise<void> {
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await r.connect();
      await r.ping();
      r.disconnect();
      return;
    } catch (err) {
      r.disconnect();
      if (Date.now() > deadline) throw err;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

export async function setup(): Promise<void> {
  if (process.env.TEST_REDIS_URL) return;
  const port = await freePort();
  // redis-server hangs under libfaketime: the suite may run faked, its Redis keeps real time.
  const env = redisServerEnv();
  child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    env,
    stdio: 'ignore',
  });
  child.on('error', (err) => {
    throw new Error(`cannot start redis-server for the tests (apt-get install -y redis-server): ${err.message}`);
  });
  await waitForPing(port);
  process.env.TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
}

export async function teardown(): Promise<void> {
  child?.kill('SIGTERM');
}
