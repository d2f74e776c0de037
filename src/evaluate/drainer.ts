// Evaluation is coalesced: applying samples marks entities dirty; drainers claim dirty entities
// in chunks and judge each once, however many samples landed since. A backfill of 35 days
// judges an entity once, not 35 times, and never replays stale history as alerts; under load
// the work per sample shrinks instead of piling up. A claimed entity carries a lease, so a
// worker that dies mid-evaluation only delays it.

import type { Clock } from '../domain/clock.js';
import { EVAL_MAX_DELAY_MS, type DirtySet } from '../state/dirty.js';
import type { RegistryCache } from '../state/registry-store.js';
import type { EntityEvaluator } from './live-evaluator.js';

export interface DrainerOptions {
  /** Entities claimed per round. */
  readonly chunk: number;
  /** Parallel drain loops in this process. */
  readonly loops: number;
  readonly leaseMs: number;
  /** Poll interval when nothing is ready (a local notify wakes the loops sooner). */
  readonly idleMs: number;
  /** An entity is judged once it has been dirty this long, so bursts coalesce. */
  readonly debounceMs: number;
  /**
   * While sample jobs are waiting, judging yields to applying: only entities dirty this long are
   * judged, so a burst or a backfill is applied first and judged in a few coalesced passes.
   */
  readonly maxDelayMs: number;
  /** Sample jobs waiting to be applied (read again at most every `backlogEveryMs`, and after notify). */
  readonly backlog?: () => Promise<number>;
  readonly backlogEveryMs: number;
}

const DEFAULTS: DrainerOptions = { chunk: 1000, loops: 2, leaseMs: 60_000, idleMs: 200, debounceMs: 1000, maxDelayMs: EVAL_MAX_DELAY_MS, backlogEveryMs: 250 };

export class EvaluationDrainer {
  private running = false;
  private loops: Promise<void>[] = [];
  private wakers: (() => void)[] = [];
  private readonly opts: DrainerOptions;

  constructor(
    private readonly dirty: DirtySet,
    private readonly evaluator: EntityEvaluator,
    private readonly registry: RegistryCache,
    private readonly clock: Clock,
    private readonly onError: (err: Error) => void,
    opts: Partial<DrainerOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.opts.loops; i++) this.loops.push(this.loop());
  }

  /** Finish the chunks in hand, then stop. */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await Promise.all(this.loops);
  }

  /**
   * Something was marked dirty, or a sample job finished: wake the idle loops, and read the backlog
   * again before the next claim. (Read from the cache, the last job's end still looked busy for up to
   * backlogEveryMs, then an idle poll: a backfill's last entities were judged ~0.4 s late.)
   */
  notify(): void {
    // Only a busy reading can have gone stale this way: a finished job or a mark adds no backlog.
    if (this.backlogBusy) this.backlogAt = -Infinity;
    const w = this.wakers;
    this.wakers = [];
    for (const wake of w) wake();
  }

  /** Mark entities dirty (day close, registry change) and wake the loops. */
  async mark(ids: readonly string[]): Promise<void> {
    await this.dirty.mark(ids);
    this.notify();
  }

  /** Claim and judge one chunk; returns how many entities were claimed. */
  async drainOnce(): Promise<number> {
    const minAge = (await this.busy()) ? Math.max(this.opts.maxDelayMs, this.opts.debounceMs) : this.opts.debounceMs;
    const ids = await this.dirty.claim(this.opts.leaseMs, this.opts.chunk, minAge);
    if (!ids.length) return 0;
    await this.registry.refresh();
    await this.evaluator.evaluate(ids, this.clock.now());
    await this.dirty.release(ids);
    return ids.length;
  }

  private backlogAt = -Infinity;
  private backlogBusy = false;

  private async busy(): Promise<boolean> {
    if (!this.opts.backlog) return false;
    const now = performance.now();
    if (now - this.backlogAt > this.opts.backlogEveryMs) {
      this.backlogAt = now;
      this.backlogBusy = (await this.opts.backlog()) > 0;
    }
    return this.backlogBusy;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        if ((await this.drainOnce()) > 0) continue;
      } catch (err) {
        this.onError(err as Error);
      }
      if (!this.running) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(this.opts.idleMs, Math.max(20, this.opts.debounceMs)));
        this.wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
