// Sample validation, the ingest hot path: one pass, no per-sample closures or regexes, and a
// rejection (code + human message) for every bad sample while the good ones are kept.

import type { Calendar } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Labels, Sample, SampleRejection } from '../domain/sample.js';
import { SAMPLE_ERRORS } from '../errors/catalogue.js';

export type SampleErrorCode = keyof typeof SAMPLE_ERRORS;

export const MAX_ID_LENGTH = 200;

export interface ValidateContext {
  readonly metrics: MetricCatalogue;
  /** Ingest instant (epoch ms): the default `ts` and the reference for future/old checks. */
  readonly now: number;
  readonly retentionDays: number;
  readonly maxFutureMs: number;
  readonly calendar: Calendar;
  /** Index reported for `raws[0]` (CSV batches pass their first data row number). */
  readonly firstIndex?: number;
  /** Explicit index per raw (NDJSON bodies with unparseable lines); wins over firstIndex. */
  readonly indexes?: readonly number[];
  /**
   * The raws are fromColumns's (queues/sample-payload.ts, a v: 2 job): objects made whole in the
   * shapes this validator makes, so one that passes with every field as it came is kept as it is,
   * not copied into a new object (a worker's round holds hundreds of thousands).
   */
  readonly ownShapes?: boolean;
}

export interface ValidationResult {
  readonly accepted: Sample[];
  readonly rejected: SampleRejection[];
}

const SHOW_MAX = 60;

/** A bad value as a person reads it in a message, truncated. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = typeof v === 'string' ? v : String(v);
  const cut = s.length > SHOW_MAX ? `${s.slice(0, SHOW_MAX)}…` : s;
  return JSON.stringify(cut);
}

const SPAN_UNITS: readonly [number, string][] = [
  [365 * 86_400_000, 'year'],
  [86_400_000, 'day'],
  [3_600_000, 'hour'],
  [60_000, 'minute'],
  [1000, 'second'],
];

/** A duration as a person reads it: the largest whole unit, then the next one if it adds anything ("27 days 3 hours"). */
export function humanSpan(ms: number): string {
  const part = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  for (let u = 0; u < SPAN_UNITS.length; u++) {
    const [size, unit] = SPAN_UNITS[u]!;
    if (ms < size && u < SPAN_UNITS.length - 1) continue;
    const whole = Math.floor(ms / size);
    if (whole >= 10 || u === SPAN_UNITS.length - 1) return part(Math.max(whole, ms > 0 && whole === 0 ? 1 : whole), unit);
    const [nextSize, nextUnit] = SPAN_UNITS[u + 1]!;
    const rest = Math.floor((ms - whole * size) / nextSize);
    return rest > 0 ? `${part(whole, unit)} ${part(rest, nextUnit)}` : part(whole, unit);
  }
  return part(0, 'second');
}

/**
 * Where rejections go. Keeps the first `limit` by index (a body of a million bad samples must
 * not answer with a million entries) and counts every one, in total and per code.
 */
export class RejectionList {
  private readonly items: SampleRejection[] = [];
  private sorted = true;
  total = 0;
  readonly byCode: Record<string, number> = {};

  constructor(readonly limit = Infinity) {}

  /** Would a rejection at this index be kept (so its message is worth building)? */
  keeps(index: number): boolean {
    return this.items.length < this.limit || index < this.maxKept();
  }

  add(index: number, code: string, message: string): void {
    this.total++;
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    const items = this.items;
    if (items.length < this.limit) {
      if (items.length > 0 && index < items[items.length - 1]!.index) this.sorted = false;
      items.push({ index, code, message });
      return;
    }
    if (index >= this.maxKept()) return;
    // Full: an earlier index (a duplicate_id found late) displaces the last kept one.
    items.pop();
    let at = items.length;
    while (at > 0 && items[at - 1]!.index > index) at--;
    items.splice(at, 0, { index, code, message });
  }

  /** The kept rejections in index order. */
  list(): SampleRejection[] {
    this.sortNow();
    return this.items;
  }

  private maxKept(): number {
    this.sortNow();
    return this.items.length === 0 ? Infinity : this.items[this.items.length - 1]!.index;
  }

