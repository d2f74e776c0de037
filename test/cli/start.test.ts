// `lookout start --role all` from outside: a real process, real HTTP, SIGTERM.
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { startEmbeddedRedis } from '../../src/redis/embedded.js';
import { collect, ensureBuilt, freePort, PINNED_NOW, PINNED_NOW_MS, ROOT, spawnCli } from '../support/cli.js';
import { metricValue, waitFor, type AlertsBody, type IngestBody, type ReadyBody } from '../support/lookout.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from '../support/redis.js';

beforeAll(ensureBuilt, 180_000);

describe('lookout start', () => {
  let child: ChildProcess | undefined;
  let prefix: string;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const r = connect();
    await dropPrefix(r, prefix);
    r.disconnect();
  });

  it('serves health, readiness, ingest and metrics, judges samples, and exits 0 on SIGTERM', async () => {
    prefix = freshPrefix('lk-start');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawnCli(['start', '--role', 'all'], {
      env: {
        REDIS_URL: testRedisUrl(),
        LOOKOUT_PREFIX: prefix,
        LOOKOUT_HTTP_PORT: String(port),
        LOOKOUT_HTTP_HOST: '127.0.0.1',
        LOOKOUT_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'lookout-cfg-')),
        LOOKOUT_DATA_DIR: mkdtempSync(join(tmpdir(), 'lookout-data-')),
        LOOKOUT_EVAL_DEBOUNCE_MS: '0',
        LOOKOUT_NOW: PINNED_NOW,
        LOG_LEVEL: 'info',
      },
    });
    const exited = collect(child, 30_000);
    const json = async <T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${base}${path}`, init);
      return { status: res.status, body: (await res.json()) as T };
    };

    await waitFor('/healthz', async () => {
      if (child!.exitCode !== null) throw new Error(`lookout exited early: ${JSON.stringify(await exited)}`);
      return fetch(`${base}/healthz`).then((r) => r.status === 200, () => false);
    });
    expect(await json('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await json<ReadyBody>('/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { redis: true, rules: true } } });

    // A dealer at 100 a day for four weeks, and 40 yesterday (the daemon's clock is pinned by LOOKOUT_NOW).
    const calendar = new Calendar('Asia/Shanghai');
    const yesterday = calendar.dayOf(PINNED_NOW_MS) - 1;
    const samples = Array.from({ length: 29 }, (_, k) => {
      const day = Calendar.isoDay(yesterday - 28 + k);
      return { metric: 'card_opening', entity: 'D0001', value: k === 28 ? 40 : 100, ts: `${day}T12:00:00+08:00`, id: `D0001/card_opening/${day}` };
    });
    const entity = { id: 'D0001', kind: 'core_dealer', name: '新乡红旗区核心渠道', region: 'R-east', district: 'X-hongqi', manager: 'C001', attrs: { monthly_fee: 120 } };
    const headers = { 'content-type': 'application/json' };
    expect((await fetch(`${base}/api/v1/entities`, { method: 'PUT', headers, body: JSON.stringify([entity]) })).status).toBe(200);
    const posted = await json<IngestBody>('/api/v1/samples', { method: 'POST', headers, body: JSON.stringify([...samples, { metric: 'nope', entity: 'D0001', value: 1 }]) });
    expect(posted).toEqual({ status: 202, body: { accepted: 29, rejected: [expect.objectContaining({ index: 29, code: 'unknown_metric' })], rejected_total: 1, rejected_by_code: { unknown_metric: 1 } } });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metricValue(metrics, 'lookout_samples_accepted_total', { source: 'http' })).toBe(29);
    expect(metricValue(metrics, 'lookout_samples_rejected_total', { source: 'http', code: 'unknown_metric' })).toBe(1);

    const firing = await waitFor('the alert to fire', async () => {
      const alerts = (await json<AlertsBody>('/api/v1/alerts?entity=D0001&state=firing')).body.alerts;
      return alerts.length ? alerts : undefined;
    });
    expect(firing.map((a) => [a.rule, a.severity, a.value, a.baseline])).toEqual([['core_dealer_card_opening_drop', 'critical', 40, 100]]);

    const stopAt = performance.now();
    child.kill('SIGTERM');
    const result = await exited;
    expect({ code: result.code, signal: result.signal }, result.stderr).toEqual({ code: 0, signal: null });
    expect(performance.now() - stopAt).toBeLessThan(5_000);
    // The console's address is printed at start (LOOKOUT_PUBLIC_URL's default: localhost and the port).
    expect(result.stdout).toContain(`"console":"http://localhost:${port}/"`);
  });

  it('a worker-only process serves /metrics, reloads on SIGHUP, and exits within the bound when Redis is gone', async () => {
    prefix = freshPrefix('lk-worker');
    const redis = await startEmbeddedRedis(mkdtempSync(join(tmpdir(), 'lookout-redis-')));
    const rulesDir = mkdtempSync(join(tmpdir(), 'lookout-rules-'));
    cpSync(join(ROOT, 'rules'), rulesDir, { recursive: true });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    try {
      child = spawnCli(['start', '--role', 'worker'], {
        env: {
          REDIS_URL: redis.url,
          LOOKOUT_PREFIX: prefix,
          LOOKOUT_HTTP_PORT: String(port),
          LOOKOUT_HTTP_HOST: '127.0.0.1',
          LOOKOUT_RULES_DIR: rulesDir,
          LOOKOUT_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'lookout-cfg-')),
          LOOKOUT_DATA_DIR: mkdtempSync(join(tmpdir(), 'lookout-data-')),
          LOOKOUT_SHUTDOWN_TIMEOUT_MS: '2000',
        },
      });
      const exited = collect(child, 30_000);
      await waitFor('/healthz', async () => fetch(`${base}/healthz`).then((r) => r.status === 200, () => false));
      const rulesLoaded = async () => metricValue(await (await fetch(`${base}/metrics`)).text(), 'lookout_rules_loaded');
      // The shipped rules (their number grows as rule files are added), then one more after the reload.
      const shipped = (await rulesLoaded())!;
      expect(shipped).toBeGreaterThanOrEqual(6);
      expect((await fetch(`${base}/api/v1/alerts`)).status).toBe(404); // no API in a worker-only process

      writeFileSync(
        join(rulesDir, 'extra.yaml'),
        'rules:\n  - id: extra_absent\n    name: 额外\n    kind: absence\n    metric: basic_business\n    scope: {kind: own_hall}\n    days: 3\n    severity: warning\n',
      );
      child.kill('SIGHUP');
      await waitFor('the reload', async () => (await rulesLoaded()) === shipped + 1);

      await redis.stop();
      const stopAt = performance.now();
      child.kill('SIGTERM');
      const result = await exited;
      expect(result.signal).toBeNull();
      expect([0, 1]).toContain(result.code);
      expect(performance.now() - stopAt).toBeLessThan(6_000);
    } finally {
      await redis.stop();
    }
  });
});
