import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type AppConfig } from '../../src/config/env.js';
import type { AlertEvent, AlertRecord } from '../../src/domain/alert.js';
import { ManualClock, ManualCrons } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import type { SampleRejection } from '../../src/domain/sample.js';
import { startLookout, type Lookout, type RoleName } from '../../src/main.js';
import { waitIdle } from '../../src/roles/idle.js';
import type { PolicySet } from '../../src/route/types.js';
import type { Logger } from 'pino';
import { createLogger } from '../../src/observability/logger.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from './redis.js';

/** A response of the API; `T` is the body shape the caller expects (JSON, or text when not JSON). */
export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

/** Bodies of the endpoints the tests read (docs/api.md). */
export interface IngestBody {
  readonly accepted: number;
  readonly rejected: SampleRejection[];
}
export interface AlertsBody {
  readonly alerts: AlertRecord[];
}
export interface AlertBody {
  readonly alert: AlertRecord;
}
export interface EntityBody {
  readonly entity: Entity;
}
export interface UnknownEntitiesBody {
  readonly unknown: { id: string; samples: number }[];
}
export interface ErrorJson {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown[] };
}
export interface ReadyBody {
  readonly status: string;
  readonly checks: Record<string, boolean | string>;
}

export interface TestLookout extends Lookout {
  readonly prefix: string;
  readonly transitions: AlertEvent[];
  readonly manualClock: ManualClock;
  /** The scheduler's crons: they never tick by themselves here; `crons.run(name)` is one tick. */
  readonly crons: ManualCrons;
  /** Wait until samples are applied, dirty entities judged and events relayed and consumed. */
  idle(timeoutMs?: number): Promise<void>;
  /** POST JSON (or a raw string body) to the API. */
  post<T = unknown>(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  get<T = unknown>(path: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  put<T = unknown>(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** Alerts of one entity (any state), straight from the store. */
  alertsOf(entity: string): Promise<AlertRecord[]>;
  /** One entity's stored daily values of one metric: local day index → value (empty when none). */
  daily(entity: string, metric: string): Promise<Map<number, number>>;
  /** Stop; drop the prefix's keys unless `keepKeys` was given (another instance still uses them). */
  cleanup(): Promise<void>;
}

export interface TestLookoutOptions {
  /** The ManualClock's start (default 2026-11-22T09:00:00+08:00). */
  readonly now?: string;
  readonly env?: Record<string, string>;
  /** Default: all three roles. */
  readonly roles?: RoleName[];
  /** Join an existing deployment (several instances on one Redis prefix). Default: a fresh prefix. */
  readonly prefix?: string;
  /** cleanup() stops this instance but leaves the keys (the last instance drops them). */
  readonly keepKeys?: boolean;
  /** Notification policies (default: rules/policies.yaml of the rules dir, or the shipped defaults). */
  readonly policies?: PolicySet;
  /** Start on this clock (several instances sharing one deployment). */
  readonly clock?: ManualClock;
  /** Reload when the rules/config/templates folders change (as `lookout start` does). */
  readonly watch?: boolean;
  /** Default: a silent logger. */
  readonly logger?: Logger;
}

export const DEFAULT_NOW = '2026-11-22T09:00:00+08:00';

/** The environment a test Lookout runs with: the test Redis, a prefix, temp dirs, no debounce. */
export function testEnv(prefix: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: testRedisUrl(),
    LOOKOUT_PREFIX: prefix,
    LOOKOUT_HTTP_PORT: '0',
    LOOKOUT_HTTP_HOST: '127.0.0.1',
    LOOKOUT_CONFIG_DIR: env.LOOKOUT_CONFIG_DIR ?? mkdtempSync(join(tmpdir(), 'lookout-cfg-')),
    LOOKOUT_DATA_DIR: env.LOOKOUT_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'lookout-data-')),
    LOG_LEVEL: 'silent',
    LOOKOUT_EVAL_DEBOUNCE_MS: '0',
    // The series layout under test (a file may run its cases under both: describe.each(SERIES_LAYOUTS)).
    ...(process.env.LOOKOUT_TEST_SERIES_LAYOUT ? { LOOKOUT_SERIES_LAYOUT: process.env.LOOKOUT_TEST_SERIES_LAYOUT } : {}),
    ...env,
  };
}

export async function startTestLookout(opts: TestLookoutOptions = {}): Promise<TestLookout> {
  const prefix = opts.prefix ?? freshPrefix('lk');
  const env = testEnv(prefix, opts.env);
  const config: AppConfig = loadConfig(env);
  const clock = opts.clock ?? new ManualClock(Date.parse(opts.now ?? DEFAULT_NOW));
  const transitions: AlertEvent[] = [];
  const crons = new ManualCrons();
  const lookout = await startLookout({
    config,
    roles: opts.roles ?? ['api', 'worker', 'scheduler'],
    logger: opts.logger ?? createLogger({ level: 'silent' }),
    clock,
    crons,
    policies: opts.policies,
    watch: opts.watch,
    onTransition: (e) => transitions.push(e),
  });
  const call = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> => {
    if (!lookout.url) throw new Error('this test Lookout has no api role');
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
      // keep text (e.g. /metrics)
    }
    // The caller names the shape it expects; assertions on the body check it.
    return { status: res.status, body: parsed as T };
  };
  return Object.assign(lookout, {
    // Shorter than the test timeout, so a stuck pipeline fails with what is stuck.
    idle: (timeoutMs = 10_000) => waitIdle(lookout, timeoutMs),
    prefix,
    transitions,
    manualClock: clock,
    crons,
    post: <T>(p: string, b: unknown, h?: Record<string, string>) => call<T>('POST', p, b, h),
    put: <T>(p: string, b: unknown, h?: Record<string, string>) => call<T>('PUT', p, b, h),
    get: <T>(p: string, h?: Record<string, string>) => call<T>('GET', p, undefined, h),
    alertsOf: (entity: string) => lookout.alerts.list({ entity }),
    daily: async (entity: string, metric: string) => new Map((await lookout.series.readDaily(entity, [metric])).get(metric) ?? []),
    async cleanup() {
      await lookout.stop();
      // The temp dirs this helper made (not those the caller passed).
      for (const name of ['LOOKOUT_CONFIG_DIR', 'LOOKOUT_DATA_DIR']) if (!opts.env?.[name]) rmSync(env[name]!, { recursive: true, force: true });
      if (opts.keepKeys) return;
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

/** One sample per day at local noon, with the export's idempotency id `<entity>/<metric>/<day>`. */
export function dailySamples(entity: string, metric: string, days: readonly string[], value: (day: string, i: number) => number) {
  return days.map((d, i) => ({ metric, entity, value: value(d, i), ts: `${d}T12:00:00+08:00`, id: `${entity}/${metric}/${d}` }));
}

/** Poll `check` until it returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The sum of the samples of `name` whose labels include `labels`, from Prometheus text exposition
 * (all label combinations when none are given); undefined when no sample matches.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = new Map<string, string>();
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got.set(k!, v!);
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}