  private sortNow(): void {
    if (this.sorted) return;
    this.items.sort((a, b) => a.index - b.index);
    this.sorted = true;
  }
}

function reject(out: RejectionList, index: number, code: SampleErrorCode, message: string): void {
  out.add(index, code, message);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Two ASCII digits at `i` as a number, or -1. */
function num2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * ISO-8601 `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:MM]]` → epoch ms, NaN when malformed.
 * Without an offset the time is local wall time in the calendar's zone (a date alone is local
 * midnight), because daily exports write local dates.
 */
export function parseIsoTs(s: string, calendar: Calendar): number {
  const len = s.length;
  if (len < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const y1 = num2(s, 0);
  const y2 = num2(s, 2);
  const month = num2(s, 5);
  const day = num2(s, 8);
  if (y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1) return NaN;
  const year = y1 * 100 + y2;
  if (day > daysInMonth(year, month)) return NaN;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let pos = 10;
  if (len > 10) {
    const sep = s.charCodeAt(10);
    if (sep !== 84 && sep !== 116 && sep !== 32) return NaN; // T, t, space
    hour = num2(s, 11);
    minute = num2(s, 14);
    if (hour < 0 || hour > 23 || s.charCodeAt(13) !== 58 || minute < 0 || minute > 59) return NaN;
    pos = 16;
    if (s.charCodeAt(pos) === 58) {
      second = num2(s, pos + 1);
      if (second < 0 || second > 59) return NaN;
      pos += 3;
      const dot = s.charCodeAt(pos);
      if (dot === 46 || dot === 44) {
        pos++;
        const start = pos;
        let scale = 100;
        while (pos < len && isDigit(s.charCodeAt(pos))) {
          ms += (s.charCodeAt(pos) - 48) * scale;
          scale /= 10;
          pos++;
        }
        if (pos === start) return NaN;
        ms = Math.floor(ms);
      }
    }
  }
  // Date.UTC maps years 0–99 to 1900+; setUTCFullYear keeps them literal.
  let local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (year < 100) local = new Date(local).setUTCFullYear(year);
  if (pos === len) {
    // Local wall time: the offset in force at that wall time (same two-step as startOfDay).
    return local - calendar.offsetAt(local - calendar.offsetAt(local));
  }
  const z = s.charCodeAt(pos);
  if ((z === 90 || z === 122) && pos + 1 === len) return local; // Z, z
  if (z !== 43 && z !== 45) return NaN; // +, -
  const oh = num2(s, pos + 1);
  if (oh < 0 || oh > 23) return NaN;
  let om = 0;
  const rest = len - (pos + 3);
  if (rest === 3 && s.charCodeAt(pos + 3) === 58) om = num2(s, pos + 4);
  else if (rest === 2) om = num2(s, pos + 3);
  else if (rest !== 0) return NaN;
  if (om < 0 || om > 59) return NaN;
  const off = (oh * 60 + om) * 60_000;
  return z === 43 ? local - off : local + off;
}

/** `ts` as given (ISO-8601 string, epoch ms number, or a string of epoch ms digits) → epoch ms, NaN when unparseable. */
export function parseSampleTs(v: unknown, calendar: Calendar): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v) : NaN;
  if (typeof v !== 'string') return NaN;
  const len = v.length;
  if (len === 0 || len > 40) return NaN;
  let allDigits = true;
  for (let i = 0; i < len; i++) {
    if (!isDigit(v.charCodeAt(i))) {
      allDigits = false;
      break;
    }
  }
  if (allDigits) return len <= 16 ? Number(v) : NaN;
  return parseIsoTs(v, calendar);
}

/** `value` as given → a number, NaN when it is not a finite number or a numeric string. */
export function parseSampleValue(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v !== 'string') return NaN;
  // Number() alone accepts "" and "0x10"; parseFloat alone accepts "37abc". Both must agree.
  const n = Number(v);
  return n === parseFloat(v) && Number.isFinite(n) ? n : NaN;
}

