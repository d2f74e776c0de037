// Transactional outbox → queue. The commit script appends transitions to a Redis stream in the
// same atomic step that changes the alert; this relay moves them onto the `alert-events` queue
// with the event id as job id, so a crash between the two steps re-publishes and the queue
// drops the duplicate.

import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertEvent } from '../domain/alert.js';
import type { Keyspace } from '../queues/names.js';

const GROUP = 'relay';
type StreamEntries = [string, string[]][];

export class EventRelay {
  private running = false;
  private loop?: Promise<void>;
  private readonly consumer = `${hostname()}-${process.pid}`;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly queue: Queue,
    private readonly onError: (err: Error) => void,
  ) {}

  async start(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.events, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop?.catch(() => undefined);
  }

  /** Publish what is waiting now (used by tests and the demo to flush synchronously). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.step(0);
      total += n;
      if (!n) return total;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.step(1000);
      } catch (err) {
        if (!this.running) return;
        this.onError(err as Error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async step(blockMs: number): Promise<number> {
    // Entries another relay read but never acknowledged (it crashed) come first.
    const claimed = (await this.redis.xautoclaim(this.keys.events, GROUP, this.consumer, 30_000, '0', 'COUNT', 500)) as [string, StreamEntries];
    let entries: StreamEntries = claimed[1] ?? [];
    if (!entries.length) {
      const args: (string | number)[] = ['GROUP', GROUP, this.consumer, 'COUNT', 500];
      if (blockMs > 0) args.push('BLOCK', blockMs);
      args.push('STREAMS', this.keys.events, '>');
      const res = (await (this.redis as unknown as { xreadgroup(...a: (string | number)[]): Promise<[string, StreamEntries][] | null> }).xreadgroup(...args));
      entries = res?.[0]?.[1] ?? [];
    }
    if (!entries.length) return 0;
    const jobs = entries.map(([, fields]) => {
      const event = JSON.parse(fields[fields.indexOf('event') + 1]!) as AlertEvent;
      return { name: 'transition', data: event, opts: { jobId: event.id } };
    });
    await this.queue.addBulk(jobs);
    const ids = entries.map(([id]) => id);
    await this.redis.multi().xack(this.keys.events, GROUP, ...ids).xdel(this.keys.events, ...ids).exec();
    return entries.length;
  }
}
