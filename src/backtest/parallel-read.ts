// Read a large samples CSV on several threads. csv-parse is most of the cost of a backtest, and a
// file without any quote character can be cut at line ends: every line is then one row, parsed
// the same way wherever it starts. Each part (whole lines, the header line prepended) is read and
// validated by a worker (parse-worker.ts) exactly as the single-threaded reader does, and the
// main thread applies the parts' samples in file order — so a repeated id in a later part
// replaces the earlier sample as it would in one pass. Row numbers of bad rows are made global
// (the rows of the parts before are added), and csv-parse's line numbers in their messages too.
//
// A file with a quote character (a quoted field may hold a line break) is read in one pass.
//
// GBK / GB18030 files (--encoding) are cut the same way: their multi-byte characters never hold
// 0x0A or 0x22 (GBK trail bytes are 0x40–0xFE, GB18030's four-byte forms have 0x30–0x39 in the
// second and fourth byte), so a 0x0A byte is always a line end and a cut never splits a
// character; each part is decoded on its own. Without --encoding each part checks its bytes are
// UTF-8 (bytes.ts); when several parts fail, the error of the first one in the file is reported,
// so `csv_encoding` names the file's first bad line.

import { closeSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { SampleRejection } from '../domain/sample.js';
import { ConfigError } from '../errors/catalogue.js';
import type { EncodedChunk } from './encode.js';
import type { ParsePartInput, SampleReadSettings } from './parse-worker.js';
import type { ReadSamplesResult } from './reader.js';

const WORKER = new URL('./parse-worker.js', import.meta.url);
const SCAN = 4 << 20;
const QUOTE = 0x22;
const LF = 0x0a;

export interface FilePart {
  readonly start: number;
  readonly end: number;
  /** Lines before `start`. */
  readonly lineOffset: number;
}

export interface SplitPlan {
  readonly parts: readonly FilePart[];
  /** The header line with its line ending (prepended to every part but the first). */
  readonly header: Uint8Array;
}

/**
 * Cut a file into `n` parts at line ends; undefined when it cannot be cut safely (a quote
 * character anywhere, a header that is not the first line, no line ends where a cut falls).
 */
export function planSplit(file: string, size: number, n: number): SplitPlan | undefined {
  if (n < 2 || size === 0) return undefined;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(SCAN);
    const targets = Array.from({ length: n - 1 }, (_, i) => Math.floor(((i + 1) * size) / n));
    const cuts: FilePart[] = [];
    let header: Uint8Array | undefined;
    let lines = 0;
    let pos = 0;
    let next = 0; // index into targets
    let start = 0;
    let startLines = 0;
    while (pos < size) {
      const got = readSync(fd, buf, 0, Math.min(SCAN, size - pos), pos);
      if (got <= 0) break;
      const view = buf.subarray(0, got);
      if (view.indexOf(QUOTE) >= 0) return undefined;
      let at = view.indexOf(LF);
      if (header === undefined) {
        if (at < 0) return undefined;
        header = Uint8Array.from(view.subarray(0, at + 1));
        // The header must be the first line: no blank line before it (csv-parse would skip it).
        const text = Buffer.from(header).toString('utf8').replace(/^\uFEFF/, '').trim();
        if (text === '') return undefined;
      }
      while (at >= 0) {
        lines++;
        const lineEnd = pos + at + 1;
        if (next < targets.length && lineEnd >= targets[next]! && lineEnd < size) {
          cuts.push({ start, end: lineEnd, lineOffset: startLines });
          start = lineEnd;
          startLines = lines;
          next++;
        }
        at = view.indexOf(LF, at + 1);
      }
      pos += got;
    }
    if (!header || next < targets.length) return undefined;
    cuts.push({ start, end: size, lineOffset: startLines });
    return { parts: cuts, header };
  } finally {
    closeSync(fd);
  }
}

export interface ParallelReadOptions extends SampleReadSettings {
  readonly plan: SplitPlan;
  /** Apply one sample (entity name resolved by `intern`); called in file order. */
  readonly intern: (entity: string) => number;
  readonly apply: (e: number, m: number, hour: number, milli: number, hasId: boolean, a: number, b: number) => void;
  readonly onProgress?: (bytes: number) => void;
}

interface PartState {
  readonly chunks: EncodedChunk[];
  readonly toGlobal: number[];
  result?: ReadSamplesResult;
  bytes: number;
}

