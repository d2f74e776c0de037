// Streaming samples CSV reader for the replay: the same csv-parse options, header check
// (sampleCsvLayout), row → RawSample mapping (rowToRawSample), row numbering and `bad_row`
// messages as readSampleCsv (src/ingest/csv.ts), and the same validateSamples batches as
// `lookout import` — but consumed without csv-parse's per-record `on_record` hook and without an
// async iteration per record, which together cost ~1 µs… 2 µs per row: on 5.5 million rows
// readSampleCsv takes ~18 s, this reader ~11 s (csv-parse alone: ~9 s).
//
// Row numbers: data rows are numbered from 1 (the header and blank lines are not counted; a row
// csv-parse skips is). A skipped row is numbered when csv-parse reports it (on_skip runs while it
// parses, before the rows around it are read from the stream), from the rows it has emitted so
// far; a read row's number is its position among the emitted rows plus the skips before it.

import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { CsvEncoding } from '../config/csv-rows.js';
import type { RawSample, Sample, SampleRejection } from '../domain/sample.js';
import { ConfigError } from '../errors/catalogue.js';
import { describeCsvError, rowToRawSample, SAMPLE_CSV_REQUIRED, sampleCsvLayout, type SampleCsvLayout } from '../ingest/csv.js';
import { validateSamples, type ValidateContext } from '../ingest/validate.js';
import { sampleBytes } from './bytes.js';

export interface ReadSamplesOptions {
  /** Rows per validateSamples call (LOOKOUT_BATCH_SIZE, as `lookout import` batches them). */
  readonly batchSize: number;
  /** Validation context without the row numbering (firstIndex is set per batch). */
  readonly validate: Omit<ValidateContext, 'firstIndex' | 'indexes'>;
  /** Receives each batch's accepted samples, in file order. */
  readonly onSamples: (samples: readonly Sample[]) => void;
  /** Called every `progressEvery` rows and at the end (a TTY progress bar). */
  readonly onProgress?: (rows: number, bytes: number) => void;
  readonly progressEvery?: number;
  /** Name used in header errors. */
  readonly file?: string;
  /**
   * Lines of the file before the stream's first data line, less the lines of a header prepended
   * to the stream (a part of a file read by another thread): corrects csv-parse's line numbers in
   * `bad_row` messages.
   */
  readonly csvLineOffset?: number;
  /**
   * Bytes are in this encoding (GBK / GB18030 decoded); without it, bytes that are not UTF-8
   * stop the read with `csv_encoding` (bytes.ts).
   */
  readonly encoding?: CsvEncoding;
}

export interface ReadSamplesResult {
  /** Data rows read, bad ones included. */
  readonly rows: number;
  readonly bytes: number;
  /** Rows accepted by validation. */
  readonly accepted: number;
  /** Bad rows (bad_row and validation codes), by row number; duplicate_id is not among them. */
  readonly rejected: SampleRejection[];
  /**
   * Rows dropped because a later row of the same batch has the same id (`duplicate_id` in
   * `lookout import`): the later sample replaces them, as a repeated id does across batches.
   */
  readonly duplicateIds: number;
  /** Header columns that are neither sample fields nor `label.<name>` (ignored). */
  readonly ignoredColumns: string[];
}

/**
 * Read and validate a samples CSV stream. A missing required header column throws ConfigError
 * `bad_csv_header` before any sample is delivered; unparseable rows become `bad_row` rejections.
 */
