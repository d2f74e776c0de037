// The backtest report as text (a table per rule) — the JSON form is the report object itself.

import type { BacktestReport } from './backtest.js';

const SHOW_REJECTED = 20;
const SHOW_UNKNOWN = 10;

const int = (n: number): string => n.toLocaleString('en');
const plural = (n: number, one: string, many: string): string => `${int(n)} ${n === 1 ? one : many}`;
const dec = (n: number): string => (n === 0 ? '0' : n < 0.01 ? n.toFixed(3) : n.toFixed(2));

function table(header: readonly string[], rows: readonly (readonly string[])[], leftColumns: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Lines for a terminal. */
export function formatReport(r: BacktestReport): string[] {
  const out: string[] = [];
  out.push(`lookout backtest — ${r.file} (${r.timeZone})`);
  const s = r.samples;
  const replaced = s.replaced ? `, ${int(s.replaced)} replaced by a later sample with the same id` : '';
  out.push(`  read     ${int(r.rows)} rows in ${r.seconds.read.toFixed(1)} s: ${plural(s.accepted, 'sample', 'samples')}, ${plural(s.rejected, 'bad row', 'bad rows')} skipped${replaced}`);
  if (r.from !== undefined) {
    const warm = r.replayedFrom !== undefined && r.replayedFrom !== r.from ? ` (replayed from ${r.replayedFrom} to carry alert state)` : '';
    out.push(
      `  judged   ${int(r.entities.judged)} of ${int(r.entities.registered)} registered entities at each day close, ` +
        `${r.from} … ${r.to} (${int(r.days)} days)${warm}, in ${r.seconds.judge.toFixed(1)} s`,
    );
  } else {
    out.push(`  judged   nothing: no samples in the file and no --from/--to`);
  }
  const u = r.entities;
  if (u.unknown) {
    const top = u.unknownTop.slice(0, SHOW_UNKNOWN).map((x) => `${x.id} (${int(x.samples)})`).join(', ');
    out.push(
      `  unknown  ${plural(u.unknown, 'entity is', 'entities are')} not in the registry (${plural(u.unknownSamples, 'sample', 'samples')}, counted, never judged): ${top}${u.unknown > SHOW_UNKNOWN ? ', …' : ''}`,
    );
  }
  out.push('');

  const header = ['rule', 'kind', 'in scope', 'alerts', 'critical', 'warning', 'info', 'upgrades', 'entities', 'per day', 'per 1k/day', 'info-only'];
  const rows = r.rules.map((x) => [
    x.rule,
    x.kind,
    int(x.inScope),
    int(x.alerts),
    int(x.critical),
    int(x.warning),
    int(x.info),
    int(x.upgrades),
    int(x.entities),
    dec(x.perDay),
    dec(x.per1000PerDay),
    int(x.recorded),
  ]);
  const t = r.totals;
  rows.push(['total', '', int(u.judged), int(t.alerts), ...['critical', 'warning', 'info'].map((k) => int(r.rules.reduce((a, x) => a + (x[k as 'critical'] ?? 0), 0))), int(t.upgrades), '', dec(t.perDay), dec(t.per1000PerDay), int(t.recorded)]);
  out.push(...table(header, rows, 2));
  out.push('');
  out.push('alerts: alerts raised that page someone, by severity when they first paged; upgrades: paging alerts that climbed (paged again);');
  out.push('per 1k/day: alerts per 1,000 in-scope entities per day; info-only: weak-evidence verdicts recorded with notify: false — they page nobody.');
  for (const n of r.notes) out.push(`note: ${n}`);

  if (s.rejected) {
    out.push('');
    out.push(`${plural(s.rejected, 'bad row', 'bad rows')} skipped:`);
    for (const x of r.rejected.slice(0, SHOW_REJECTED)) out.push(`  row ${x.row}: ${x.code}: ${x.message}`);
    if (s.rejected > SHOW_REJECTED) out.push(`  … and ${int(s.rejected - SHOW_REJECTED)} more (--json lists up to 1,000)`);
  }
  return out;
}
