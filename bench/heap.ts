// What a process allocates while a bench's stopwatch runs, by the function that allocated it
// (`node dist/bench/run.js --heap`): V8's sampling heap profiler, with the objects the collector
// has already taken back counted too, so it tells where the garbage is made, not only what is
// kept. Its figures are samples (one every 16 KB allocated), not a tally of every object.
// Not a test: it prints figures. See bench/README.md "Where the garbage is made".

import type { ChildProcess } from 'node:child_process';
import { Session } from 'node:inspector';

/** The profile's call tree, as HeapProfiler.getSamplingProfile gives it. */
interface HeapNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

/** One process's allocation in the window: bytes in all, and the functions that allocated most. */
export interface HeapReport {
  readonly bytes: number;
  readonly top: readonly { readonly site: string; readonly bytes: number }[];
}

const SAMPLING_INTERVAL = 16_384;
const TOP = 15;

/** The inspector session sampling this process, while it samples. */
let session: Session | undefined;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

/** Start sampling this process's allocations (those already collected included). */
export async function startHeapSampling(): Promise<void> {
  if (session) return;
  session = new Session();
  session.connect();
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: SAMPLING_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}

/**
 * Stop sampling and sum the profile by the allocating function (name, file and line, the dist/ or
 * node_modules/ path cut); null when this process was not sampling (a worker forked after the
 * clock started, on --backlog).
 */
export async function stopHeapSampling(): Promise<HeapReport | null> {
  if (!session) return null;
  const { profile } = await post<{ profile: { head: HeapNode } }>('HeapProfiler.getSamplingProfile');
  await post('HeapProfiler.stopSampling');
  session.disconnect();
  session = undefined;
  const bySite = new Map<string, number>();
  let bytes = 0;
  const walk = (n: HeapNode): void => {
    const site = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '')}:${n.callFrame.lineNumber + 1}`;
    bytes += n.selfSize;
    if (n.selfSize > 0) bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const top = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([site, b]) => ({ site, bytes: b }));
  return { bytes, top };
}

/** Ask a bench worker process (bench/worker.ts) to start or stop sampling; a stop answers with its report. */
export function childHeap(child: ChildProcess, what: 'heap-start'): Promise<void>;
export function childHeap(child: ChildProcess, what: 'heap-stop'): Promise<HeapReport | null>;
export function childHeap(child: ChildProcess, what: 'heap-start' | 'heap-stop'): Promise<void | HeapReport | null> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && 'heap' in m) {
        child.off('message', onMessage);
        const heap = (m as { heap: HeapReport | null }).heap;
        resolve(what === 'heap-start' ? undefined : heap);
      }
    };
    child.on('message', onMessage);
    child.send(what);
  });
}

/** The reports as printed (the bench's process first): per process, MB and bytes a sample, then its top sites; a process not sampled says so. */
export function formatHeap(reports: readonly (HeapReport | null)[], samples: number): string {
  const lines: string[] = [];
  reports.forEach((r, i) => {
    if (!r) {
      lines.push(`  process ${i + 1}: not sampled (started after the clock)`);
      return;
    }
    lines.push(`  allocated in the window, process ${i + 1}${i === 0 ? ' (also the door)' : ''}: ${(r.bytes / 1e6).toFixed(0)} MB, ${(r.bytes / samples).toFixed(0)} B a sample of the run (sampled every ${SAMPLING_INTERVAL / 1024} KB)`);
    for (const t of r.top) lines.push(`    ${(t.bytes / 1e6).toFixed(1).padStart(7)} MB  ${((100 * t.bytes) / r.bytes).toFixed(1).padStart(4)} %  ${t.site}`);
  });
  return lines.join('\n');
}
