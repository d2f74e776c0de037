// The demo's truth across many dates: `node test/demo/sweep.mjs [N]` runs `lookout demo --fast`
// with N different --now values (weekends, month ends, New Year, the October holidays, …), waits
// for its "paged:" or "MISMATCH" line, then stops it with Ctrl-C (SIGINT) and checks that it
// exited 0 within 5 s. Slow (≈10 s a date); not part of `npm test`. Needs `npm run build`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/lookout.js', import.meta.url).pathname;
const fixed = ['2026-01-01', '2025-12-31', '2026-10-01', '2026-10-04', '2026-10-07', '2026-02-28', '2028-02-29', '2026-03-01', '2026-11-23', '2026-12-04', '2026-12-05', '2026-12-06', '2027-01-01', '2026-05-01', '2026-06-30', '2026-07-31', '2026-08-31', '2026-09-30', '2026-04-30', '2027-10-03'];
const n = Number(process.argv[2] ?? 40);
const dates = [...fixed];
for (let i = 0; dates.length < n; i++) dates.push(new Date(Date.UTC(2025, 0, 3) + i * 37 * 86_400_000).toISOString().slice(0, 10));
const times = ['T10:00:00+08:00', 'T23:30:00+08:00', 'T03:15:00+08:00', 'T14:00:00+08:00'];

function once(now) {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-sweep-'));
  const child = spawn(process.execPath, [BIN, 'demo', '--fast', '--now', now], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOOKOUT_DATA_DIR: dir, LOOKOUT_HTTP_PORT: '0', NO_COLOR: '1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  let sent = 0;
  return new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (!sent && /^(paged:|MISMATCH)/m.test(out)) {
        sent = performance.now();
        process.kill(-child.pid, 'SIGINT');
      }
    });
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      const line = /^(paged:.*|MISMATCH.*)$/m.exec(out)?.[1] ?? '(no truth line)';
      resolve({ now, code, stopMs: sent ? Math.round(performance.now() - sent) : -1, line, err: err.trim().split('\n').slice(0, 3).join(' | ') });
    });
  });
}

let bad = 0;
for (const [i, d] of dates.entries()) {
  const r = await once(`${d}${times[i % times.length]}`);
  const ok = r.code === 0 && r.stopMs >= 0 && r.stopMs < 5000 && r.line.startsWith('paged:') && r.err === '';
  if (!ok) bad++;
  console.log(`${ok ? 'ok ' : 'BAD'} ${r.now} exit=${r.code} stop=${r.stopMs}ms ${r.line}${r.err ? ` stderr: ${r.err}` : ''}`);
}
console.log(`${dates.length - bad}/${dates.length} dates tell the truth`);
process.exit(bad ? 1 : 0);