export function readSamples(stream: Readable, opts: ReadSamplesOptions): Promise<ReadSamplesResult> {
  const batchSize = Math.max(1, opts.batchSize);
  const progressEvery = Math.max(1, opts.progressEvery ?? 50_000);
  const rejected: SampleRejection[] = [];
  let layout: SampleCsvLayout | undefined;
  let headerError: Error | undefined;
  // Skipped rows: data rows emitted before each (non-decreasing), and how many so far.
  const skippedAfter: number[] = [];
  let skipPtr = 0;
  let dataRecords = 0;
  let lastRow = 0;
  let accepted = 0;
  let duplicateIds = 0;
  let nextProgress = progressEvery;
  const bytes = sampleBytes({ file: opts.file ?? 'samples CSV', encoding: opts.encoding, lineOffset: opts.csvLineOffset });
  // Bytes of the file read: csv-parse counts those of the text it gets, more than the file's when
  // it was decoded from GBK (two bytes a Chinese character, three in UTF-8).
  const decoded = opts.encoding !== undefined && opts.encoding !== 'utf8';
  let sourceBytes = 0;
  if (decoded) stream.on('data', (c: Uint8Array | string) => (sourceBytes += typeof c === 'string' ? Buffer.byteLength(c) : c.length));
  const bytesRead = (): number => (decoded ? sourceBytes : parser.info.bytes);

  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_quotes: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      const lines = (err as { lines?: unknown } | undefined)?.lines;
      if (opts.csvLineOffset && typeof lines === 'number') (err as unknown as { lines: number }).lines = lines + opts.csvLineOffset;
      const emitted = parser.info.records;
      if (emitted === 0) {
        headerError ??= new ConfigError('bad_csv_header', `the header row cannot be parsed: ${describeCsvError(err)}`, opts.file, 1);
        return undefined;
      }
      const row = emitted + skippedAfter.length;
      skippedAfter.push(emitted - 1);
      rejected.push({ index: row, code: 'bad_row', message: describeCsvError(err) });
      return undefined;
    },
  });

  let batch: RawSample[] = [];
  let batchFirst = 1;
  const flush = (): void => {
    if (batch.length === 0) return;
    const v = validateSamples(batch, { ...opts.validate, firstIndex: batchFirst });
    batch = [];
    for (const r of v.rejected) {
      if (r.code === 'duplicate_id') duplicateIds++;
      else rejected.push(r);
    }
    accepted += v.accepted.length;
    opts.onSamples(v.accepted);
  };

  return new Promise<ReadSamplesResult>((resolve, reject) => {
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      stream.unpipe(bytes);
      bytes.unpipe(parser);
      parser.destroy();
      bytes.destroy();
      stream.destroy();
      reject(err);
    };
    parser.on('readable', () => {
      try {
        let record: string[] | null;
        while ((record = parser.read() as string[] | null) !== null) {
          if (headerError) throw headerError;
          if (!layout) {
            layout = sampleCsvLayout(record, opts.file);
            continue;
          }
          const k = ++dataRecords;
          while (skipPtr < skippedAfter.length && skippedAfter[skipPtr]! < k) skipPtr++;
          const row = k + skipPtr;
          if (batch.length > 0 && row !== batchFirst + batch.length) flush();
          if (batch.length === 0) batchFirst = row;
          batch.push(rowToRawSample(record, layout));
          lastRow = row;
          if (batch.length >= batchSize) flush();
          if (row >= nextProgress) {
            nextProgress = row + progressEvery;
            opts.onProgress?.(row, bytesRead());
          }
        }
        if (headerError) throw headerError;
      } catch (err) {
        fail(err as Error);
      }
    });
    parser.once('error', (err) => fail(err));
    stream.once('error', (err) => fail(err));
    bytes.once('error', (err) => fail(err));
    parser.once('end', () => {
      if (failed) return;
      try {
        if (headerError) throw headerError;
        if (!layout) throw new ConfigError('bad_csv_header', `the file is empty; expected a header ${SAMPLE_CSV_REQUIRED.join(',')}`, opts.file, 1);
        flush();
      } catch (err) {
        fail(err as Error);
        return;
      }
      const rows = Math.max(lastRow, dataRecords + skippedAfter.length);
      rejected.sort((a, b) => a.index - b.index);
      opts.onProgress?.(rows, bytesRead());
      resolve({ rows, bytes: bytesRead(), accepted, rejected, duplicateIds, ignoredColumns: layout.ignored });
    });
    stream.pipe(bytes).pipe(parser);
  });
}
