// Rows of an operator's CSV file with their line numbers; a row that cannot be parsed becomes a
// ConfigError (with `code`) and the others are still read.

import { parse as parseCsv, type CsvError } from 'csv-parse/sync';
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
