// A worker process for the benchmark: `node dist/bench/worker.js REDIS_URL PREFIX NOW [LAYOUT [ENV_JSON]]`
// (ENV_JSON: more LOOKOUT_* settings, e.g. the bench's --concurrency).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/env.js';
import { ManualClock } from '../src/domain/clock.js';
import { startLookout } from '../src/main.js';
import { createLogger } from '../src/observability/logger.js';
import { startHeapSampling, stopHeapSampling } from './heap.js';
import { counts } from './judgements.js';
import { layoutEnv } from './shapes.js';

const [url, prefix, now, layout, more] = process.argv.slice(2) as [string, string, string, string | undefined, string | undefined];
const config = loadConfig({
  REDIS_URL: url,
  LOOKOUT_PREFIX: prefix,
  LOOKOUT_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'lookout-bench-w-')),
  LOG_LEVEL: 'silent',
  // Its own metrics port: several worker processes run side by side (--workers=N).
  LOOKOUT_HTTP_PORT: '0',
  LOOKOUT_TZ: 'Asia/Shanghai',
  ...(layout ? layoutEnv(layout) : {}),
  ...(more ? (JSON.parse(more) as Record<string, string>) : {}),
});
const lookout = await startLookout({ config, roles: ['worker'], logger: createLogger({ level: 'silent' }), clock: new ManualClock(Number(now)), noNotifier: true });
process.send?.('ready');
// A bench that died must not leave its workers behind.
process.on('disconnect', () => process.exit(0));
process.on('message', async (m) => {
  // The bench's "judged per entity" and "stalled" sum every process's counts.
  if (m === 'counts') process.send?.({ counts: await counts(lookout) });
  // The bench's --heap: what this process allocates while the stopwatch runs (bench/heap.ts).
  if (m === 'heap-start') {
    await startHeapSampling();
    process.send?.({ heap: null });
  }
  if (m === 'heap-stop') process.send?.({ heap: await stopHeapSampling() });
  if (m === 'stop') {
    await lookout.stop();
    process.exit(0);
  }
});
