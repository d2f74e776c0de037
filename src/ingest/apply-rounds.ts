// Group commit of sample jobs: the jobs a worker holds at once are applied together. A job that
// arrives while no apply runs is applied at once (nothing waits for company); jobs that arrive
// while one runs wait for it to end and then go together, up to ROUND_SAMPLES samples. The deeper
// the backlog, the more of each series's days one apply reads, fences and writes (docs/ingest.md
// "Group commit"); an idle worker applies a live job exactly as before.
//
// Two lanes, each with its own rounds, run side by side: the jobs of the `samples` queue (live) and
// those of `samples-backfill`. A live sample that arrives during a backfill waits for the live
// lane's round only, not for a backfill round of hundreds of thousands of samples. The worker's
// backfill lane also waits for company before each round (Gather): its jobs come as fast as they are
// fetched, and a round that started with the first of them would meet each series once a day.

import type { Sample } from '../domain/sample.js';
import type { ApplyDraft, ApplyResult, JobToApply, SeriesStore } from '../state/series-store.js';

/**
 * Samples one round takes at most (it always takes the first waiting job, however large). Bounds the
 * round's working set (its calls' arguments are built for all its samples before the first window)
 * and how long a backfill round runs.
 */
export const ROUND_SAMPLES = 600_000;

interface Waiting {
  readonly job: JobToApply;
  readonly now: number;
  /** How long the job had waited in its queue when it came (ms; 0 when not known). */
  readonly queuedMs: number;
  readonly resolve: (r: ApplyResult) => void;
  readonly reject: (err: unknown) => void;
}

/** What a round did, for the metrics: its lane, how many jobs and samples it applied together. */
export type RoundObserver = (jobs: number, samples: number, lane: Lane) => void;

export type Lane = 'live' | 'backfill';

/**
 * How the backfill lane waits for company before a round: until no job has been queued for
 * `quietMs` and none has come for `fetchQuietMs`, or it holds `jobs` jobs (all its consumer takes: no
 * more can come) or a round's worth of samples, and never longer than `maxMs`. Backfill jobs come in
 * bursts as fast as they are fetched, and the deeper a round, the less each sample costs (a series
 * read and written once for all its days). A job that had waited in its queue (a backlog the hold
 * left there) says nothing of a producer still sending: once the fetchers have nothing more for
 * `fetchQuietMs`, the round need not wait the producer's quiet gap from its coming.
 */
export interface Gather {
  readonly quietMs: number;
  /** No job came for this long: the fetchers have nothing more (default quietMs). */
  readonly fetchQuietMs?: number;
  readonly maxMs: number;
  readonly jobs: number;
  /**
   * The drainers' debounce (LOOKOUT_EVAL_DEBOUNCE_MS). A round that began on the quiet gaps (its
   * producer and fetchers gone quiet, not a full hold or the time bound) stamps its entities' marks
   * earlier by as long as no job had been queued, up to this (DirtyMarks.backfillLeadMs): that wait
   * for more of the backfill counts towards the debounce, so with the defaults they are judged as
   * soon as the round is written, not a debounce later with the worker idle. Those of a round begun
   * on a full hold, with more perhaps still coming, wait the whole debounce.
   */
  readonly debounceMs?: number;
}

/**
 * The worker's gather (src/roles/worker.ts): a fetch takes tens of ms on a busy worker, a round
 * seconds, and a door's calls come a few hundred ms apart on a loaded machine (100–600 ms between
 * the jobs of a 100,000-entity backfill on 2 cores: with a gap of 250 ms a process's share came in
 * 2 or 3 rounds in half the runs, each reading and writing every series it met).
 */
export const GATHER_QUIET_MS = 1_000;
/** The fetchers' quiet: a fetch takes tens of ms on a busy worker. */
export const GATHER_FETCH_QUIET_MS = 250;
export const GATHER_MAX_MS = 5_000;
/** A gather's wake-up this much later than asked means the event loop was busy: its quiet gap starts again. */
export const GATHER_LATE_MS = 50;
/** How long a gather drafts its round at a time before it lets the event loop deliver what came (well under GATHER_LATE_MS). */
const DRAFT_SLICE_MS = 10;

/**
 * Where the entities of a worker process's backfill lane are shared with the other worker processes
 * (queues/backfill-partitions.ts HeldBackfill): with the backfill partitioned, most of a live day's
 * entities have their backfill held by another process.
 */
export interface HeldMirror {
  /** Entities whose first held job came. */
  added(entities: readonly string[]): void;
  /** Entities whose last held job was applied. */
  released(entities: readonly string[]): void;
  /** Every entity's last held job was applied: nothing is held. */
  releasedAll(): void;
  /** Which of these entities another worker process holds a backfill of. */
  elsewhere(entities: readonly string[]): Promise<ReadonlySet<string>>;
}

export interface ApplyRoundsOptions {
  readonly observe?: RoundObserver;
  /** Share what the backfill lane holds with the other worker processes, and ask theirs before a live round. */
  readonly mirror?: HeldMirror;
  /** Samples a round takes at most (default ROUND_SAMPLES). */
  readonly maxSamples?: number;
  /** The backfill lane gathers jobs before each round (default: it takes what waits, at once). */
  readonly gather?: Gather;
}

