// Streaming reader for samples CSV (the business-analysis system's daily exports). Rows are
// numbered 1-based from the first data row (header and blank lines not counted), and each row's
// file line (header = line 1) is reported beside it; a row that cannot be parsed is reported as
// `bad_row` and reading goes on. Bytes must be UTF-8 unless an encoding (GBK, GB18030) is given.

import { Transform, type Readable } from 'node:stream';
import { parse, type CsvError, type Options as CsvOptions } from 'csv-parse';
import iconv from 'iconv-lite';
import { encodingError, firstInvalidUtf8, type CsvEncoding } from '../config/csv-rows.js';
import type { RawSample, SampleRejection } from '../domain/sample.js';
import { ConfigError } from '../errors/catalogue.js';

export const SAMPLE_CSV_REQUIRED = ['metric', 'entity', 'value', 'ts'] as const;
export const LABEL_PREFIX = 'label.';

export interface SampleCsvOptions {
  /** Raw samples per onBatch call. */
  readonly batchSize: number;
  /**
   * Receives consecutive rows: `raws[i]` is data row `firstRowNumber + i`. A batch ends early
   * before a bad row so that mapping always holds. Awaited: a slow consumer slows the reader.
   */
  readonly onBatch: (raws: RawSample[], firstRowNumber: number, lines: readonly number[]) => Promise<void>;
  /** Called after each batch and at the end (for a TTY progress line). */
  readonly onProgress?: (rowsRead: number, bytesRead: number) => void;
  /** Name used in header errors, e.g. the path given to `lookout import`. */
  readonly file?: string;
  /** Bytes are in this encoding; without it, bytes that are not UTF-8 stop the read (`csv_encoding`). */
  readonly encoding?: CsvEncoding;
}

export interface SampleCsvResult {
  /** Data rows read, bad ones included. */
  readonly rows: number;
  readonly bytes: number;
  /** `bad_row` rejections, by data row number. */
  readonly rejected: SampleRejection[];
  /** File line of each `bad_row` rejection's row. */
  readonly badRowLines: ReadonlyMap<number, number>;
  /** Header columns that are neither sample fields nor `label.<name>` (ignored). */
  readonly ignoredColumns: string[];
}

/** Column positions found in the header. */
export interface SampleCsvLayout {
  readonly metric: number;
  readonly entity: number;
  readonly value: number;
  readonly ts: number;
  readonly id: number;
  readonly labels: readonly (readonly [name: string, column: number])[];
  readonly ignored: string[];
}

/** Check a samples CSV header; throws ConfigError `bad_csv_header` naming what is wrong. */
export function sampleCsvLayout(header: readonly string[], file = 'samples CSV'): SampleCsvLayout {
  const seen = new Map<string, number>();
  const labels: [string, number][] = [];
  const ignored: string[] = [];
  const known = new Set<string>([...SAMPLE_CSV_REQUIRED, 'id']);
  header.forEach((rawName, col) => {
    const name = rawName.trim();
    if (seen.has(name)) {
      throw new ConfigError('bad_csv_header', `column ${JSON.stringify(name)} appears twice (columns ${seen.get(name)! + 1} and ${col + 1})`, file, 1, name);
    }
    seen.set(name, col);
    if (name.startsWith(LABEL_PREFIX)) {
      const label = name.slice(LABEL_PREFIX.length);
      if (label === '' || label === '__proto__') throw new ConfigError('bad_csv_header', `column ${JSON.stringify(name)} needs a label name (label.category)`, file, 1, name);
      labels.push([label, col]);
    } else if (!known.has(name)) {
      ignored.push(name);
    }
  });
  const missing = SAMPLE_CSV_REQUIRED.filter((c) => !seen.has(c));
  if (missing.length > 0) {
    throw new ConfigError(
      'bad_csv_header',
      `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the header must name ${SAMPLE_CSV_REQUIRED.join(',')} (id and label.<name> optional), got ${JSON.stringify(header.join(','))}`,
      file,
      1,
      missing[0],
    );
  }
  return {
    metric: seen.get('metric')!,
    entity: seen.get('entity')!,
    value: seen.get('value')!,
    ts: seen.get('ts')!,
    id: seen.get('id') ?? -1,
    labels,
    ignored,
  };
}

/** One CSV row → a RawSample (strings; validateSamples converts). Empty cells are absent. */
export function rowToRawSample(row: readonly string[], layout: SampleCsvLayout): RawSample {
  const ts = row[layout.ts];
  const raw: { -readonly [K in keyof RawSample]: RawSample[K] } = {
    metric: row[layout.metric],
    entity: row[layout.entity],
    value: row[layout.value],
  };
  if (ts !== undefined && ts !== '') raw.ts = ts;
  if (layout.id >= 0) {
    const id = row[layout.id];
    if (id !== undefined && id !== '') raw.id = id;
  }
  if (layout.labels.length > 0) {
    let labels: Record<string, string> | undefined;
    for (const [name, col] of layout.labels) {
      const v = row[col];
      if (v === undefined || v === '') continue;
      labels ??= {};
      labels[name] = v;
    }
    if (labels) raw.labels = labels;
  }
  return raw;
}

