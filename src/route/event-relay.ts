// Transactional outbox → queue. The commit script appends transitions to a Redis stream in the
// same atomic step that changes the alert; this relay moves them onto the `alert-events` queue
// with the event id as job id, so a crash between the two steps re-publishes and the queue
// drops the duplicate.

import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { EventOutbox } from '../state/event-outbox.js';

export class EventRelay {
  private running = false;
  private loop?: Promise<void>;
  private readonly consumer = `${hostname()}-${process.pid}`;

  constructor(
    private readonly outbox: EventOutbox,
    private readonly queue: Queue,
    private readonly onError: (err: Error) => void,
  ) {}

  async start(): Promise<void> {
    await this.outbox.open();
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.outbox.close();
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
    const entries = await this.outbox.take(this.consumer, blockMs);
    if (!entries.length) return 0;
    await this.queue.addBulk(entries.map(({ event }) => ({ name: 'transition', data: event, opts: { jobId: event.id } })));
    await this.outbox.done(entries.map((e) => e.id));
    return entries.length;
  }
}
