// Whether the doors may queue batches in columns (v: 2, queues/sample-payload.ts): only while every
// worker consuming `samples` reads them. A worker of an earlier release reads a v: 2 job as a batch
// of no samples and completes it: its samples would be lost without a word. So a worker of this
// release names its sample consumers (BullMQ's Worker `name`, which ends their connection's CLIENT
// name in `:w:<name>`), and a door looks at who consumes `samples` (Queue.getWorkers, CLIENT LIST)
// every few seconds: v: 2 only when there is at least one consumer and every one says it reads it;
// v: 1 otherwise (none running, one of an earlier release, or a Redis that does not list clients).

import type { Queue } from 'bullmq';
import { withTimeout } from '../redis/connect.js';

/** The highest batch payload version the workers of this release read. */
export const PAYLOAD_VERSION = 2;

/** The name of this release's sample consumers: they read batches up to PAYLOAD_VERSION. */
export const SAMPLE_READER_NAME = `lookout-reads-v${PAYLOAD_VERSION}`;

/** How often a door looks at who consumes `samples`. */
export const READERS_CHECK_MS = 5_000;
/** How long one look may take (CLIENT LIST answers at once; a Redis in trouble is v: 1 meanwhile). */
const CHECK_TIMEOUT_MS = 2_000;

const READER = /:w:lookout-reads-v(\d+)$/;

/** Whether a consumer's CLIENT name says it reads batches of `version`. */
export function readsVersion(clientName: string | undefined, version: number): boolean {
  const m = clientName === undefined ? null : READER.exec(clientName);
  return m !== null && Number(m[1]) >= version;
}

/** A door's answer to "may I queue columns?", looked up again every READERS_CHECK_MS. */
export class ColumnarReaders {
  private columns = false;
  private checkedAt = -Infinity;
  private checking?: Promise<void>;

  constructor(
    private readonly samples: Pick<Queue, 'getWorkers'>,
    private readonly everyMs = READERS_CHECK_MS,
  ) {}

  /**
   * Whether every consumer of `samples` reads columns, as last seen. The first call waits for the
   * first look; later ones answer at once and start the next look when the last is older than
   * everyMs (a worker of an earlier release joining is seen within it).
   */
  async columnar(): Promise<boolean> {
    const first = this.checkedAt === -Infinity;
    if (performance.now() - this.checkedAt >= this.everyMs) this.checking ??= this.check().finally(() => (this.checking = undefined));
    if (first) await this.checking;
    return this.columns;
  }

  private async check(): Promise<void> {
    try {
      const workers = await withTimeout(this.samples.getWorkers(), CHECK_TIMEOUT_MS, 'who consumes samples');
      // BullMQ answers each consumer's CLIENT LIST fields, its CLIENT name as `rawname`.
      this.columns = workers.length > 0 && workers.every((w) => readsVersion(w.rawname, PAYLOAD_VERSION));
    } catch {
      this.columns = false;
    }
    this.checkedAt = performance.now();
  }
}
