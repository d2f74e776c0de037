// The crons port: node-cron on the wall clock in production (one run of a job at a time, failures
// logged), and crons that run only when told under a test's ManualClock.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualCrons } from '../../src/domain/clock.js';
import { wallCrons } from '../../src/roles/crons.js';

function capturedLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A job that takes `ms`, counting its runs and the most that were ever running at once; `fail(n)` throws on run n. */
function slowJob(ms: number, fail?: (run: number) => Error | undefined) {
  const seen = { runs: 0, running: 0, most: 0 };
  const job = async () => {
    const n = ++seen.runs;
    seen.most = Math.max(seen.most, ++seen.running);
    await sleep(ms);
    seen.running--;
    const err = fail?.(n);
    if (err) throw err;
  };
  return { seen, job };
}

describe('wall crons', () => {
  it('a job still running when the next tick comes is not started twice; the skipped tick is logged', async () => {
    const { logger, lines } = capturedLogger();
    const { seen, job } = slowJob(2_300);
    const h = wallCrons(logger).add('slow', '* * * * * *', 'Asia/Shanghai', job);
    await sleep(3_600);
    h.stop();
    expect(seen.runs).toBeGreaterThanOrEqual(1);
    expect(seen.most).toBe(1);
    expect(lines.some((l) => l.msg === 'cron still running: this tick skipped' && l.cron === 'slow')).toBe(true);
  }, 10_000);

  it('a job that throws is logged by name, and the next tick runs it again; stop() ends the ticks', async () => {
    const { logger, lines } = capturedLogger();
    let runs = 0;
    const h = wallCrons(logger).add('boom', '* * * * * *', 'Asia/Shanghai', async () => {
      runs++;
      throw new Error('redis away');
    });
    await sleep(2_300);
    h.stop();
    const after = runs;
    expect(after).toBeGreaterThanOrEqual(2);
    expect(lines.filter((l) => l.msg === 'cron failed')[0]).toMatchObject({ cron: 'boom', err: 'redis away', level: 50 });
    await sleep(1_200);
    expect(runs).toBe(after);
  }, 10_000);
});

describe('wall periods', () => {
  it('a period runs its job every ms, one run at a time, logs what escapes it, and stops', async () => {
    const { logger, lines } = capturedLogger();
    const { seen, job } = slowJob(120, (n) => (n === 2 ? new Error('smpp away') : undefined));
    const h = wallCrons(logger).every('tick', 50, job);
    await sleep(700);
    h.stop();
    const after = seen.runs;
    expect(after).toBeGreaterThanOrEqual(3);
    expect(seen.most).toBe(1);
    expect(lines.some((l) => l.msg === 'cron still running: this tick skipped' && l.cron === 'tick')).toBe(true);
    expect(lines.filter((l) => l.msg === 'cron failed')).toMatchObject([{ cron: 'tick', err: 'smpp away' }]);
    await sleep(300);
    expect(seen.runs).toBe(after);
  });
});

describe('manual crons', () => {
  it('run only when told, by name, and are gone once stopped', async () => {
    const crons = new ManualCrons();
    let runs = 0;
    const h = crons.add('lookout-day-close', '5 0 * * *', 'Asia/Shanghai', async () => void runs++);
    expect(crons.list()).toEqual([['lookout-day-close', '5 0 * * *']]);
    await crons.run('lookout-day-close');
    await crons.run('lookout-day-close');
    expect(runs).toBe(2);
    expect(() => crons.add('lookout-day-close', '* * * * *', 'UTC', async () => undefined)).toThrow(/added twice/);
    const p = crons.every('lookout-digest-tick', 5000, async () => void (runs += 10));
    expect(crons.list()).toEqual([['lookout-day-close', '5 0 * * *'], ['lookout-digest-tick', 'every 5000 ms']]);
    await crons.run('lookout-digest-tick');
    expect(runs).toBe(12);
    p.stop();
    h.stop();
    expect(crons.list()).toEqual([]);
    await expect(crons.run('lookout-day-close')).rejects.toThrow(/no cron lookout-day-close \(added: none\)/);
  });

  it("a job's failure reaches the test that ran it", async () => {
    const crons = new ManualCrons();
    crons.add('x', '* * * * *', 'UTC', async () => {
      throw new Error('bad');
    });
    await expect(crons.run('x')).rejects.toThrow('bad');
  });
});
