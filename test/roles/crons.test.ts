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

describe('wall crons', () => {
  it('a job still running when the next tick comes is not started twice; the skipped tick is logged', async () => {
    const { logger, lines } = capturedLogger();
    let starts = 0;
    let running = 0;
    let most = 0;
    const h = wallCrons(logger).add('slow', '* * * * * *', 'Asia/Shanghai', async () => {
      starts++;
      most = Math.max(most, ++running);
      await sleep(2_300);
      running--;
    });
    await sleep(3_600);
    h.stop();
    expect(starts).toBeGreaterThanOrEqual(1);
    expect(most).toBe(1);
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
