// Figures the benches read from Redis's INFO: memory in use and CPU spent.

import type { Redis } from 'ioredis';

function field(info: string, name: string): number {
  return Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
}

/** INFO memory used_memory (bytes). */
export async function usedMemory(redis: Redis): Promise<number> {
  return field(await redis.info('memory'), 'used_memory');
}

/** CPU seconds redis-server has used: the whole process (threads included) and its main thread. */
export interface RedisCpu {
  readonly total: number;
  readonly main: number;
}

/** INFO cpu: used_cpu_sys + used_cpu_user, and the same for the main thread (Redis ≥ 6.2). */
export async function redisCpu(redis: Redis): Promise<RedisCpu> {
  const info = await redis.info('cpu');
  return {
    total: field(info, 'used_cpu_sys') + field(info, 'used_cpu_user'),
    main: field(info, 'used_cpu_sys_main_thread') + field(info, 'used_cpu_user_main_thread'),
  };
}

/** Microseconds of Redis CPU per sample between two readings. */
export function cpuPerSample(before: RedisCpu, after: RedisCpu, samples: number): RedisCpu {
  return { total: ((after.total - before.total) * 1e6) / samples, main: ((after.main - before.main) * 1e6) / samples };
}
