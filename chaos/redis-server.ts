// A redis-server child with AOF (fsync on every write) in its own folder on a fixed port, which a
// fault test can pause (SIGSTOP: connected but silent), kill (connections refused) and start again.

import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { redisServerEnv } from '../src/redis/embedded.js';

export class RedisChild {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 10_000): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'];
    const child = spawn('redis-server', args, { stdio: 'ignore', env: redisServerEnv() });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start redis-server (apt-get install -y redis-server): ${err.message}`)));
    });
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const r = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      try {
        await r.connect();
        // Answers LOADING while the AOF is replayed; ready once a write goes through.
        await r.set('chaos:probe', '1');
        r.disconnect();
        return;
      } catch (err) {
        r.disconnect();
        if (performance.now() > deadline) throw err;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  }

  /** Connected clients stay connected but get no answer. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGKILL: what was fsynced to the AOF survives, connections are refused until start(). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
