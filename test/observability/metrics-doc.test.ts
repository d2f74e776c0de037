// docs/metrics.md lists every metric /metrics serves, with its type and labels, and nothing else.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRING_SERIES } from '../../src/observability/state-collector.js';
import { ROOT } from '../support/cli.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';

interface Row {
  readonly name: string;
  readonly type: string;
  readonly labels: string[];
}

function documented(): Row[] {
  const md = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
  const rows: Row[] = [];
  for (const line of md.split('\n')) {
    const m = /^\| `(lookout_[a-z_]+)` \| (\w+) \|([^|]*)\|/.exec(line);
    if (m) rows.push({ name: m[1]!, type: m[2]!, labels: [...m[3]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!).sort() });
  }
  return rows;
}

describe('metrics table', () => {
  let lk: TestLookout;
  beforeAll(async () => {
    lk = await startTestLookout();
  });
  afterAll(async () => lk.cleanup());

  it('matches /metrics: same names, types and labels', async () => {
    const text = (await lk.get<string>('/metrics')).body;
    const served = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (lookout_\w+) (\w+)$/gm)) {
      if (/^lookout_(process|nodejs)_/.test(m[1]!)) continue; // prom-client defaults, listed in prose
      served.set(m[1]!, m[2]!);
    }
    const rows = documented();
    expect(rows.map((r) => r.name).sort()).toEqual([...served.keys()].sort());
    for (const r of rows) {
      expect([r.name, r.type]).toEqual([r.name, served.get(r.name)]);
      const metric = lk.metrics.registry.getSingleMetric(r.name) as unknown as { labelNames?: string[] } | undefined;
      const labels = metric?.labelNames ?? FIRING_SERIES[r.name as keyof typeof FIRING_SERIES]?.labels ?? [];
      expect([r.name, [...labels].sort()]).toEqual([r.name, r.labels]);
    }
  });

  it('has no entity, phone or fingerprint label except on the firing-alert series', () => {
    for (const r of documented()) {
      if (['lookout_alert_firing', 'lookout_alert_value', 'lookout_alert_measure'].includes(r.name)) continue;
      expect([r.name, r.labels.filter((l) => ['entity', 'phone', 'fingerprint', 'contact', 'id'].includes(l))]).toEqual([r.name, []]);
    }
  });
});
