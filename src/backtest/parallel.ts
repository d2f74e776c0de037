// Judge on several threads: the entities are dealt round-robin into shards (so each shard gets a
// similar mix of kinds), each shard is judged by a worker thread running replay.ts's replay on the
// shared buckets, and the results are merged. Entities are independent, so the merged result is
// the same as one thread's. Without a compiled worker (tests run the TypeScript sources) or with
// one thread, the shards run in-process.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { replay, type ReplayInput, type ReplayOutput, type RuleTally } from './replay.js';

const WORKER = new URL('./replay-worker.js', import.meta.url);

/**
 * True when worker threads can run: the compiled worker files sit next to this module (not when
 * the TypeScript sources run under the test runner).
 */
export function workersAvailable(): boolean {
  return import.meta.url.endsWith('.js') && existsSync(fileURLToPath(WORKER)) && existsSync(fileURLToPath(new URL('./parse-worker.js', import.meta.url)));
}

function runWorker(input: ReplayInput, onProgress: (done: number) => void): Promise<ReplayOutput> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: input });
    worker.on('message', (msg: { progress?: number; done?: ReplayOutput }) => {
      if (msg.done) resolve(msg.done);
      else if (msg.progress !== undefined) onProgress(msg.progress);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`backtest judge worker exited with code ${code}`));
    });
  });
}

export function mergeOutputs(outs: readonly ReplayOutput[]): ReplayOutput {
  const tallies = new Map<string, RuleTally>();
  for (const o of outs) {
    for (const t of o.tallies) {
      const m = tallies.get(t.rule);
      if (!m) {
        tallies.set(t.rule, { ...t, fired: { ...t.fired }, entities: [...t.entities], recordedEntities: [...t.recordedEntities] });
        continue;
      }
      m.inScope += t.inScope;
      for (const s of ['info', 'warning', 'critical'] as const) m.fired[s] += t.fired[s];
      m.upgrades += t.upgrades;
      m.recorded += t.recorded;
      m.pending += t.pending;
      m.cancelled += t.cancelled;
      m.resolved += t.resolved;
      m.openAtEnd += t.openAtEnd;
      m.entities.push(...t.entities);
      m.recordedEntities.push(...t.recordedEntities);
    }
  }
  const alerts = outs.flatMap((o) => o.alerts);
  const byTime = (a: { at: string; rule: string; entity: string }, b: { at: string; rule: string; entity: string }): number =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0;
  alerts.sort(byTime);
  // Stable: one alert's transitions at one instant keep the order the kernel made them in.
  const transitions = outs.flatMap((o) => o.transitions).sort(byTime);
  return {
    tallies: [...tallies.values()],
    alerts,
    transitions,
    judged: outs.reduce((a, o) => a + o.judged, 0),
    evaluations: outs.reduce((a, o) => a + o.evaluations, 0),
    hourEvaluations: outs.reduce((a, o) => a + o.hourEvaluations, 0),
  };
}

/**
 * Judge every entity of `input` on up to `threads` threads (1: in-process; at least 50 entities
 * per thread). `threads` in the result: how many were used.
 */
export async function replayAll(input: ReplayInput, threads: number, onProgress?: (done: number, total: number) => void): Promise<ReplayOutput & { threads: number }> {
  const total = input.entities.length;
  const n = Math.max(1, Math.min(threads, Math.ceil(total / 50)));
  if (n === 1 || !workersAvailable()) return { ...mergeOutputs([replay(input, onProgress)]), threads: 1 };
  const shards = Array.from({ length: n }, (_, i) => {
    const idx: number[] = [];
    for (let k = i; k < total; k += n) idx.push(k);
    return { ...input, entities: idx.map((k) => input.entities[k]!), entityIndexes: idx.map((k) => input.entityIndexes[k]!) };
  });
  const done = new Array<number>(n).fill(0);
  const outs = await Promise.all(
    shards.map((shard, i) =>
      runWorker(shard, (d) => {
        done[i] = d;
        onProgress?.(
          done.reduce((a, b) => a + b, 0),
          total,
        );
      }),
    ),
  );
  return { ...mergeOutputs(outs), threads: n };
}
