import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type AppConfig } from '../../src/config/env.js';
import type { AlertEvent } from '../../src/domain/alert.js';
import { ManualClock } from '../../src/domain/clock.js';
import { startLookout, type Lookout, type Role } from '../../src/main.js';
import { createLogger } from '../../src/observability/logger.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from './redis.js';

export interface TestLookout extends Lookout {
  readonly transitions: AlertEvent[];
  readonly manualClock: ManualClock;
  /** POST JSON to the API. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  put(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  cleanup(): Promise<void>;
}

export async function startTestLookout(opts: {
  now: string;
  env?: Record<string, string>;
  roles?: Role[];
} = { now: '2026-11-22T09:00:00+08:00' }): Promise<TestLookout> {
  const prefix = freshPrefix('lk');
  const env = {
    REDIS_URL: testRedisUrl(),
    LOOKOUT_PREFIX: prefix,
    LOOKOUT_HTTP_PORT: '0',
    LOOKOUT_HTTP_HOST: '127.0.0.1',
    LOOKOUT_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'lookout-cfg-')),
    LOOKOUT_DATA_DIR: mkdtempSync(join(tmpdir(), 'lookout-data-')),
    LOG_LEVEL: 'silent',
    LOOKOUT_EVAL_DEBOUNCE_MS: '0',
    ...opts.env,
  };
  const config: AppConfig = loadConfig(env);
  const clock = new ManualClock(Date.parse(opts.now));
  const transitions: AlertEvent[] = [];
  const lookout = await startLookout({
    config,
    roles: opts.roles ?? ['api', 'worker', 'scheduler'],
    logger: createLogger({ level: 'silent' }),
    clock,
    onTransition: (e) => transitions.push(e),
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${lookout.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.status, body: parsed as any };
  };
  return Object.assign(lookout, {
    transitions,
    manualClock: clock,
    post: (p: string, b: unknown, h?: Record<string, string>) => call('POST', p, b, h),
    put: (p: string, b: unknown, h?: Record<string, string>) => call('PUT', p, b, h),
    get: (p: string, h?: Record<string, string>) => call('GET', p, undefined, h),
    async cleanup() {
      await lookout.stop();
      const r = connect();
      await dropPrefix(r, prefix);
      r.disconnect();
    },
  });
}

/** Days (ISO) from `start`, `n` of them. */
export function isoDays(start: string, n: number): string[] {
  const out: string[] = [];
  const t0 = Date.parse(`${start}T00:00:00Z`);
  for (let i = 0; i < n; i++) out.push(new Date(t0 + i * 86_400_000).toISOString().slice(0, 10));
  return out;
}