/** Read the parts on worker threads and apply their samples in file order. */
export function readParallel(opts: ParallelReadOptions): Promise<ReadSamplesResult> {
  const parts: PartState[] = opts.plan.parts.map(() => ({ chunks: [], toGlobal: [], bytes: 0 }));
  let current = 0; // the part being applied; later parts queue their chunks
  const workers: Worker[] = [];

  const applyChunk = (p: PartState, c: EncodedChunk): void => {
    for (const name of c.newEntities) p.toGlobal.push(opts.intern(name));
    const { toGlobal } = p;
    for (let i = 0; i < c.length; i++) {
      opts.apply(toGlobal[c.entity[i]!]!, c.metric[i]!, c.hour[i]!, c.milli[i]!, c.hasId[i] === 1, c.idA[i]!, c.idB[i]!);
    }
  };

  return new Promise<ReadSamplesResult>((resolve, reject) => {
    let failed = false;
    // A part's error waits for the parts before it: one of them may fail first in the file.
    const errors: (Error | undefined)[] = [];
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(err);
    };
    const advance = (): void => {
      while (current < parts.length && parts[current]!.result) {
        current++;
        const next = parts[current];
        if (next) {
          for (const c of next.chunks.splice(0)) applyChunk(next, c);
        }
      }
      if (current === parts.length) finish();
      else if (errors[current]) fail(errors[current]!);
    };
    const finish = (): void => {
      let rowOffset = 0;
      let rows = 0;
      let bytes = 0;
      let accepted = 0;
      let duplicateIds = 0;
      const rejected: SampleRejection[] = [];
      for (const p of parts) {
        const r = p.result!;
        for (const x of r.rejected) rejected.push({ ...x, index: x.index + rowOffset });
        rowOffset += r.rows;
        rows += r.rows;
        bytes += r.bytes;
        accepted += r.accepted;
        duplicateIds += r.duplicateIds;
      }
      // Every part but the first re-reads the header.
      bytes -= opts.plan.header.length * (parts.length - 1);
      rejected.sort((a, b) => a.index - b.index);
      resolve({ rows, bytes, accepted, rejected, duplicateIds, ignoredColumns: parts[0]!.result!.ignoredColumns });
    };

    opts.plan.parts.forEach((part, i) => {
      const input: ParsePartInput = {
        file: opts.file,
        start: part.start,
        end: part.end,
        header: opts.plan.header,
        // Line numbers of the part count the prepended header line as its line 1.
        csvLineOffset: i === 0 ? 0 : part.lineOffset - 1,
        encoding: opts.encoding,
        metrics: opts.metrics,
        timeZone: opts.timeZone,
        now: opts.now,
        retentionDays: opts.retentionDays,
        maxFutureMs: opts.maxFutureMs,
        batchSize: opts.batchSize,
        chunkSize: 16_384,
      };
      const w = new Worker(WORKER, { workerData: input });
      workers.push(w);
      const state = parts[i]!;
      w.on('message', (msg: { chunk?: EncodedChunk; bytes?: number; done?: ReadSamplesResult; error?: { code?: string; message: string; file?: string; line?: number; field?: string } }) => {
        if (failed) return;
        try {
          if (msg.chunk) {
            if (i === current) applyChunk(state, msg.chunk);
            else state.chunks.push(msg.chunk);
          } else if (msg.bytes !== undefined) {
            state.bytes = msg.bytes;
            opts.onProgress?.(parts.reduce((a, p) => a + p.bytes, 0));
          } else if (msg.done) {
            state.result = msg.done;
            state.bytes = part.end - part.start;
            opts.onProgress?.(parts.reduce((a, p) => a + p.bytes, 0));
            void w.terminate();
            advance();
          } else if (msg.error) {
            const e = msg.error;
            errors[i] = e.code ? new ConfigError(e.code, e.message, e.file, e.line, e.field) : new Error(e.message);
            // The parts after this one no longer matter.
            for (const later of workers.slice(i + 1)) void later.terminate();
            advance();
          }
        } catch (err) {
          fail(err as Error);
        }
      });
      w.once('error', (err) => fail(err));
    });
  });
}

/** True when the parse worker can run (compiled next to this module). */
export function parseWorkerUrl(): URL {
  return WORKER;
}
