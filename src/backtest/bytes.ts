// The bytes of a samples CSV on their way to csv-parse in `lookout backtest` (both the
// single-threaded reader and each part read by a worker): decoded from GBK / GB18030 when
// `--encoding` says so, otherwise checked to be UTF-8 and passed on untouched. A file that is not
// UTF-8 is refused with `csv_encoding` (its first bad line, the likely encoding), as `lookout
// import` refuses it (src/ingest/csv.ts csvTextStream) — never replayed garbled.
//
// The UTF-8 check is on the Buffers, not on decoded text: csv-parse decodes only the fields, and
// decoding every chunk to a string first (csvTextStream's TextDecoder) would cost the replay a
// second pass over a file of millions of rows. `buffer.isUtf8` (simdutf) checks each chunk up to
// its last complete character; the cut character (at most 3 bytes) is checked with the start of
// the next chunk. Chunks go on as they came, uncopied. Line ends are counted (`indexOf` over the
// chunk) only so that the error can name the line.

import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import iconv from 'iconv-lite';
import { encodingError, firstInvalidUtf8, type CsvEncoding } from '../config/csv-rows.js';

const LF = 0x0a;
/** Bytes after the first bad byte given to the encoding guess. */
const GUESS_WINDOW = 4096;

/** Length of the UTF-8 sequence `lead` starts (0: not a lead byte). */
function sequenceLength(lead: number): number {
  return lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
}

/**
 * Where the complete characters of `chunk` (from `from`) end: before a lead byte at the end
 * whose sequence is cut by the chunk's end. An invalid byte there is left in (isUtf8 reports it).
 */
function completeEnd(chunk: Buffer, from: number): number {
  const end = chunk.length;
  for (let i = end - 1; i >= from && i >= end - 4; i--) {
    const b = chunk[i]!;
    if (b < 0x80) return end;
    if (b >= 0xc0) return sequenceLength(b) > end - i ? i : end;
    // a continuation byte: look further back
  }
  return end;
}

export interface SampleBytesOptions {
  /** The path named in the error. */
  readonly file: string;
  /** Bytes are in this encoding; without it (or utf8) bytes that are not UTF-8 are refused. */
  readonly encoding?: CsvEncoding;
  /** Lines of the file before the stream's line 1 (a part read by a worker, less its prepended header line). */
  readonly lineOffset?: number;
}

/** Text for csv-parse: GBK / GB18030 decoded, or UTF-8 checked (Buffers passed through). */
export function sampleBytes(opts: SampleBytesOptions): Transform {
  if (opts.encoding && opts.encoding !== 'utf8') return iconv.decodeStream(opts.encoding) as unknown as Transform;
  return new Utf8Check(opts.file, opts.lineOffset ?? 0);
}

/** Passes UTF-8 bytes through; the first byte that is not UTF-8 fails the stream with `csv_encoding`. */
export class Utf8Check extends Transform {
  /** Line ends before the current chunk. */
  private lines = 0;
  /** A character cut at the end of the last chunk (its first 1–3 bytes). */
  private carry: Buffer | undefined;
  /** Bytes of the last chunk after its last line end (the start of the bad line, for the guess). */
  private recent: Buffer = Buffer.alloc(0);

  constructor(
    private readonly file: string,
    private readonly lineOffset: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let from = 0;
    const carry = this.carry;
    if (carry) {
      // Complete the cut character with the first bytes of this chunk.
      const need = sequenceLength(carry[0]!) - carry.length;
      const joined = Buffer.concat([carry, chunk.subarray(0, need)]);
      from = joined.length - carry.length;
      if (joined.length < carry.length + need) {
        // Still cut (a tiny chunk): keep waiting unless it is already wrong.
        if (firstInvalidUtf8(joined, true) !== undefined) return done(this.invalid(chunk));
        this.carry = joined;
        this.remember(chunk);
        return done(null, chunk);
      }
      if (!isUtf8(joined)) return done(this.invalid(chunk));
      this.carry = undefined;
    }
    const end = completeEnd(chunk, from);
    if (!isUtf8(chunk.subarray(from, end))) return done(this.invalid(chunk));
    if (end < chunk.length) this.carry = Buffer.from(chunk.subarray(end));
    this.remember(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    // A character cut by the end of the file.
    if (this.carry) return done(this.invalid(Buffer.alloc(0)));
    done();
  }

  /** Count the chunk's line ends and keep the bytes after the last one. */
  private remember(chunk: Buffer): void {
    let last = -1;
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      this.lines++;
      last = i;
    }
    // The bytes of a line are kept only up to a guess window (a file without line ends).
    if (last >= 0) {
      this.recent = Buffer.from(chunk.subarray(last + 1));
      return;
    }
    let recent = Buffer.concat([this.recent, chunk]);
    if (recent.length > GUESS_WINDOW) {
      // Cut to the window at a character start.
      let at = recent.length - GUESS_WINDOW;
      while (at < recent.length && (recent[at]! & 0xc0) === 0x80) at++;
      recent = recent.subarray(at);
    }
    this.recent = recent;
  }

  /** The `csv_encoding` error for the first bad byte of `recent` + `chunk`. */
  private invalid(chunk: Buffer): Error {
    // `recent` starts at a line start (or a window of a long line): a character boundary in the
    // first case, so the first invalid byte found from there is the first one of the file.
    const window = Buffer.concat([this.recent, chunk]);
    const bad = firstInvalidUtf8(window, false) ?? window.length;
    let line = this.lineOffset + this.lines + 1;
    let lineStart = 0;
    for (let i = window.indexOf(LF); i >= 0 && i < bad; i = window.indexOf(LF, i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return encodingError(this.file, window.subarray(lineStart, bad + GUESS_WINDOW), line);
  }
}
