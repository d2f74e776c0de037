// `lookout demo --fast --exit --now …` from outside: the simulated branch pages managers by SMS,
// sends the campaign's people email, climbs one warning to the region head and stops another by
// an SMS reply — all visible in the outbox the demo writes. The clock is pinned, so the story is
// the same on whatever day the suite runs, and a second run tells it again from a fresh outbox.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox, type OutboxEntry } from '../../src/notify/channels/outbox.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from '../support/redis.js';
import { ensureBuilt, runCli, type CliResult } from '../support/cli.js';

const NOW = '2026-11-23T10:00:00+08:00';
/** The lines that tell what happened: the same whenever the same --now runs. */
const story = (out: string) => out.split('\n').filter((l) => /^(paged:|injected| {2}• |outbox: \d+ SMS|nobody answers)/.test(l));

describe('lookout demo --fast --exit --now', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lookout-demo-'));
  const prefix = freshPrefix('demo');
  const env = { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: prefix, LOOKOUT_DATA_DIR: dataDir, LOOKOUT_HTTP_PORT: '0', LOG_LEVEL: 'error', NO_COLOR: '1' };
  const outbox = join(dataDir, 'outbox');
  let res: CliResult;
  let first: { sms: OutboxEntry[]; email: OutboxEntry[] };
  let again: CliResult;
  let second: { sms: OutboxEntry[]; email: OutboxEntry[] };
  let kept: CliResult;

  beforeAll(async () => {
    await ensureBuilt();
    // --speed 360: the 30-minute step climbs in 5 s (the story is the same at any speed).
    res = await runCli(['demo', '--fast', '--exit', '--speed', '360', '--now', NOW], { env, timeoutMs: 120_000 });
    first = { sms: await readOutbox(outbox, 'sms'), email: await readOutbox(outbox, 'email') };
    again = await runCli(['demo', '--fast', '--exit', '--speed', '360'], { env: { ...env, LOOKOUT_DEMO_NOW: NOW }, timeoutMs: 120_000 });
    second = { sms: await readOutbox(outbox, 'sms'), email: await readOutbox(outbox, 'email') };
    kept = await runCli(['demo', '--fast', '--exit', '--keep', '--speed', '360', '--now', NOW], { env, timeoutMs: 120_000 });
  }, 400_000);
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    const r = connect();
    await dropPrefix(r, prefix);
    r.disconnect();
  });

  it('runs to the end on the injected date, with five weeks of history', () => {
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`now: ${NOW} (injected clock)`);
    expect(res.stdout).toMatch(/^console: http:\/\/localhost:\d+\/ /m);
    expect(res.stdout).toMatch(/^history: 35 days \(2026-10-16 … 2026-11-19\)/m);
    expect(res.stdout).toContain('— daily export for 2026-11-22 arrives —');
    expect(res.stdout).toMatch(/FIRING\s+CRITICAL core_dealer_card_opening_drop/);
  });

  it('pages exactly the injected anomalies, and says so', () => {
    const list = /injected anomalies:\n((?: {2}• .+\n)+)/.exec(res.stdout);
    expect(list, res.stdout).not.toBeNull();
    const injected = new Set([...list![1]!.matchAll(/• (\S+) /g)].map((m) => m[1]));
    expect(injected.size).toBe(7);
    // Every FIRING/UPGRADE line on the console is a paging alert (info ones are not printed).
    const paged = new Set(
      [...res.stdout.matchAll(/^\d{2}:\d{2}:\d{2} (?:FIRING|UPGRADE)\s+(\S+)\s+\S+\s+(\S+)/gm)]
        .filter((m) => !/^info$|→info$/i.test(m[1]!))
        .map((m) => m[2]),
    );
    expect([...paged].sort()).toEqual([...injected].sort());
    expect(res.stdout).toMatch(/^paged: exactly the 7 injected anomalies/m);
    expect(res.stdout).not.toContain('MISMATCH');
  });

  it('puts SMS and email in the outbox and prints every SMS whole', async () => {
    expect(first.sms.length).toBeGreaterThan(4);
    expect(first.email.length).toBeGreaterThan(0);
    for (const m of first.sms) expect(m.segments, m.text).toBe(1);
    expect(res.stdout).toMatch(/SMS → .+ 138\*\*\*\*\d{4} \(1 条\): 【渠道预警·严重】D\d{4} /);
    expect(res.stdout).toMatch(/SMS → .+ \(1 条\): 【营销案预警·严重】C\d{3} /);
    const printed = res.stdout.split('\n').filter((l) => l.includes('SMS → '));
    expect(printed.length).toBeGreaterThan(4);
    for (const l of printed) {
      expect(l).not.toMatch(/…$/);
      expect(first.sms.some((m) => l.endsWith(m.text))).toBe(true);
    }
    expect(res.stdout).toMatch(/EMAIL → /);
    expect(res.stdout).not.toMatch(/1380373\d{4}/); // phones are masked on the console
  });

  it('climbs one warning to the region head and stops another with an SMS reply', async () => {
    const m = /nobody answers about (D\d{4}): waiting for the region head \S+ \((RH\d)\)/.exec(res.stdout);
    expect(m, res.stdout).not.toBeNull();
    expect(first.sms.some((s) => s.to.contact === m![2] && s.text.includes(m![1]!))).toBe(true);
    const acked = /→ acked: (D\d{4}) acknowledged by (CM\d{2}) via sms/.exec(res.stdout);
    expect(acked, res.stdout).not.toBeNull();
    expect(res.stdout).toContain(`${acked![1]}'s chain stopped at the ack`);
    expect(first.sms.filter((s) => s.text.includes(acked![1]!) && s.to.contact.startsWith('RH'))).toEqual([]);
  });

  it('sends the live campaign’s daily report and records the ended campaign’s evaluation', async () => {
    expect(res.stdout).toMatch(/daily report C\d{3} \d{4}-\d{2}-\d{2}: to CO\d/);
    expect(res.stdout).toMatch(/post-evaluation C\d{3}: recorded/);
    expect(first.email.some((m) => m.subject?.startsWith('【营销案实施监测日报】'))).toBe(true);
    expect(first.email.some((m) => m.subject?.startsWith('【营销案后评估】'))).toBe(true);
    // The outbox keeps the HTML and the chart PNG it shows (inline, by cid).
    const report = first.email.find((m) => m.subject?.startsWith('【营销案实施监测日报】'))!;
    expect(report.html).toContain('src="cid:trend@lookout"');
    expect(report.attachments).toEqual([expect.objectContaining({ filename: 'trend.png', contentType: 'image/png', cid: 'trend@lookout' })]);
    expect(Buffer.from(report.attachments![0]!.content, 'base64').subarray(1, 4).toString('latin1')).toBe('PNG');
    // Alert emails link each alert's console page.
    const alertMail = first.email.find((m) => m.html?.includes('data-card="alert"'));
    expect(alertMail?.text).toMatch(/详情：http:\/\/localhost:\d+\/a\/\S+/);
  });

  it('a second run (LOOKOUT_DEMO_NOW) tells the same story from a fresh outbox', async () => {
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('unknown_code');
    expect(again.stdout).toMatch(/→ acked: D\d{4} acknowledged by CM\d{2} via sms/);
    expect(second.sms.length).toBe(first.sms.length);
    expect(second.email.length).toBe(first.email.length);
    expect(story(again.stdout)).toEqual(story(res.stdout));
  });

  it('--keep appends to the outbox of the earlier run and still tells only its own story', async () => {
    expect(kept.stderr).toBe('');
    expect(kept.code).toBe(0);
    expect(kept.stdout).not.toContain('unknown_code');
    expect(kept.stdout).toMatch(/→ acked: D\d{4} acknowledged by CM\d{2} via sms/);
    expect((await readOutbox(outbox, 'sms')).length).toBe(2 * second.sms.length);
    expect(story(kept.stdout)).toEqual(story(res.stdout));
  });
});
