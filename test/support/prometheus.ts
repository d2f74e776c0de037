// A real Prometheus (Debian's `prometheus` package) for tests: a temp config scraping the given
// targets, a temp TSDB, a free port; the HTTP API for instant queries. No binary is a failure
// with the install hint, never a skip (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cli.js';

export const PROMETHEUS_MISSING = 'prometheus is not installed: run `apt-get install prometheus` (Debian package; .ci/run installs it), or set PROMETHEUS_BIN';

/** One series of an instant query's vector result (a scalar comes back as one series without labels). */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PromQueryResult {
  readonly status: 'success' | 'error';
  readonly errorType?: string;
  readonly error?: string;
  readonly warnings?: string[];
  readonly series: PromSample[];
}

export interface TestPrometheus {
  readonly url: string;
  /** GET /api/v1/query (instant, at the server's now). */
  query(expr: string): Promise<PromQueryResult>;
  /** GET /api/v1/label/<label>/values?match[]=<selector> — what Grafana's label_values() asks. */
  labelValues(label: string, selector: string): Promise<string[]>;
  /** The scrape pools' targets as /api/v1/targets reports them. */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]>;
  /** Everything Prometheus wrote to stderr so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port of each target, scraped at /metrics. */
  readonly targets: readonly string[];
  /** Default 1s. */
  readonly scrapeInterval?: string;
  readonly job?: string;
}

/** The prometheus binary (PROMETHEUS_BIN or `prometheus` on PATH); throws PROMETHEUS_MISSING without one. */
export function prometheusBinary(): string {
  const bin = process.env.PROMETHEUS_BIN || 'prometheus';
  const res = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) throw new Error(PROMETHEUS_MISSING);
  return bin;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPrometheus(opts: PrometheusOptions): Promise<TestPrometheus> {
  const bin = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'lookout-prom-'));
  const interval = opts.scrapeInterval ?? '1s';
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    `  - job_name: ${opts.job ?? 'lookout'}`,
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = spawn(
    bin,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  const gone = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = performance.now() + 15_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus exited at start:\n${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 15 s:\n${stderr}`);
    }
    await sleep(100);
  }

  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: expr }).toString(),
      });
      const body = (await res.json()) as {
        status: 'success' | 'error';
        errorType?: string;
        error?: string;
        warnings?: string[];
        data?: { resultType: string; result: unknown };
      };
      let series: PromSample[] = [];
      if (body.data?.resultType === 'vector') series = body.data.result as PromSample[];
      else if (body.data?.resultType === 'scalar') series = [{ metric: {}, value: body.data.result as [number, string] }];
      else if (body.data?.resultType === 'matrix') {
        series = (body.data.result as { metric: Record<string, string>; values: [number, string][] }[]).map((s) => ({ metric: s.metric, value: s.values.at(-1)! }));
      }
      return { status: body.status, errorType: body.errorType, error: body.error, warnings: body.warnings, series };
    },
    async labelValues(label, selector) {
      const res = await fetch(`${url}/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': selector }).toString()}`);
      const body = (await res.json()) as { status: string; error?: string; data?: string[] };
      if (body.status !== 'success') throw new Error(`label values of ${label} for ${selector}: ${body.error}`);
      return body.data ?? [];
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets?state=active`);
      const body = (await res.json()) as { data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] } };
      return body.data.activeTargets;
    },
    log: () => stderr,
    stop,
  };
}
