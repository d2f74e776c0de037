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