/** Samples of these jobs, together. */
function samplesIn(jobs: readonly Waiting[]): number {
  let n = 0;
  for (const w of jobs) n += w.job.samples.length;
  return n;
}

/** One lane's jobs waiting for its next round, and whether a round of it runs. */
class LaneRounds {
  private waiting: Waiting[] = [];
  /** Samples of the jobs waiting (samplesIn(waiting), kept as they come and go: a gather asks at every wake-up). */
  private waitingSamples = 0;
  private running = false;
  /** When the last job came (performance.now()), for the gather's quiet gap. */
  private lastArrival = 0;
  /** When the latest-queued job that came was queued (performance.now() terms), for the producer's quiet gap. */
  private lastQueued = -Infinity;
  /** Wakes a gather waiting for its gap to end (a job came: it may fill the hold). */
  private wake?: () => void;
  /** Entities of the jobs held (waiting or in the running round), by sample count; the backfill lane's only. */
  private readonly held = new Map<string, number>();
  /**
   * The next round drafted from the jobs waiting, in their order, where the lane gathers and the
   * store joins jobs (SeriesStore.draft): the gather has it work while it waits.
   */
  private draft?: ApplyDraft;

  private get tracks(): boolean {
    return this.lane === 'backfill';
  }

  constructor(
    private readonly lane: Lane,
    private readonly series: SeriesStore,
    private readonly observe: RoundObserver,
    private readonly maxSamples: number,
    /** Whether another lane holds a job of the entity still to apply (applyJobs' backfillHeld). */
    private readonly heldElsewhere?: (entity: string) => boolean,
    private readonly gather?: Gather,
    private readonly mirror?: HeldMirror,
  ) {}

  /** Whether a job this lane holds (waiting, or in its running round) has a sample of the entity. */
  holds(entity: string): boolean {
    return this.held.has(entity);
  }

  push(w: Waiting): void {
    if (this.tracks) {
      const first: string[] = [];
      for (const s of w.job.samples) {
        const n = this.held.get(s.entity) ?? 0;
        if (n === 0) first.push(s.entity);
        this.held.set(s.entity, n + 1);
      }
      this.mirror?.added(first);
    }
    this.waiting.push(w);
    this.waitingSamples += w.job.samples.length;
    if (this.gather) (this.draft ??= this.series.draft())?.add(w.job, w.now);
    this.lastArrival = performance.now();
    this.lastQueued = Math.max(this.lastQueued, this.lastArrival - w.queuedMs);
    this.wake?.();
    if (!this.running) void this.run();
  }

  /**
   * Wait for company before a round (Gather); at once without a gather. The quiet gap counts only
   * time the fetchers could deliver in: a wake-up later than asked (the event loop was busy, with
   * a live round's computing, a judgement or the garbage collector) starts the gap again, since
   * the jobs fetched meanwhile wait in the socket, not delivered yet (a timer runs before the
   * event loop reads the socket). Without it a worker busy for more than the gap started its round
   * while its share of a backfill was still coming, and applied it in 2 or 3 rounds. Returns how
   * long no job had been queued when it ended on the quiet gaps (ms; 0 when it ended otherwise):
   * that much of the debounce is already waited (Gather.debounceMs).
   */
  private async gathered(): Promise<number> {
    const g = this.gather;
    if (!g) return 0;
    const fetchQuietMs = g.fetchQuietMs ?? g.quietMs;
    const started = performance.now();
    /** Since when the event loop was last found busy (a late wake-up): neither gap counts time before it. */
    let quietFrom = -Infinity;
    for (;;) {
      const now = performance.now();
      const fetched = now - Math.max(this.lastArrival, quietFrom);
      const queued = now - Math.max(this.lastQueued, quietFrom);
      const quiet = fetched >= fetchQuietMs && queued >= g.quietMs;
      if (this.waiting.length >= g.jobs || this.waitingSamples >= this.maxSamples || now - started >= g.maxMs) return 0;
      if (quiet) return queued;
      const wait = Math.min(Math.max(fetchQuietMs - fetched, g.quietMs - queued), g.maxMs - (now - started));
      // Once the fetchers have nothing more, the wait for the producer's quiet drafts the round (a
      // few ms at a time, the event loop delivering what comes between): not while jobs still come,
      // when the process may be a door's too, and the draft would be drafted again.
      const draft = this.draft;
      const drafting = draft !== undefined && (!draft.grouped || draft.unbuilt);
      if (drafting && fetched >= fetchQuietMs) {
        draft.work(now + Math.min(wait, DRAFT_SLICE_MS));
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      // With a draft to work on, wake when the fetchers' gap ends, not only when both have.
      const sleep = drafting ? Math.min(wait, fetchQuietMs - fetched) : wait;
      const late = await new Promise<boolean>((resolve) => {
        const done = (timedOut: boolean): void => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve(timedOut && performance.now() - (now + sleep) > GATHER_LATE_MS);
        };
        const timer = setTimeout(() => done(true), sleep);
        this.wake = () => done(false);
      });
      if (late) quietFrom = performance.now();
    }
  }