/** A csv-parse error as one line a person can act on. */
export function describeCsvError(err: CsvError | Error | undefined): string {
  if (!err) return 'the row could not be parsed';
  const e = err as CsvError & { lines?: number; record?: unknown[] };
  const where = typeof e.lines === 'number' ? `CSV line ${e.lines}: ` : '';
  switch (e.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
      return `${where}the row has ${Array.isArray(e.record) ? e.record.length : 'a different number of'} fields, the header has ${String(e.message.match(/expect (\d+)/)?.[1] ?? '?')}`;
    case 'CSV_QUOTE_NOT_CLOSED':
      return `${where}a quoted field is never closed; the rest of the file was read into it`;
    case 'CSV_MAX_RECORD_SIZE':
      return `${where}the row is too long (wrong delimiter?)`;
    default:
      return `${where}${e.message}`;
  }
}

type Item = { readonly row: number; readonly line: number; readonly raw: RawSample | null; readonly bytes: number };

/** Bytes → text: decoded from `encoding`, or checked to be UTF-8 (a `csv_encoding` error if not). */
export function csvTextStream(file: string, encoding?: CsvEncoding): Transform {
  if (encoding && encoding !== 'utf8') return iconv.decodeStream(encoding) as unknown as Transform;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  // Bytes since the last line break (up to 4 KB): enough to guess the encoding from.
  let recent: Buffer = Buffer.alloc(0);
  return new Transform({
    readableObjectMode: false,
    transform(chunk: Buffer, _enc, done) {
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        const window = Buffer.concat([recent, chunk]);
        const bad = firstInvalidUtf8(window, true) ?? window.length;
        const before = window.subarray(recent.length, Math.max(recent.length, bad));
        done(encodingError(file, window, line + before.filter((b) => b === 0x0a).length));
        return;
      }
      const nl = chunk.lastIndexOf(0x0a);
      recent = nl >= 0 ? Buffer.from(chunk.subarray(nl + 1)) : Buffer.concat([recent, chunk]).subarray(-4096);
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
      done(null, text);
    },
    flush(done) {
      try {
        done(null, decoder.decode());
      } catch {
        done(encodingError(file, new Uint8Array(), line));
      }
    },
  });
}

/**
 * Read a samples CSV stream in batches. A missing required header column throws ConfigError
 * `bad_csv_header` before any batch is delivered; unparseable rows are collected as `bad_row`.
 */
export async function readSampleCsv(stream: Readable, opts: SampleCsvOptions): Promise<SampleCsvResult> {
  const batchSize = Math.max(1, opts.batchSize);
  const rejected: SampleRejection[] = [];
  const badRowLines = new Map<number, number>();
  let layout: SampleCsvLayout | undefined;
  let headerError: Error | undefined;
  let row = -1; // the header is row 0

  // on_record / on_skip run synchronously in file order, so row numbers are assigned there.
  const options: CsvOptions<Item, string[]> = {
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_quotes: true,
    skip_records_with_error: true,
    on_record: (record: string[], ctx): Item => {
      row++;
      if (row === 0) {
        try {
          layout = sampleCsvLayout(record, opts.file);
        } catch (err) {
          headerError = err as Error;
        }
        return { row, line: ctx.lines, raw: null, bytes: ctx.bytes };
      }
      return { row, line: ctx.lines, raw: layout ? rowToRawSample(record, layout) : null, bytes: ctx.bytes };
    },
    on_skip: (err) => {
      row++;
      if (row === 0) headerError = new ConfigError('bad_csv_header', `the header row cannot be parsed: ${describeCsvError(err)}`, opts.file, 1);
      else {
        rejected.push({ index: row, code: 'bad_row', message: describeCsvError(err) });
        const e = err as (CsvError & { lines?: number }) | undefined;
        if (typeof e?.lines === 'number') badRowLines.set(row, e.lines);
      }
      return undefined;
    },
  };
  // csv-parse's overloads cannot express an on_record that maps string[] to another type.
  const parser = parse(options as unknown as CsvOptions);

  const onSourceError = (err: Error): void => {
    parser.destroy(err);
  };
  const text = csvTextStream(opts.file ?? 'samples CSV', opts.encoding);
  stream.once('error', onSourceError);
  text.once('error', onSourceError);
  stream.pipe(text).pipe(parser);

  let batch: RawSample[] = [];
  let batchLines: number[] = [];
  let batchFirst = 1;
  let rows = 0;
  let bytes = 0;
  let finished = false;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const out = batch;
    const lines = batchLines;
    batch = [];
    batchLines = [];
    await opts.onBatch(out, batchFirst, lines);
    opts.onProgress?.(rows, bytes);
  };

  try {
    for await (const item of parser as AsyncIterable<Item>) {
      if (item.row === 0 || headerError) {
        if (headerError) throw headerError;
        continue;
      }
      rows = Math.max(rows, item.row);
      bytes = item.bytes;
      if (batch.length > 0 && item.row !== batchFirst + batch.length) await flush();
      if (batch.length === 0) batchFirst = item.row;
      batch.push(item.raw!);
      batchLines.push(item.line);
      if (batch.length >= batchSize) await flush();
    }
    if (headerError) throw headerError;
    if (row < 0) throw new ConfigError('bad_csv_header', `the file is empty; expected a header ${SAMPLE_CSV_REQUIRED.join(',')}`, opts.file, 1);
    await flush();
    finished = true;
  } finally {
    stream.off('error', onSourceError);
    text.off('error', onSourceError);
    if (!finished) {
      stream.unpipe(text);
      text.unpipe(parser);
      parser.destroy();
      text.destroy();
      stream.destroy();
    }
  }
  rows = Math.max(rows, row);
  bytes = Math.max(bytes, parser.info.bytes);
  opts.onProgress?.(rows, bytes);
  return { rows, bytes, rejected, badRowLines, ignoredColumns: layout?.ignored ?? [] };
}
