// The drainer yields to a backlog of sample jobs (judging only entities marked long ago), and reads
// the backlog again as soon as a job finishes: the last job's end does not leave its entities
// waiting for the next scheduled reading.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { EvaluationDrainer } from '../../src/evaluate/drainer.js';
import type { EntityEvaluator } from '../../src/evaluate/live-evaluator.js';
import { DirtySet } from '../../src/state/dirty.js';
import { keyspace } from '../../src/state/keys.js';
import type { RegistryCache } from '../../src/state/registry-store.js';
import { redisPerTest } from '../support/redis.js';

describe('EvaluationDrainer and the sample backlog', () => {
  const ctx = redisPerTest('drainer');

  it('judges nothing marked just now while jobs wait; once told a job finished, reads the backlog again and judges at once', async () => {
    const keys = keyspace(ctx.prefix);
    const dirty = new DirtySet(ctx.redis, keys);
    const judged: string[][] = [];
    const evaluator = { evaluate: async (ids: readonly string[]) => void judged.push([...ids]) } as unknown as EntityEvaluator;
    const registry = { refresh: async () => undefined } as unknown as RegistryCache;
    let waiting = 3;
    let readings = 0;
    const errors: Error[] = [];
    // The scheduled reading far off, and the idle poll short: only a fresh reading can see the backlog gone.
    const drainer = new EvaluationDrainer(dirty, evaluator, registry, new ManualClock(0), (e) => errors.push(e), {
      debounceMs: 0,
      idleMs: 20,
      loops: 1,
      backlogEveryMs: 60_000,
      backlog: async () => {
        readings++;
        return waiting;
      },
    });
    drainer.start();
    try {
      await drainer.mark(['G1', 'G2']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Busy: a mark of now is not old enough (EVAL_MAX_DELAY_MS). The backlog was read at the start
      // and after the mark, not on every idle poll.
      expect(judged).toEqual([]);
      expect(readings).toBeLessThanOrEqual(2);
      const before = readings;
      // The last job finishes.
      waiting = 0;
      drainer.notify();
      const started = performance.now();
      while (judged.length === 0 && performance.now() - started < 5_000) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(judged.flat().sort()).toEqual(['G1', 'G2']);
      expect(readings).toBe(before + 1);
      expect(await ctx.redis.zcard(keys.dirty)).toBe(0);
    } finally {
      await drainer.stop();
    }
    expect(errors).toEqual([]);
  });
});
