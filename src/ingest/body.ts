// Request body → raw records. Accepts a JSON array, a single JSON object, or NDJSON.
//
// Decision on partial NDJSON: when at least one NDJSON line parses, a line that is not JSON is
// reported as a `bad_row` rejection at its record index and the other lines are kept (a sender
// streaming NDJSON should not lose 9,999 good samples to one torn line). When no line parses,
// or a JSON array is broken, the whole body is `unparseable_body` (HTTP 400).

import type { SampleRejection } from '../domain/sample.js';

/** A whole-body failure; the HTTP layer answers 400 with this code and message. */
export class BodyError extends Error {
  readonly code = 'unparseable_body';
  constructor(message: string) {
    super(message);
    this.name = 'BodyError';
  }
}

export interface ParsedBody {
  /** Parsed records (not yet validated), in body order, unparseable NDJSON lines left out. */
  readonly records: unknown[];
  /** Record index of each entry of `records`; present only when some NDJSON lines were dropped. */
  readonly indexes?: number[];
  /** `bad_row` rejections for NDJSON lines that are not JSON. */
  readonly rejected: SampleRejection[];
}

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0xfeff) return i;
  }
  return -1;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Parse a samples body. Throws BodyError when the body as a whole is not usable. */
export function parseSampleBody(text: string): ParsedBody {
  const start = firstNonSpace(text);
  if (start < 0) throw new BodyError('the body is empty; send a JSON array, a JSON object or NDJSON');
  const first = text.charCodeAt(start);

  if (first === 91 /* [ */) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new BodyError(`the body starts like a JSON array but is not valid JSON: ${reason(err)}`);
    }
    return { records: parsed as unknown[], rejected: [] };
  }

  if (first === 123 /* { */) {
    // One object, or NDJSON whose first line is an object: try the cheap whole-body parse first.
    try {
      const parsed: unknown = JSON.parse(text);
      return { records: [parsed], rejected: [] };
    } catch {
      // fall through to NDJSON
    }
  }
  return parseNdjson(text);
}

function parseNdjson(text: string): ParsedBody {
  const records: unknown[] = [];
  const recordIndex: number[] = [];
  const rejected: SampleRejection[] = [];
  let firstError: string | undefined;
  let objects = 0;
  let index = 0;
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(pos, end);
    pos = end + 1;
    if (firstNonSpace(line) < 0) continue;
    try {
      const rec: unknown = JSON.parse(line);
      if (rec !== null && typeof rec === 'object' && !Array.isArray(rec)) objects++;
      records.push(rec);
      recordIndex.push(index);
    } catch (err) {
      const msg = `NDJSON line ${lineNo} is not valid JSON: ${reason(err)}`;
      firstError ??= msg;
      rejected.push({ index, code: 'bad_row', message: msg });
    }
    index++;
  }
  if (objects === 0) {
    // Not one object anywhere: this is not NDJSON of samples at all (e.g. `42`, `"x"`, `hello`).
    throw new BodyError(firstError ?? 'the body is neither a JSON array, a JSON object nor NDJSON of objects');
  }
  if (rejected.length === 0) return { records, rejected };
  return { records, indexes: recordIndex, rejected };
}

/** One slice of a body: raw records with their record indexes, and the NDJSON lines that were not JSON. */
export interface BodySlice {
  readonly records: unknown[];
  /** Record index of `records[0]`; the rest follow on, unless `indexes` is given. */
  readonly firstIndex: number;
  readonly indexes?: number[];
  readonly badRows: readonly SampleRejection[];
}

/** Characters of body text parsed per slice: small enough that one slice never holds the event loop for long. */
export const SLICE_CHARS = 32 * 1024;
/** Samples nest three deep (array, object, labels); anything past this is refused before parsing. */
export const MAX_DEPTH = 32;
const TOO_DEEP = `the body nests more than ${MAX_DEPTH} levels deep; a sample is a flat object with an optional labels object`;

/** Does the region nest at most MAX_DEPTH deep? String-aware, without parsing. */
function depthOk(text: string, from: number, to: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > MAX_DEPTH) return false;
    } else if (c === 93 || c === 125) depth--;
  }
  return true;
}

/**
 * The same body formats as parseSampleBody, parsed slice by slice so a 10 MB body of tiny records
 * never holds the event loop: the caller validates each slice and lets the records go, so invalid
 * items never pile up. Throws BodyError (possibly after some slices) when the body as a whole is
 * not usable; the caller must then discard what it got.
 */
