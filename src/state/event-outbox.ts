// The alert-event outbox: the commit script appends each transition to a Redis stream in the same
// atomic step that changes the alert (state/lua.ts); relays read it through a consumer group, so
// an entry a crashed relay read but never acknowledged is claimed again by another.

import type { RedisClient } from './client.js';
import type { AlertEvent } from '../domain/alert.js';
import type { Keyspace } from './keys.js';

const GROUP = 'relay';
type StreamEntries = [string, string[]][];

export interface OutboxEntry {
  readonly id: string;
  readonly event: AlertEvent;
}

export class EventOutbox {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  /** Create the relays' consumer group (and the stream) if missing. */
  async open(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.events, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /**
   * Up to 500 entries for `consumer`: first those another relay read but never acknowledged for
   * 30 s (it crashed), then new ones, waiting up to `blockMs` (0: do not wait).
   */
  async take(consumer: string, blockMs: number): Promise<OutboxEntry[]> {
    const claimed = (await this.redis.xautoclaim(this.keys.events, GROUP, consumer, 30_000, '0', 'COUNT', 500)) as [string, StreamEntries];
    let entries: StreamEntries = claimed[1] ?? [];
    if (!entries.length) {
      const args: (string | number)[] = ['GROUP', GROUP, consumer, 'COUNT', 500];
      if (blockMs > 0) args.push('BLOCK', blockMs);
      args.push('STREAMS', this.keys.events, '>');
      const res = await (this.redis as unknown as { xreadgroup(...a: (string | number)[]): Promise<[string, StreamEntries][] | null> }).xreadgroup(...args);
      entries = res?.[0]?.[1] ?? [];
    }
    return entries.map(([id, fields]) => ({ id, event: JSON.parse(fields[fields.indexOf('event') + 1]!) as AlertEvent }));
  }

  /** Published: acknowledge and delete the entries. */
  async done(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.redis.multi().xack(this.keys.events, GROUP, ...ids).xdel(this.keys.events, ...ids).exec();
  }

  /** Drop the connection (a blocked read ends at once). */
  close(): void {
    this.redis.disconnect();
  }
}
