// The samples of a queued batch job, as the queue door writes them (v: 2) and as every worker
// reads them (v: 1 or v: 2).
//
// v: 1 is an array of sample objects, the shape other services may add themselves
// (queues/names.ts SampleBatchJob). v: 2 is the door's own: columns, with the strings a batch
// repeats (metrics, times, the part of an id after its entity) written once in a word list. A day
// of a daily export repeats its metric, its time and the tail of every id (`G17/air_recharge/
// 2026-11-20` is `G17` and the word `/air_recharge/2026-11-20`), so a job of 2,000 samples is
// ~37 KB instead of ~218 KB: less to stringify at the door, to parse in the worker, and to hold in
// Redis while a backlog waits (docs/ingest.md "How a batch is queued").

import type { Labels, RawSample, Sample } from '../domain/sample.js';

/** The door's batch: the samples in columns, one entry per sample unless said otherwise. */
export interface ColumnarSamples {
  /** Strings written once: metrics, id tails, whole ids (after a NUL), labels (JSON, after a SOH). */
  readonly w: readonly string[];
  /** Entities, one per run of consecutive samples of the entity... */
  readonly e: readonly string[];
  /** ...and the length of each run. */
  readonly en: readonly number[];
  /** The metric's word. */
  readonly m: readonly number[];
  /** The value. */
  readonly x: readonly number[];
  /** Times written once... */
  readonly ts: readonly number[];
  /** ...and each sample's. */
  readonly t: readonly number[];
  /** The id's word (the id after its entity, or the whole id after a NUL); -1: no id. */
  readonly id: readonly number[];
  /** The labels' word (their JSON after a SOH); absent when no sample has labels; -1: none. */
  readonly l?: readonly number[];
}

const WHOLE = '\u0000';
const LABELS = '\u0001';
const SLASH = 47;

/** Id tails remembered as the door walks a batch: an entity's days or hours repeat the last few. */
const RECENT_TAILS = 4;

/** The samples in columns (ColumnarSamples). */
export function toColumns(samples: readonly Sample[]): ColumnarSamples {
  const words: string[] = [];
  const codes = new Map<string, number>();
  const word = (s: string): number => {
    let k = codes.get(s);
    if (k === undefined) {
      k = words.length;
      words.push(s);
      codes.set(s, k);
    }
    return k;
  };
  // The last few id tails and their words: a tail met again is found by comparing the id's end
  // with it, without cutting the id (a new string) and hashing it.
  const tails: string[] = [];
  const tailCodes: number[] = [];
  let nextTail = 0;
  const tailOf = (sid: string, from: number): number => {
    const len = sid.length - from;
    for (let k = 0; k < tails.length; k++) {
      const tail = tails[k]!;
      if (tail.length === len && sid.endsWith(tail)) return tailCodes[k]!;
    }
    const tail = sid.slice(from);
    const code = word(tail);
    tails[nextTail] = tail;
    tailCodes[nextTail] = code;
    nextTail = (nextTail + 1) % RECENT_TAILS;
    return code;
  };
  const times: number[] = [];
  const timeCodes = new Map<number, number>();
  const n = samples.length;
  const e: string[] = [];
  const en: number[] = [];
  const m = new Array<number>(n);
  const x = new Array<number>(n);
  const t = new Array<number>(n);
  const id = new Array<number>(n);
  let l: number[] | undefined;
  let last: string | undefined;
  let lastMetric: string | undefined;
  let lastMetricCode = -1;
  let lastTs = NaN;
  let lastTsCode = -1;
  for (let i = 0; i < n; i++) {
    const s = samples[i]!;
    const entity = s.entity;
    if (entity !== last) {
      e.push(entity);
      en.push(1);
      last = entity;
    } else en[en.length - 1]!++;
    if (s.metric !== lastMetric) {
      lastMetric = s.metric;
      lastMetricCode = word(s.metric);
    }
    m[i] = lastMetricCode;
    x[i] = s.value;
    if (s.ts !== lastTs) {
      let tc = timeCodes.get(s.ts);
      if (tc === undefined) {
        tc = times.length;
        times.push(s.ts);
        timeCodes.set(s.ts, tc);
      }
      lastTs = s.ts;
      lastTsCode = tc;
    }
    t[i] = lastTsCode;
    const sid = s.id;
    id[i] = sid === undefined ? -1 : sid.length > entity.length && sid.charCodeAt(entity.length) === SLASH && sid.startsWith(entity) ? tailOf(sid, entity.length) : word(WHOLE + sid);
    if (s.labels !== undefined) {
      l ??= new Array<number>(n).fill(-1);
      l[i] = word(LABELS + JSON.stringify(s.labels));
    }
  }
  return l ? { w: words, e, en, m, x, ts: times, t, id, l } : { w: words, e, en, m, x, ts: times, t, id };
}

