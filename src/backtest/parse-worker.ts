// Worker thread of `lookout backtest`: read one part of a samples CSV (a range of whole lines,
// the header prepended) with the same reader and validation as the single-threaded path, and
// post the accepted samples as encoded chunks (encode.ts) for the main thread to apply in order.

import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { Calendar } from '../domain/clock.js';
import type { CsvEncoding } from '../config/csv-rows.js';
import type { MetricDef } from '../domain/metric.js';
import { ConfigError } from '../errors/catalogue.js';
import { ChunkEncoder, chunkBuffers } from './encode.js';
import { readSamples } from './reader.js';

/** How a part of the samples file is read and validated (the same for every part). */
export interface SampleReadSettings {
  readonly file: string;
  /** --encoding: GBK / GB18030 decoded; otherwise bytes that are not UTF-8 are refused. */
  readonly encoding?: CsvEncoding;
  readonly metrics: readonly MetricDef[];
  readonly timeZone: string;
  readonly now: number;
  readonly retentionDays: number;
  readonly maxFutureMs: number;
  readonly batchSize: number;
}

export interface ParsePartInput extends SampleReadSettings {
  /** Byte range [start, end) of whole lines; the header line is prepended unless start is 0. */
  readonly start: number;
  readonly end: number;
  readonly header: Uint8Array;
  readonly csvLineOffset: number;
  readonly chunkSize: number;
}

const port = parentPort;
if (!port) throw new Error('parse-worker.js runs as a worker thread');
const input = workerData as ParsePartInput;
const calendar = new Calendar(input.timeZone);
const catalogue = new Map(input.metrics.map((m) => [m.name, m]));
const metricIndex = new Map(input.metrics.map((m, i) => [m.name, i]));
const encoder = new ChunkEncoder(calendar, metricIndex, input.chunkSize, (chunk) => port.postMessage({ chunk }, chunkBuffers(chunk)));

async function* source(): AsyncGenerator<Uint8Array> {
  if (input.start > 0) yield input.header;
  if (input.end > input.start) yield* createReadStream(input.file, { start: input.start, end: input.end - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>;
}

readSamples(Readable.from(source(), { objectMode: false }), {
  batchSize: input.batchSize,
  file: input.file,
  csvLineOffset: input.csvLineOffset,
  encoding: input.encoding,
  validate: { metrics: catalogue, now: input.now, retentionDays: input.retentionDays, maxFutureMs: input.maxFutureMs, calendar },
  onSamples: (samples) => {
    for (const s of samples) encoder.add(s);
  },
  onProgress: (_rows, bytes) => port.postMessage({ bytes }),
}).then(
  (result) => {
    encoder.flush();
    port.postMessage({ done: result });
  },
  (err: unknown) => {
    const e = err as Error;
    port.postMessage({
      error: e instanceof ConfigError ? { code: e.code, message: e.message, file: e.file, line: e.line, field: e.field } : { message: e.stack ?? e.message },
    });
  },
);
