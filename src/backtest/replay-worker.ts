// Worker thread of `lookout backtest`: replay one shard of the entities (replay.ts) and post the
// result. The buckets are SharedArrayBuffers, so the shard reads them without a copy.

import { parentPort, workerData } from 'node:worker_threads';
import { replay, type ReplayInput } from './replay.js';

const port = parentPort;
if (!port) throw new Error('replay-worker.js runs as a worker thread');
const out = replay(workerData as ReplayInput, (done) => port.postMessage({ progress: done }));
port.postMessage({ done: out });
