import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { QueueSampleSink } from '../../src/ingest/queue-sink.js';
import { ColumnarReaders, readsVersion, SAMPLE_READER_NAME } from '../../src/queues/payload-readers.js';
import { batchSamples } from '../../src/queues/sample-payload.js';
import { redisPerTest, testRedisUrl } from '../support/redis.js';

describe('readsVersion', () => {
  it("reads the version from a consumer's CLIENT name", () => {
    expect(readsVersion(`lookout:c2FtcGxlcw==:w:${SAMPLE_READER_NAME}`, 2)).toBe(true);
    expect(readsVersion('lookout:c2FtcGxlcw==:w:lookout-reads-v3', 2)).toBe(true);
    expect(readsVersion('lookout:c2FtcGxlcw==:w:lookout-reads-v1', 2)).toBe(false);
    // A worker of an earlier release: no name of its own.
    expect(readsVersion('lookout:c2FtcGxlcw==', 2)).toBe(false);
    expect(readsVersion('lookout:c2FtcGxlcw==:w:lookout-reads-v2x', 2)).toBe(false);
    expect(readsVersion(undefined, 2)).toBe(false);
  });
});

describe('ColumnarReaders (who consumes `samples`, from CLIENT LIST)', () => {
  const ctx = redisPerTest('readers');
  const open: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c();
  });

  const queue = () => {
    const q = new Queue('samples', { connection: ctx.redis, prefix: ctx.prefix });
    open.push(() => q.close());
    return q;
  };
  /** A consumer of `samples`: this release's (named) or an earlier one's (no name). */
  const consumer = async (name?: string) => {
    const conn = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const w = new Worker('samples', async () => undefined, { connection: conn, prefix: ctx.prefix, ...(name ? { name } : {}) });
    await w.waitUntilReady();
    // The blocking connection is named once it is up.
    await new Promise((r) => setTimeout(r, 100));
    const close = async () => {
      await w.close();
      conn.disconnect();
    };
    open.push(close);
    return close;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('says no with no consumer, yes once every consumer is of this release, no while one of an earlier release consumes', async () => {
    const q = queue();
    expect(await new ColumnarReaders(q).columnar()).toBe(false);
    await consumer(SAMPLE_READER_NAME);
    await consumer(SAMPLE_READER_NAME);
    const readers = new ColumnarReaders(q, 200);
    expect(await readers.columnar()).toBe(true);
    const older = await consumer();
    // Seen at the next look (every 200 ms here): the answer it had is given meanwhile.
    expect(await readers.columnar()).toBe(true);
    await sleep(250);
    await readers.columnar();
    await sleep(50);
    expect(await readers.columnar()).toBe(false);
    await older();
    await sleep(250);
    await readers.columnar();
    await sleep(50);
    expect(await readers.columnar()).toBe(true);
  });

  it('says no when the clients cannot be listed (a Redis that refuses CLIENT LIST, or one in trouble)', async () => {
    expect(await new ColumnarReaders({ getWorkers: async () => [{ name: 'GCP does not support client list' }] }).columnar()).toBe(false);
    expect(await new ColumnarReaders({ getWorkers: () => Promise.reject(new Error('Connection is closed.')) }).columnar()).toBe(false);
  });

  it('the sink queues v: 2 when told every worker reads it, v: 1 otherwise; both read back the same', async () => {
    const q = queue();
    const samples = [
      { metric: 'card_opening', entity: 'D1', value: 3, ts: 1_764_000_000_000, id: 'D1/card_opening/2025-11-24' },
      { metric: 'card_opening', entity: 'D2', value: 4, ts: 1_764_000_000_000 },
    ];
    for (const columnar of [true, false]) {
      const sink = new QueueSampleSink(q, 1000, new ManualClock(0), { columns: { columnar: async () => columnar } });
      await sink.enqueue(samples, 'test');
    }
    const jobs = (await q.getJobs(['waiting'])).sort((a, b) => Number(a.id) - Number(b.id));
    expect(jobs.map((j) => j.data.v)).toEqual([2, 1]);
    expect(batchSamples(jobs[0]!.data)).toEqual(samples);
    expect(batchSamples(jobs[1]!.data)).toEqual(samples);
  });
});