/** Why a v: 2 batch could not be read: its columns are missing or disagree. */
export class BadColumns extends Error {}

function ints(v: unknown, n: number, what: string): readonly number[] {
  if (!Array.isArray(v) || v.length !== n) throw new BadColumns(`${what}: expected ${n} entries`);
  return v as number[];
}

/**
 * The samples of v: 2 columns, as raw samples (the worker validates them again, as it does every
 * queued sample). Throws BadColumns when the columns do not hold together; a word that is not
 * there reads as undefined, which validation rejects.
 */
export function fromColumns(batch: object): RawSample[] {
  const c = batch as Partial<Record<keyof ColumnarSamples, unknown>>;
  const { w, e, en } = c;
  if (!Array.isArray(w) || !Array.isArray(e) || !Array.isArray(en) || e.length !== en.length || !Array.isArray(c.ts)) {
    throw new BadColumns('w, e, en and ts: expected arrays, e and en of one length');
  }
  let n = 0;
  for (const k of en) {
    if (!Number.isInteger(k) || k < 0) throw new BadColumns('en: expected counts');
    n += k as number;
  }
  const m = ints(c.m, n, 'm');
  const x = ints(c.x, n, 'x');
  const t = ints(c.t, n, 't');
  const id = ints(c.id, n, 'id');
  const l = c.l === undefined ? undefined : ints(c.l, n, 'l');
  const words = w as unknown[];
  const times = c.ts as unknown[];
  const out = new Array<RawSample>(n);
  let i = 0;
  for (let r = 0; r < e.length; r++) {
    const entity = e[r] as unknown;
    for (let k = en[r] as number; k > 0; k--, i++) {
      const ic = id[i]!;
      const labels = l !== undefined && l[i] !== -1 ? labelsOf(words[l[i]!]) : undefined;
      // Each sample made whole in one literal (one shape for the samples of a kind, as validate.ts's).
      if (ic === -1) {
        out[i] = labels === undefined ? { metric: words[m[i]!], entity, value: x[i], ts: times[t[i]!] } : { metric: words[m[i]!], entity, value: x[i], ts: times[t[i]!], labels };
      } else {
        const word = words[ic];
        const sid = typeof word !== 'string' ? word : word.charCodeAt(0) === 0 ? word.slice(1) : typeof entity === 'string' ? entity + word : undefined;
        out[i] = labels === undefined ? { metric: words[m[i]!], entity, value: x[i], ts: times[t[i]!], id: sid } : { metric: words[m[i]!], entity, value: x[i], ts: times[t[i]!], id: sid, labels };
      }
    }
  }
  return out;
}

function labelsOf(word: unknown): unknown {
  if (typeof word !== 'string' || word.charCodeAt(0) !== 1) return word;
  try {
    return JSON.parse(word.slice(1)) as Labels;
  } catch {
    return word;
  }
}

/**
 * The raw samples of a queued batch, v: 1 or v: 2 (anything else: none, as v: 1 without an array
 * of samples). Throws BadColumns for v: 2 columns that do not hold together.
 */
/** Whether a queued batch is v: 2 columns (batchSamples decodes it with fromColumns, in validate.ts's own shapes). */
export function isColumnar(batch: unknown): boolean {
  return batch !== null && typeof batch === 'object' && (batch as { v?: unknown }).v === 2;
}

export function batchSamples(batch: unknown): readonly RawSample[] {
  if (batch === null || typeof batch !== 'object') return [];
  const b = batch as { v?: unknown; samples?: unknown };
  if (isColumnar(b)) return fromColumns(b);
  return Array.isArray(b.samples) ? (b.samples as RawSample[]) : [];
}
