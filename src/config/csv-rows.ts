// Rows of an operator's CSV file with their line numbers; a row that cannot be parsed becomes a
// ConfigError (with `code`) and the others are still read.

import { basename } from 'node:path';
import { parse as parseCsv, type CsvError } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { ConfigError } from '../errors/catalogue.js';

export interface CsvRow {
  readonly cells: string[];
  readonly line: number;
}

export function readCsvRows(csvText: string, file: string, code: string, opts: { relaxColumnCount?: boolean } = {}): { rows: CsvRow[]; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const rows: CsvRow[] = [];
  parseCsv(csvText, {
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_quotes: true,
    relax_column_count: opts.relaxColumnCount ?? false,
    skip_records_with_error: true,
    on_record: (record: string[], ctx) => {
      rows.push({ cells: record, line: ctx.lines });
      return null;
    },
    on_skip: (err: CsvError | undefined) => {
      const line = typeof err?.lines === 'number' ? err.lines : undefined;
      errors.push(new ConfigError(code, `the row cannot be parsed: ${err?.message ?? 'unknown CSV error'}`, file, line));
      return undefined;
    },
  });
  return { rows, errors };
}

/** Encodings `--encoding` accepts for CSV files (GBK/GB18030: Chinese business-analysis exports). */
export const CSV_ENCODINGS = ['utf8', 'gbk', 'gb18030'] as const;
export type CsvEncoding = (typeof CSV_ENCODINGS)[number];

export function isCsvEncoding(s: string): s is CsvEncoding {
  return (CSV_ENCODINGS as readonly string[]).includes(s);
}

/** What non-UTF-8 bytes most likely are: GB18030 when they decode to Chinese text cleanly. */
export function guessEncoding(bytes: Uint8Array): CsvEncoding | undefined {
  const text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'gb18030');
  return !text.includes('\uFFFD') && /[\u4e00-\u9fff]/.test(text) ? 'gb18030' : undefined;
}

/** The coded error for a file that is not valid UTF-8 and no --encoding was given. */
export function encodingError(file: string, bytes: Uint8Array, line?: number): ConfigError {
  const guess = guessEncoding(bytes);
  const hint = guess ? `looks like ${guess.toUpperCase()}; pass --encoding ${guess}` : 'pass --encoding gbk or gb18030, or save it as UTF-8';
  return new ConfigError('csv_encoding', `${basename(file)} is not UTF-8 (${hint})`, file, line);
}

/**
 * File bytes → text. Without an encoding the bytes must be UTF-8 (a BOM is fine); anything else
 * is refused with `csv_encoding`, never read garbled.
 */
export function decodeCsv(bytes: Uint8Array, file: string, encoding?: CsvEncoding): string {
  if (encoding && encoding !== 'utf8') return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), encoding).replace(/^\uFEFF/, '');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // The line of the first bad byte helps find it in an editor.
    let bad = 0;
    const dec = new TextDecoder('utf-8', { fatal: true });
    for (let lo = 0, hi = bytes.length; lo < hi; ) {
      const mid = (lo + hi) >> 1;
      try {
        dec.decode(bytes.subarray(0, mid));
        lo = mid + 1;
        bad = mid;
      } catch {
        hi = mid;
      }
    }
    const line = bytes.subarray(0, bad).filter((b) => b === 0x0a).length + 1;
    throw encodingError(file, bytes, line);
  }
}