export async function* sampleBodySlices(text: string): AsyncGenerator<BodySlice, void, void> {
  const start = firstNonSpace(text);
  if (start < 0) throw new BodyError('the body is empty; send a JSON array, a JSON object or NDJSON');
  const first = text.charCodeAt(start);
  if (first === 91 /* [ */) {
    yield* arraySlices(text, start);
    return;
  }
  if (first === 123 /* { */ && depthOk(text, start, text.length)) {
    let parsed: unknown;
    let ok = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      ok = false; // NDJSON, or not JSON at all
    }
    if (ok) {
      yield { records: [parsed], firstIndex: 0, badRows: [] };
      return;
    }
  }
  yield* ndjsonSlices(text);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function* arraySlices(text: string, start: number): AsyncGenerator<BodySlice, void, void> {
  const broken = (why: string) => new BodyError(`the body starts like a JSON array but is not valid JSON: ${why}`);
  let depth = 1;
  let inString = false;
  let sliceStart = start + 1;
  let afterComma = false;
  let index = 0;
  const len = text.length;
  const parseSlice = (to: number): unknown[] => {
    let records: unknown;
    try {
      records = JSON.parse(`[${text.slice(sliceStart, to)}]`);
    } catch (err) {
      throw broken(`${reason(err)} (in the records from index ${index}, characters ${sliceStart}–${to})`);
    }
    const list = records as unknown[];
    // "[1," + "]": a trailing comma parses as an empty slice.
    if (afterComma && list.length === 0) throw broken(`a comma with no record after it at character ${sliceStart - 1}`);
    return list;
  };
  for (let i = start + 1; i < len; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > MAX_DEPTH) throw new BodyError(TOO_DEEP);
    } else if (c === 93 || c === 125) {
      if (--depth === 0) {
        const records = parseSlice(i);
        if (firstNonSpace(text.slice(i + 1)) >= 0) throw broken(`unexpected text after the closing ] at character ${i + 1}`);
        if (records.length > 0) yield { records, firstIndex: index, badRows: [] };
        return;
      }
    } else if (c === 44 /* , */ && depth === 1 && i - sliceStart >= SLICE_CHARS) {
      const records = parseSlice(i);
      yield { records, firstIndex: index, badRows: [] };
      index += records.length;
      sliceStart = i + 1;
      afterComma = true;
      await turn();
    }
  }
  throw broken('the body ends before the closing ]');
}

async function* ndjsonSlices(text: string): AsyncGenerator<BodySlice, void, void> {
  let firstError: string | undefined;
  let objects = 0;
  let index = 0;
  let lineNo = 0;
  let pos = 0;
  let records: unknown[] = [];
  let indexes: number[] = [];
  let badRows: SampleRejection[] = [];
  let sliceChars = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    lineNo++;
    const lineStart = pos;
    pos = end + 1;
    sliceChars += end - lineStart + 1;
    const line = text.slice(lineStart, end);
    if (firstNonSpace(line) >= 0) {
      let rec: unknown;
      let problem: string | undefined;
      if (!depthOk(line, 0, line.length)) problem = TOO_DEEP;
      else {
        try {
          rec = JSON.parse(line);
        } catch (err) {
          problem = reason(err);
        }
      }
      if (problem === undefined) {
        if (rec !== null && typeof rec === 'object' && !Array.isArray(rec)) objects++;
        records.push(rec);
        indexes.push(index);
      } else {
        const msg = `NDJSON line ${lineNo} is not valid JSON: ${problem}`;
        firstError ??= msg;
        badRows.push({ index, code: 'bad_row', message: msg });
      }
      index++;
    }
    if (sliceChars >= SLICE_CHARS) {
      yield { records, firstIndex: indexes[0] ?? index, indexes, badRows };
      records = [];
      indexes = [];
      badRows = [];
      sliceChars = 0;
      await turn();
    }
  }
  // Not one object anywhere: this is not NDJSON of samples at all (e.g. `42`, `"x"`, `hello`).
  if (objects === 0) throw new BodyError(firstError ?? 'the body is neither a JSON array, a JSON object nor NDJSON of objects');
  if (records.length > 0 || badRows.length > 0) yield { records, firstIndex: indexes[0] ?? index, indexes, badRows };
}