function labelsProblem(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `labels: expected an object of strings, got ${showValue(v)}`;
  const obj = v as Record<string, unknown>;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
    if (k === '' || k === '__proto__') return `labels: key ${showValue(k)} is not allowed`;
    const lv = obj[k];
    if (typeof lv !== 'string') return `labels.${k.slice(0, SHOW_MAX)}: expected a string, got ${showValue(lv)}`;
  }
  return undefined;
}

function isEmptyObject(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return false;
  return true;
}

function knownMetricsHint(metrics: MetricCatalogue): string {
  const names = [...metrics.keys()];
  const shown = names.slice(0, 10).join(', ');
  return names.length > 10 ? `${shown}, …` : shown;
}

/**
 * Validates a batch that may arrive in slices (a large HTTP body is parsed and checked slice by
 * slice so the event loop keeps turning). Bad samples are rejected one by one (index, code,
 * message) into `rejections`; within the batch, samples sharing an `id` keep only the last valid
 * occurrence, the earlier ones are rejected as `duplicate_id`.
 */
export class SampleValidator {
  private readonly accepted: (Sample | null)[] = [];
  private readonly acceptedIndex: number[] = [];
  private idPos: Map<string, number> | undefined;
  private duplicates = 0;
  private readonly latest: number;
  private readonly earliest: number;
  private metricsHint: string | undefined;

  constructor(
    private readonly ctx: ValidateContext,
    readonly rejections: RejectionList,
  ) {
    this.latest = ctx.now + ctx.maxFutureMs;
    this.earliest = ctx.calendar.startOfDay(ctx.calendar.dayOf(ctx.now) - ctx.retentionDays);
  }

  /** Samples accepted so far. */
  get acceptedCount(): number {
    return this.accepted.length - this.duplicates;
  }

  /** Check one slice; `indexes` (one per raw) wins over `firstIndex`. */
  push(raws: readonly unknown[], firstIndex: number, indexes?: readonly number[]): void {
    for (let i = 0; i < raws.length; i++) this.one(raws[i], indexes ? indexes[i]! : firstIndex + i);
  }

  /** The accepted samples, in batch order. */
  result(): Sample[] {
    return this.duplicates === 0 ? (this.accepted as Sample[]) : this.accepted.filter((s): s is Sample => s !== null);
  }

  private one(raw: unknown, index: number): void {
    const { ctx, rejections: rejected } = this;
    const { metrics, now, calendar } = ctx;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      reject(rejected, index, 'not_an_object', `sample: expected a JSON object, got ${showValue(raw)}`);
      return;
    }
    const r = raw as Record<string, unknown>;

    const metric = r.metric;
    if (typeof metric !== 'string' || metric.length === 0) {
      reject(rejected, index, 'missing_metric', `metric: expected a non-empty string, got ${showValue(metric)}`);
      return;
    }
    if (!metrics.has(metric)) {
      if (rejected.keeps(index)) {
        this.metricsHint ??= knownMetricsHint(metrics);
        reject(rejected, index, 'unknown_metric', `metric: ${showValue(metric)} is not a known metric (known: ${this.metricsHint})`);
      } else reject(rejected, index, 'unknown_metric', '');
      return;
    }
    const entity = r.entity;
    if (typeof entity !== 'string' || entity.length === 0) {
      reject(rejected, index, 'missing_entity', `entity: expected a non-empty string, got ${showValue(entity)}`);
      return;
    }
    if (entity.length > MAX_ID_LENGTH) {
      reject(rejected, index, 'entity_too_long', `entity: ${entity.length} characters, at most ${MAX_ID_LENGTH} allowed (${showValue(entity)})`);
      return;
    }

    const rawValue = r.value;
    let value = parseSampleValue(rawValue);
    if (Number.isNaN(value)) {
      reject(rejected, index, 'bad_value', `value: expected a finite number ≥ 0, got ${showValue(rawValue)}`);
      return;
    }
    if (value < 0) {
      reject(rejected, index, 'negative_value', `value: must be ≥ 0, got ${showValue(rawValue)}`);
      return;
    }
    if (value === 0) value = 0; // normalise -0

