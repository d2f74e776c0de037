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
  // A character cut at the end of a chunk is not evidence against GB18030.
  const text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'gb18030').replace(/\uFFFD+$/, '');
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
    const bad = firstInvalidUtf8(bytes) ?? bytes.length;
    const line = bytes.subarray(0, bad).filter((b) => b === 0x0a).length + 1;
    throw encodingError(file, bytes, line);
  }
}

/**
 * Index of the first byte that does not start a valid UTF-8 sequence; a sequence cut at the end
 * counts as valid only when `partialEnd` (more bytes follow in a stream).
 */
export function firstInvalidUtf8(bytes: Uint8Array, partialEnd = false): number | undefined {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0) return i;
    for (let k = 1; k < n; k++) {
      if (i + k >= bytes.length) return partialEnd ? undefined : i;
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      // Overlong forms, surrogates and code points past U+10FFFF (as TextDecoder and isUtf8 refuse them).
      if (k === 1 && ((b === 0xe0 && c < 0xa0) || (b === 0xed && c > 0x9f) || (b === 0xf0 && c < 0x90) || (b === 0xf4 && c > 0x8f))) return i;
    }
    i += n;
  }
  return undefined;
}
