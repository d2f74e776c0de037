// Figures the benches read from Redis's INFO: memory in use and CPU spent.

import type { Redis } from 'ioredis';

function field(info: string, name: string): number {
  return Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
}

/** INFO memory used_memory (bytes). */
export async function usedMemory(redis: Redis): Promise<number> {
  return field(await redis.info('memory'), 'used_memory');
}

/**
 * CPU seconds redis-server has used: the whole process (threads included), its main thread, and its
 * forked children (AOF rewrites, RDB saves), which INFO counts apart and which share the cores too.
 */
export interface RedisCpu {
  readonly total: number;
  readonly main: number;
  readonly children: number;
}

/** INFO cpu: used_cpu_sys + used_cpu_user, the same for the main thread (Redis ≥ 6.2) and for the children. */
export async function redisCpu(redis: Redis): Promise<RedisCpu> {
  const info = await redis.info('cpu');
  return {
    total: field(info, 'used_cpu_sys') + field(info, 'used_cpu_user'),
    main: field(info, 'used_cpu_sys_main_thread') + field(info, 'used_cpu_user_main_thread'),
    children: field(info, 'used_cpu_sys_children') + field(info, 'used_cpu_user_children'),
  };
}

/** Microseconds of Redis CPU per sample between two readings. */
export function cpuPerSample(before: RedisCpu, after: RedisCpu, samples: number): RedisCpu {
  const per = (a: number, b: number) => ((b - a) * 1e6) / samples;
  return { total: per(before.total, after.total), main: per(before.main, after.main), children: per(before.children, after.children) };
}

/**
 * INFO commandstats summed over the nodes, the commands that took the most time first: per command,
 * calls and µs per sample (`--stats` of bench/run.ts; reset with CONFIG RESETSTAT before the run).
 */
export async function commandStats(nodes: readonly Redis[], samples: number, top = 12): Promise<string> {
  const by = new Map<string, { calls: number; usec: number }>();
  for (const info of await Promise.all(nodes.map((r) => r.info('commandstats')))) {
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      const s = by.get(m[1]!) ?? { calls: 0, usec: 0 };
      s.calls += Number(m[2]);
      s.usec += Number(m[3]);
      by.set(m[1]!, s);
    }
  }
  const rows = [...by].sort((a, b) => b[1].usec - a[1].usec).slice(0, top);
  return rows.map(([name, s]) => `  ${name.padEnd(24)} ${String(s.calls).padStart(10)} calls  ${(s.usec / samples).toFixed(2).padStart(7)} µs/sample`).join('\n');
}
