// Worker thread of `lookout backtest`: judge one shard of the entities (replay.ts) and post the
// result. The buckets are SharedArrayBuffers, so the shard reads them without a copy.

import { parentPort, workerData } from 'node:worker_threads';
import { judge, type JudgeInput } from './replay.js';

const port = parentPort;
if (!port) throw new Error('judge-worker.js runs as a worker thread');
const out = judge(workerData as JudgeInput, (done) => port.postMessage({ progress: done }));
port.postMessage({ done: out });
