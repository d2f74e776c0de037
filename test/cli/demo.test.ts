// `lookout demo --fast --exit` from outside: the simulated branch pages managers by SMS, sends
// the campaign's people email, climbs one warning to the region head and stops another by an
// SMS reply — all visible in the outbox the demo writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/notify/channels/outbox.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from '../support/redis.js';
import { ensureBuilt, runCli, type CliResult } from '../support/cli.js';

describe('lookout demo --fast --exit', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lookout-demo-'));
  const prefix = freshPrefix('demo');
  let res: CliResult;

  beforeAll(async () => {
    await ensureBuilt();
    res = await runCli(['demo', '--fast', '--exit'], {
      env: { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: prefix, LOOKOUT_DATA_DIR: dataDir, LOOKOUT_HTTP_PORT: '0', LOG_LEVEL: 'error', NO_COLOR: '1' },
      timeoutMs: 120_000,
    });
  }, 130_000);
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    const r = connect();
    await dropPrefix(r, prefix);
    r.disconnect();
  });

  it('runs to the end', () => {
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/FIRING\s+CRITICAL core_dealer_card_opening_drop/);
  });

  it('puts SMS and email in the outbox and prints them', async () => {
    const sms = await readOutbox(join(dataDir, 'outbox'), 'sms');
    const mail = await readOutbox(join(dataDir, 'outbox'), 'email');
    expect(sms.length).toBeGreaterThan(4);
    expect(mail.length).toBeGreaterThan(0);
    for (const m of sms) expect(m.segments).toBe(1);
    expect(res.stdout).toMatch(/SMS → .+ 138\*\*\*\*\d{4} \(1 条\): 【渠道预警·严重】D\d{4}/);
    expect(res.stdout).toMatch(/EMAIL → /);
    expect(res.stdout).not.toMatch(/1380373\d{4}/); // phones are masked on the console
  });

  it('climbs one warning to the region head and stops another with an SMS reply', async () => {
    const m = /nobody answers about (D\d{4}): waiting for the region head \S+ \((RH\d)\)/.exec(res.stdout);
    expect(m, res.stdout).not.toBeNull();
    const sms = await readOutbox(join(dataDir, 'outbox'), 'sms');
    expect(sms.some((s) => s.to.contact === m![2] && s.text.includes(m![1]!))).toBe(true);
    const acked = /→ acked: (D\d{4}) acknowledged by (CM\d{2}) via sms/.exec(res.stdout);
    expect(acked, res.stdout).not.toBeNull();
    expect(res.stdout).toContain(`${acked![1]}'s chain stopped at the ack`);
    expect(sms.filter((s) => s.text.includes(acked![1]!) && s.to.contact.startsWith('RH'))).toEqual([]);
  });

  it('sends the live campaign’s daily report and records the ended campaign’s evaluation', async () => {
    expect(res.stdout).toMatch(/daily report C\d{3} \d{4}-\d{2}-\d{2}: to CO\d/);
    expect(res.stdout).toMatch(/post-evaluation C\d{3}: recorded/);
    const mail = await readOutbox(join(dataDir, 'outbox'), 'email');
    expect(mail.some((m) => m.subject?.startsWith('【营销案实施监测日报】'))).toBe(true);
    expect(mail.some((m) => m.subject?.startsWith('【营销案后评估】'))).toBe(true);
  });
});