  private release(round: readonly Waiting[]): void {
    if (!this.tracks) return;
    if (this.waiting.length === 0) {
      // Nothing waits: what was held was this round's (one runs at a time). Let it all go at once,
      // not sample by sample (a deep round held hundreds of thousands, just before they are judged).
      this.held.clear();
      this.mirror?.releasedAll();
      return;
    }
    const gone: string[] = [];
    for (const w of round) {
      for (const s of w.job.samples) {
        const n = this.held.get(s.entity)! - 1;
        if (n > 0) this.held.set(s.entity, n);
        else {
          this.held.delete(s.entity);
          gone.push(s.entity);
        }
      }
    }
    this.mirror?.released(gone);
  }

  /**
   * Whether an entity of this (live) round has a backfill still to apply: held by this process's
   * backfill lane, or (asked once per round) by another worker process's.
   */
  private async heldNow(round: readonly Waiting[]): Promise<((entity: string) => boolean) | undefined> {
    const local = this.heldElsewhere;
    if (!this.mirror || this.tracks) return local;
    const ask = new Set<string>();
    for (const w of round) for (const s of w.job.samples) if (!local?.(s.entity)) ask.add(s.entity);
    const remote = await this.mirror.elsewhere([...ask]);
    if (remote.size === 0) return local;
    return (e) => remote.has(e) || local?.(e) === true;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        // Only with a gather: an await here would let the jobs pushed in the same tick as the
        // first join its round, and an idle worker applies a lone live job at once.
        const quietMs = this.gather ? await this.gathered() : 0;
        const round = this.take();
        const draft = this.takeDraft();
        try {
          const results = await this.series.applyJobs(
            round.map((w) => w.job),
            Math.max(...round.map((w) => w.now)),
            await this.heldNow(round),
            // Only when the round took every job held: one come since the gather ended says the
            // producer is not quiet after all.
            this.waiting.length === 0 ? Math.min(quietMs, this.gather?.debounceMs ?? 0) : 0,
            draft,
          );
          this.observe(round.length, samplesIn(round), this.lane);
          round.forEach((w, i) => w.resolve(results[i]!));
        } catch (err) {
          // Every job of the round fails and is retried (its queue's attempts); what the round wrote
          // carries the jobs' chunk markers, so a retry skips it.
          for (const w of round) w.reject(err);
        } finally {
          this.release(round);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * The draft of the round just taken (used by the store only if it is of exactly the round's jobs:
   * a round that left jobs waiting is not), and a new one begun from the jobs left waiting.
   */
  private takeDraft(): ApplyDraft | undefined {
    const draft = this.draft;
    this.draft = undefined;
    if (this.gather && this.waiting.length > 0) {
      this.draft = this.series.draft();
      for (const w of this.waiting) this.draft?.add(w.job, w.now);
    }
    return draft;
  }

  /** The next round: waiting jobs in arrival order up to maxSamples, a job id at most once (a re-taken job waits a round). */
  private take(): Waiting[] {
    const round: Waiting[] = [];
    const rest: Waiting[] = [];
    const ids = new Set<string>();
    let samples = 0;
    for (const w of this.waiting) {
      const fits = round.length === 0 || samples + w.job.samples.length <= this.maxSamples;
      if (fits && !ids.has(w.job.jobId) && rest.length === 0) {
        round.push(w);
        ids.add(w.job.jobId);
        samples += w.job.samples.length;
      } else {
        rest.push(w);
      }
    }
    this.waiting = rest;
    this.waitingSamples -= samples;
    return round;
  }
}

export class ApplyRounds {
  private readonly lanes: Record<Lane, LaneRounds>;

  constructor(series: SeriesStore, opts: ApplyRoundsOptions = {}) {
    const observe = opts.observe ?? (() => undefined);
    // Never more than the store takes in one round (the compact layout: by its shard count).
    const max = Math.min(opts.maxSamples ?? ROUND_SAMPLES, series.roundSamples);
    // A live sample of an entity whose backfill this worker holds is judged with the backfill, once,
    // not before it and again after.
    const backfill = new LaneRounds('backfill', series, observe, max, undefined, opts.gather, opts.mirror);
    this.lanes = { live: new LaneRounds('live', series, observe, max, (e) => backfill.holds(e), undefined, opts.mirror), backfill };
  }

  /**
   * Apply one job's samples in `lane`, with whatever other jobs of the lane wait at the time; resolves
   * when its round is written. `queuedMs`: how long the job had waited in its queue (the gather's
   * producer quiet counts from when it was queued).
   */
  apply(jobId: string, samples: readonly Sample[], now: number, needsEvaluation?: JobToApply['needsEvaluation'], lane: Lane = 'live', queuedMs = 0): Promise<ApplyResult> {
    return new Promise<ApplyResult>((resolve, reject) => {
      this.lanes[lane].push({ job: { jobId, samples, needsEvaluation }, now, queuedMs: Math.max(0, queuedMs), resolve, reject });
    });
  }
}
