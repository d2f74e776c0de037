import { FlowProducer, Queue, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import type { Sample } from '../../src/domain/sample.js';
import { COMPLETED_SAMPLE_JOBS_KEPT, FOLLOW_MAX_WAITING, FOLLOW_SWEEP_MS, QueueSampleSink, groupedByEntity } from '../../src/ingest/queue-sink.js';
import type { SampleBatchJob } from '../../src/queues/names.js';
import { connect, redisPerTest } from '../support/redis.js';
import { batchSamples } from '../../src/queues/sample-payload.js';

const s = (entity: string, h: number, id?: string): Sample => ({ metric: 'card_opening', entity, value: h, ts: 1_764_000_000_000 + h * 3_600_000, ...(id ? { id } : {}) });

describe('groupedByEntity', () => {
  it('puts each entity’s samples together, entities in the order they first appear, each entity’s own order kept', () => {
    const input = [s('A', 0), s('B', 0), s('C', 0), s('A', 1, 'x'), s('B', 1), s('A', 1, 'x')];
    const out = groupedByEntity(input);
    expect(out.map((x) => `${x.entity}${x.value}`)).toEqual(['A0', 'A1', 'A1', 'B0', 'B1', 'C0']);
    // The re-send of id x stays after its first send.
    expect(out.slice(1, 3)).toEqual([input[3], input[5]]);
  });

  it('returns the same array when no entity repeats', () => {
    const input = [s('A', 0), s('B', 0)];
    expect(groupedByEntity(input)).toBe(input);
  });

  it('returns the same array when each entity’s samples already come together, and regroups when one comes back later', () => {
    const together = [s('A', 0), s('A', 1), s('B', 0), s('B', 1), s('C', 0)];
    expect(groupedByEntity(together)).toBe(together);
    const back = [s('A', 0), s('A', 1), s('B', 0), s('A', 2)];
    const out = groupedByEntity(back);
    expect(out).not.toBe(back);
    expect(out.map((x) => `${x.entity}${x.value}`)).toEqual(['A0', 'A1', 'A2', 'B0']);
  });

  it('tells a call already together from one that is not, over thousands of entities (a table of their runs, collisions and all)', () => {
    const runs = Array.from({ length: 6000 }, (_, i) => [s(`G${i}`, 0), s(`G${i}`, 1)]).flat();
    expect(groupedByEntity(runs)).toBe(runs);
    for (const back of [0, 2999, 5998]) {
      const input = [...runs, s(`G${back}`, 2)];
      const out = groupedByEntity(input);
      expect(out).not.toBe(input);
      expect(out).toHaveLength(input.length);
      const at = out.findIndex((x) => x.entity === `G${back}`);
      expect(out.slice(at, at + 3).map((x) => x.value)).toEqual([0, 1, 2]);
    }
    // The last entity met again right after its run is still together.
    const after = [...runs, s('G5999', 2)];
    expect(groupedByEntity(after)).toBe(after);
    // A small call after a large one (the table is reused, cleared).
    const small = [s('A', 0), s('B', 0), s('A', 1)];
    expect(groupedByEntity(small).map((x) => `${x.entity}${x.value}`)).toEqual(['A0', 'A1', 'B0']);
  });
});

describe('QueueSampleSink', () => {
  const ctx = redisPerTest('sink');

  async function jobsOf(groupByEntity: boolean, samples: Sample[]): Promise<string[][]> {
    const queue = new Queue<SampleBatchJob>('samples', { connection: ctx.redis, prefix: ctx.prefix });
    try {
      const sink = new QueueSampleSink(queue, 3, new ManualClock(0), { groupByEntity });
      const { jobs } = await sink.enqueue(samples, 'test');
      const stored = (await queue.getJobs(['waiting'])).sort((a, b) => Number(a.id) - Number(b.id));
      expect(stored).toHaveLength(jobs);
      return stored.map((j) => batchSamples(j.data).map((x) => `${x.entity}${x.value}`));
    } finally {
      await queue.close();
    }
  }

  // Three hourly samples of three entities, sent hour by hour.
  const hourly = [0, 1, 2].flatMap((h) => ['A', 'B', 'C'].map((e) => s(e, h)));

  it('with groupByEntity (the compact layout), cuts jobs from the samples grouped by entity', async () => {
    expect(await jobsOf(true, hourly)).toEqual([
      ['A0', 'A1', 'A2'],
      ['B0', 'B1', 'B2'],
      ['C0', 'C1', 'C2'],
    ]);
  });

  it('without it (the buckets layout), keeps the order as sent', async () => {
    expect(await jobsOf(false, hourly)).toEqual([
      ['A0', 'B0', 'C0'],
      ['A1', 'B1', 'C1'],
      ['A2', 'B2', 'C2'],
    ]);
  });

  // Live from hour 2 on: the jobs of hours 0 and 1 (A, B, C each) hold no live sample.
  it.each([false, true])('queues a job with no live sample on the backfill queue, the rest on `samples`, one call whole (flows: %s)', async (withFlows) => {
    const queue = new Queue<SampleBatchJob>('samples', { connection: ctx.redis, prefix: ctx.prefix });
    const backfill = new Queue<SampleBatchJob>('samples-backfill', { connection: ctx.redis, prefix: ctx.prefix });
    const flows = withFlows ? new FlowProducer({ connection: ctx.redis, prefix: ctx.prefix }) : undefined;
    try {
      const liveFrom = s('A', 2).ts;
      const sink = new QueueSampleSink(queue, 3, new ManualClock(0), { flows, backfill: { queue: backfill, liveFrom: () => liveFrom } });
      // Sent hour by hour, not grouped: jobs A0 B0 C0 | A1 B1 C1 | A2 B2 C2 | A3 (a live job of one sample).
      const { jobs } = await sink.enqueue([...hourly, s('A', 3)], 'test');
      expect(jobs).toBe(4);
      const held = async (q: Queue<SampleBatchJob>) =>
        (await q.getJobs(['waiting'])).map((j) => batchSamples(j.data).map((x) => `${x.entity}${x.value}`).join(' ')).sort();
      expect(await held(backfill)).toEqual(['A0 B0 C0', 'A1 B1 C1']);
      expect(await held(queue)).toEqual(['A2 B2 C2', 'A3']);
    } finally {
      await Promise.all([queue.close(), backfill.close(), flows?.close()]);
    }
  });

  it('with partitions (the compact layout), splits a call\'s backfill by its entities\' partition queue, each cut into jobs; live jobs as before', async () => {
    const queue = new Queue<SampleBatchJob>('samples', { connection: ctx.redis, prefix: ctx.prefix });
    const unpartitioned = new Queue<SampleBatchJob>('samples-backfill', { connection: ctx.redis, prefix: ctx.prefix });
    const parts = [0, 1].map((k) => new Queue<SampleBatchJob>(`samples-backfill-p${k}`, { connection: ctx.redis, prefix: ctx.prefix }));
    const flows = new FlowProducer({ connection: ctx.redis, prefix: ctx.prefix });
    try {
      const liveFrom = s('A', 4).ts;
      // A and C on partition 0, B and D on partition 1.
      const partition: Record<string, number> = { A: 0, B: 1, C: 0, D: 1 };
      const sink = new QueueSampleSink(queue, 3, new ManualClock(0), {
        flows,
        groupByEntity: true,
        backfill: { queue: unpartitioned, queueOf: (e) => parts[partition[e]!]!, liveFrom: () => liveFrom },
      });
      // Hour by hour A, B, C over hours 0–3, then D0 D1 and a live A4.
      const samples = [0, 1, 2, 3].flatMap((h) => ['A', 'B', 'C'].map((e) => s(e, h))).concat([s('D', 0), s('D', 1), s('A', 4)]);
      const { jobs } = await sink.enqueue(samples, 'test');
      const held = async (q: Queue<SampleBatchJob>) => (await q.getJobs(['waiting'])).map((j) => batchSamples(j.data).map((x) => `${x.entity}${x.value}`).join(' ')).sort();
      // Grouped by entity: A0 A1 A2 | A3 A4 B0 (live: A4) | B1 B2 B3 | C0 C1 C2 | C3 D0 D1.
      expect(await held(queue)).toEqual(['A3 A4 B0']);
      // The rest by partition, in order, then cut: partition 0 A0 A1 A2 C0 C1 C2 C3, partition 1 B1 B2 B3 D0 D1.
      expect(await held(parts[0]!)).toEqual(['A0 A1 A2', 'C0 C1 C2', 'C3']);
      expect(await held(parts[1]!)).toEqual(['B1 B2 B3', 'D0 D1']);
      expect(await held(unpartitioned)).toEqual([]);
      expect(jobs).toBe(6);
    } finally {
      await Promise.all([queue.close(), unpartitioned.close(), ...parts.map((q) => q.close()), flows.close()]);
    }
  });

  it('without groupByEntity (the buckets layout), keeps a backfill job whole on the unpartitioned queue, as sent', async () => {
    const queue = new Queue<SampleBatchJob>('samples', { connection: ctx.redis, prefix: ctx.prefix });
    const unpartitioned = new Queue<SampleBatchJob>('samples-backfill', { connection: ctx.redis, prefix: ctx.prefix });
    const part = new Queue<SampleBatchJob>('samples-backfill-p0', { connection: ctx.redis, prefix: ctx.prefix });
    try {
      const sink = new QueueSampleSink(queue, 3, new ManualClock(0), { backfill: { queue: unpartitioned, queueOf: () => part, liveFrom: () => Infinity } });
      await sink.enqueue(hourly.slice(0, 3), 'test');
      expect((await unpartitioned.getJobs(['waiting'])).map((j) => batchSamples(j.data).map((x) => x.entity).join(''))).toEqual(['ABC']);
      expect(await part.getJobCounts('waiting')).toEqual({ waiting: 0 });
    } finally {
      await Promise.all([queue.close(), unpartitioned.close(), part.close()]);
    }
  });

  describe('a live sample follows its entity\'s backfill (docs/ingest.md "A live sample follows its backfill")', () => {
    // A and C on partition 0, B on partition 1; live from hour 4.
    const partition: Record<string, number> = { A: 0, B: 1, C: 0 };
    const liveFrom = s('A', 4).ts;

    async function withSink(
      fn: (sink: QueueSampleSink, q: { live: Queue<SampleBatchJob>; parts: Queue<SampleBatchJob>[]; followed: () => number; clock: ManualClock; asked: () => string[] }) => Promise<void>,
      opts: { follow?: boolean; groupByEntity?: boolean } = {},
    ): Promise<void> {
      const live = new Queue<SampleBatchJob>('samples', { connection: ctx.redis, prefix: ctx.prefix });
      const unpartitioned = new Queue<SampleBatchJob>('samples-backfill', { connection: ctx.redis, prefix: ctx.prefix });
      const parts = [0, 1].map((k) => new Queue<SampleBatchJob>(`samples-backfill-p${k}`, { connection: ctx.redis, prefix: ctx.prefix }));
      const flows = new FlowProducer({ connection: ctx.redis, prefix: ctx.prefix });
      try {
        let followed = 0;
        // The partitions whose counts the sink asked, in order.
        const asked: string[] = [];
        for (const q of parts) {
          const counts = q.getJobCounts.bind(q);
          q.getJobCounts = (...types) => (asked.push(q.name), counts(...types));
        }
        const clock = new ManualClock(0);
        const sink = new QueueSampleSink(live, 3, clock, {
          flows,
          groupByEntity: opts.groupByEntity ?? true,
          observer: { liveSamplesFollowed: (n) => void (followed += n) },
          timeoutMs: 2_000,
          backfill: { queue: unpartitioned, queueOf: (e) => parts[partition[e]!]!, liveFrom: () => liveFrom, ...(opts.follow === undefined ? {} : { follow: opts.follow }) },
        });
        await fn(sink, { live, parts, followed: () => followed, clock, asked: () => asked.splice(0) });
      } finally {
        await Promise.all([live.close(), unpartitioned.close(), ...parts.map((q) => q.close()), flows.close()]);
      }
    }

    /** Each waiting job's samples ('A4 C4'), sorted. */
    const held = async (q: Queue<SampleBatchJob>) => (await q.getJobs(['waiting'])).map((j) => batchSamples(j.data).map((x) => `${x.entity}${x.value}`).join(' ')).sort();

    /** Complete every job of `queue` (a worker that applies nothing), so it holds none. */
    async function drain(queue: Queue<SampleBatchJob>): Promise<void> {
      const conn = connect();
      const worker = new Worker<SampleBatchJob>(queue.name, async () => undefined, { connection: conn, prefix: ctx.prefix });
      try {
        for (const deadline = Date.now() + 10_000; ; ) {
          const c = await queue.getJobCounts('waiting', 'active');
          if (c.waiting === 0 && c.active === 0) break;
          if (Date.now() > deadline) throw new Error(`${queue.name} not drained`);
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await worker.close();
        conn.disconnect();
      }
    }

    it('goes behind the backfill this sink queued for its entity, in its partition; an entity without one goes on `samples`', async () => {
      await withSink(async (sink, { live, parts, followed }) => {
        await sink.enqueue([s('A', 0), s('A', 1)], 'test');
        // A's backfill waits on partition 0: A4 follows it there; B and C have none queued.
        const { jobs } = await sink.enqueue([s('A', 4), s('B', 4), s('C', 4)], 'test');
        expect(jobs).toBe(2);
        expect(await held(parts[0]!)).toEqual(['A0 A1', 'A4']);
        expect(await held(live)).toEqual(['B4 C4']);
        expect(await held(parts[1]!)).toEqual([]);
        expect(followed()).toBe(1);
        // A job with a live sample: A's samples in it follow A's backfill, old or live; C's stay.
        await sink.enqueue([s('C', 3), s('A', 3), s('A', 5)], 'test');
        expect(await held(parts[0]!)).toEqual(['A0 A1', 'A3 A5', 'A4']);
        expect(await held(live)).toEqual(['B4 C4', 'C3']);
        // Counted: the live ones only (A5, not A3).
        expect(followed()).toBe(2);
      });
    });

    it('once its partition has applied what was queued there, goes on `samples` again (the entity forgotten)', async () => {
      await withSink(async (sink, { live, parts }) => {
        await sink.enqueue([s('A', 0), s('C', 0)], 'test');
        await sink.enqueue([s('A', 4)], 'test');
        expect(await held(parts[0]!)).toEqual(['A0 C0', 'A4']);
        await drain(parts[0]!);
        await sink.enqueue([s('A', 5), s('C', 5)], 'test');
        expect(await held(live)).toEqual(['A5 C5']);
        expect(await held(parts[0]!)).toEqual([]);
        // Forgotten, not only passed over: a backfill of B alone does not bring A back.
        await sink.enqueue([s('B', 0)], 'test');
        await sink.enqueue([s('A', 6), s('B', 6)], 'test');
        expect(await held(live)).toEqual(['A5 C5', 'A6']);
        expect(await held(parts[1]!)).toEqual(['B0', 'B6']);
      });
    });

    it(`asks only the partitions a call's entities are remembered in, and every one once each ${FOLLOW_SWEEP_MS / 1000} s (an emptied one is forgotten)`, async () => {
      await withSink(async (sink, { live, parts, clock, asked }) => {
        await sink.enqueue([s('A', 0), s('B', 0)], 'test');
        // The first call with a live sample asks every remembered partition (a sweep).
        await sink.enqueue([s('A', 4)], 'test');
        expect(asked().sort()).toEqual(['samples-backfill-p0', 'samples-backfill-p1']);
        // Then only those of the call's remembered entities: A's, none for C (never backfilled), nothing for a call with no live sample.
        await sink.enqueue([s('A', 5), s('C', 5)], 'test');
        expect(asked()).toEqual(['samples-backfill-p0']);
        await sink.enqueue([s('C', 6)], 'test');
        await sink.enqueue([s('B', 1)], 'test');
        expect(asked()).toEqual([]);
        // B's partition emptied: not asked by A's calls, so B is still remembered…
        await drain(parts[1]!);
        asked(); // (the drain's own counts)
        await sink.enqueue([s('A', 7)], 'test');
        expect(asked()).toEqual(['samples-backfill-p0']);
        // …until the sweep asks it and forgets it; B's live sample then goes on `samples`.
        clock.advance(FOLLOW_SWEEP_MS);
        await sink.enqueue([s('A', 8)], 'test');
        expect(asked().sort()).toEqual(['samples-backfill-p0', 'samples-backfill-p1']);
        await sink.enqueue([s('B', 9)], 'test');
        expect(asked()).toEqual([]);
        // A's live samples all followed A's backfill (its partition never emptied); C's and B9 did not.
        expect(await held(parts[0]!)).toEqual(['A0', 'A4', 'A5', 'A7', 'A8']);
        expect(await held(live)).toEqual(['B9', 'C5', 'C6']);
      });
    });

    it(`goes on \`samples\` while its partition has more than ${FOLLOW_MAX_WAITING} jobs waiting (not held up behind a backlog)`, async () => {
      await withSink(async (sink, { live, parts }) => {
        // A's backfill through the sink (so A is remembered), then a backlog on its partition, added there directly.
        await sink.enqueue([s('A', 0)], 'test');
        const backlog = Array.from({ length: FOLLOW_MAX_WAITING }, (_, i) => ({ ...s('C', 0), value: i }));
        await parts[0]!.addBulk(backlog.map((x) => ({ name: 'batch', data: { v: 1 as const, source: 'test', samples: [x], receivedAt: 0 } })));
        expect(await parts[0]!.getWaitingCount()).toBe(FOLLOW_MAX_WAITING + 1);
        await sink.enqueue([s('A', 4)], 'test');
        expect(await held(live)).toEqual(['A4']);
        expect(await parts[0]!.getWaitingCount()).toBe(FOLLOW_MAX_WAITING + 1);
      });
    });

    it('once a live sample of an entity followed, the entity\'s later ones follow too, past the backlog bound and when uncounted (a correction never goes ahead of what it corrects)', async () => {
      await withSink(async (sink, { live, parts }) => {
        await sink.enqueue([s('A', 0), s('C', 0)], 'test');
        await sink.enqueue([s('A', 4, 'x')], 'test');
        // Then a backlog on the partition, past the bound.
        const backlog = Array.from({ length: FOLLOW_MAX_WAITING }, (_, i) => ({ ...s('C', 1), value: i }));
        await parts[0]!.addBulk(backlog.map((x) => ({ name: 'batch', data: { v: 1 as const, source: 'test', samples: [x], receivedAt: 0 } })));
        // A's correction of x follows x (pinned); C, remembered but never followed, goes on `samples`.
        await sink.enqueue([{ ...s('A', 4, 'x'), value: 40 }, s('C', 4)], 'test');
        // And with the partition not counted at all.
        parts[0]!.getJobCounts = () => Promise.reject(new Error('refused'));
        await sink.enqueue([{ ...s('A', 4, 'x'), value: 41 }, s('C', 5)], 'test');
        expect(await held(live)).toEqual(['C4', 'C5']);
        // In the order the partition's worker takes them (oldest first).
        const taken = (await parts[0]!.getJobs(['waiting'], 0, -1, true)).map((j) => batchSamples(j.data).map((x) => `${x.entity}${x.value}`).join(' '));
        expect(taken.filter((j) => j.startsWith('A'))).toEqual(['A0 C0', 'A4', 'A40', 'A41']);
      });
    });

    // A count Redis refuses, or never answers (neither is to be had here for one command alone).
    it.each([
      ['refused', () => Promise.reject(new Error('refused'))],
      ['not answered', () => new Promise<never>(() => undefined)],
    ])('goes on `samples` when its partition cannot be counted (%s): the call goes on within its bound, nothing lost', async (_, counts) => {
      await withSink(async (sink, { live, parts }) => {
        await sink.enqueue([s('A', 0)], 'test');
        parts[0]!.getJobCounts = counts;
        const t0 = performance.now();
        expect((await sink.enqueue([s('A', 4)], 'test')).jobs).toBe(1);
        // The sink's bound is 2 s: half of it at most for the counts, the rest for the add.
        expect(performance.now() - t0).toBeLessThan(2_000);
        expect(await held(live)).toEqual(['A4']);
      });
    });

    it.each([
      ['follow: false', { follow: false }],
      ['without groupByEntity (the buckets layout)', { groupByEntity: false }],
    ])('%s: never follows', async (_, opts) => {
      await withSink(async (sink, { live, followed }) => {
        await sink.enqueue([s('A', 0), s('A', 1), s('A', 2)], 'test');
        await sink.enqueue([s('A', 4)], 'test');
        expect(await held(live)).toEqual(['A4']);
        expect(followed()).toBe(0);
      }, opts);
    });
  });

  it(`keeps the last ${COMPLETED_SAMPLE_JOBS_KEPT} completed jobs of a queue, not every one of the hour (each holds its samples)`, async () => {
    const queue = new Queue<SampleBatchJob>('samples', { connection: ctx.redis, prefix: ctx.prefix });
    const flows = new FlowProducer({ connection: ctx.redis, prefix: ctx.prefix });
    const conn = connect();
    const sent = COMPLETED_SAMPLE_JOBS_KEPT + 30;
    try {
      // One sample a job, in one call.
      const sink = new QueueSampleSink(queue, 1, new ManualClock(0), { flows });
      expect((await sink.enqueue(Array.from({ length: sent }, (_, i) => s('A', i)), 'test')).jobs).toBe(sent);
      let applied = 0;
      let allApplied!: () => void;
      const done = new Promise<void>((resolve) => (allApplied = resolve));
      // One at a time: they complete in the order sent.
      const worker = new Worker<SampleBatchJob>('samples', async () => undefined, { connection: conn, prefix: ctx.prefix, concurrency: 1 });
      worker.on('completed', () => ++applied === sent && allApplied());
      await done;
      await worker.close();
      const kept = await queue.getJobs(['completed'], 0, -1);
      expect(kept).toHaveLength(COMPLETED_SAMPLE_JOBS_KEPT);
      // The last ones completed are those kept. (BullMQ trims by finishing time in ms: jobs that
      // finished in the same ms as the 100th newest may be kept or dropped, by id.)
      const values = kept.map((j) => Number(batchSamples(j.data)[0]!.value));
      expect(Math.min(...values)).toBeGreaterThanOrEqual(sent - COMPLETED_SAMPLE_JOBS_KEPT - 10);
      expect(values).toContain(sent - 1);
    } finally {
      await Promise.all([queue.close(), flows.close()]);
      conn.disconnect();
    }
  });
});