    const rawTs = r.ts;
    let ts = now;
    if (rawTs !== undefined && rawTs !== null && rawTs !== '') {
      ts = parseSampleTs(rawTs, calendar);
      if (Number.isNaN(ts)) {
        reject(rejected, index, 'bad_ts', `ts: expected ISO-8601 (2026-11-21T08:00:00+08:00) or epoch milliseconds, got ${showValue(rawTs)}`);
        return;
      }
      if (ts > this.latest) {
        reject(rejected, index, 'ts_future', `ts: ${showValue(rawTs)} is ${humanSpan(ts - now)} in the future (limit: ${humanSpan(ctx.maxFutureMs)})`);
        return;
      }
      if (ts < this.earliest) {
        const hint = ts > 0 && ts < 1e11 ? '; epoch seconds? ts takes milliseconds' : '';
        reject(rejected, index, 'ts_too_old', `ts: ${showValue(rawTs)} is before ${calendar.formatLocal(this.earliest)}, the start of the ${ctx.retentionDays}-day retention${hint}`);
        return;
      }
    }

    const id = r.id;
    if (id !== undefined && id !== null && (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH)) {
      reject(rejected, index, 'bad_id', `id: expected a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${showValue(id)}`);
      return;
    }

    const rawLabels = r.labels;
    let labels: Labels | undefined;
    if (rawLabels !== undefined && rawLabels !== null) {
      const problem = labelsProblem(rawLabels);
      if (problem !== undefined) {
        reject(rejected, index, 'bad_labels', problem);
        return;
      }
      if (!isEmptyObject(rawLabels as object)) labels = rawLabels as Labels;
    }

    // Made whole in one literal (made), not grown a field at a time: every sample of a kind has one
    // shape (hidden class), so the code that reads them downstream stays monomorphic. A raw of
    // fromColumns (ownShapes) that passed with every field as it came is such an object already.
    const asCame = this.ctx.ownShapes === true && Object.is(value, rawValue) && ts === rawTs && labels === rawLabels && (typeof id === 'string' || !('id' in r));
    const sample: Sample = asCame ? (r as unknown as Sample) : made(metric, entity, value, ts, typeof id === 'string' ? id : undefined, labels);
    if (typeof id === 'string') {
      this.idPos ??= new Map();
      const prev = this.idPos.get(id);
      if (prev !== undefined) {
        // The later sample wins, as a re-sent id replaces the earlier one in storage.
        this.accepted[prev] = null;
        this.duplicates++;
        reject(rejected, this.acceptedIndex[prev]!, 'duplicate_id', `id: ${showValue(id)} appears again at index ${index}; that later sample is kept`);
      }
      this.idPos.set(id, this.accepted.length);
    }
    this.accepted.push(sample);
    this.acceptedIndex.push(index);
  }
}

/** A sample made whole in one literal per shape (no field present as undefined). */
function made(metric: string, entity: string, value: number, ts: number, id: string | undefined, labels: Labels | undefined): Sample {
  if (id === undefined) return labels === undefined ? { metric, entity, value, ts } : { metric, entity, value, ts, labels };
  return labels === undefined ? { metric, entity, value, ts, id } : { metric, entity, value, ts, id, labels };
}

/**
 * Validate a batch of raw samples in one go: every bad sample is rejected (index, code,
 * message), the rest are returned as Samples (duplicate ids as in SampleValidator).
 */
export function validateSamples(raws: readonly unknown[], ctx: ValidateContext): ValidationResult {
  const rejections = new RejectionList();
  const v = new SampleValidator(ctx, rejections);
  v.push(raws, ctx.firstIndex ?? 0, ctx.indexes);
  return { accepted: v.result(), rejected: rejections.list() };
}

/** Merge two index-sorted rejection lists (e.g. unparseable NDJSON lines + validation). */
export function mergeRejections(a: readonly SampleRejection[], b: readonly SampleRejection[]): SampleRejection[] {
  if (a.length === 0) return [...b];
  if (b.length === 0) return [...a];
  return [...a, ...b].sort((x, y) => x.index - y.index);
}

/** Rejections listed in one HTTP answer; the rest are only counted (rejected_total, rejected_by_code). */
export const MAX_REJECTED_LISTED = 100;
