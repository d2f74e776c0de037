// Logs never carry a phone number, a token, a password or the link secret: captured from a real
// run (SMS over SMPP, a stranger's reply, an ack by link, an HTTP error) and grepped.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, scrubText } from '../../src/observability/logger.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies } from '../support/org.js';
import { dealer, dealerSeries } from '../integration/fixtures.js';

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('log scrubbing', () => {
  it('masks phones (bare, +86, in messages and nested fields) and URL credentials', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    log.info({ to: '13803730001', nested: { list: ['+8613803730002'] }, url: 'smpp://esme:hunter2@smsc:2775' }, 'sent to 13803730003');
    log.warn({ err: new Error('bind failed for smpp://esme:hunter2@10.0.0.1:2775 (8613803730004)') }, 'smsc');
    log.info({ token: 'abcd1234abcd', password: 'pw-123456', linkSecret: 'link-secret-xyz' }, 'secrets');
    const text = lines().join('\n');
    for (const secret of ['13803730001', '13803730002', '13803730003', '13803730004', 'hunter2', 'abcd1234abcd', 'pw-123456', 'link-secret-xyz']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('138****0001');
    expect(text).toContain('+86138****0002');
    expect(text).toContain('smpp://***@smsc:2775');
    expect(scrubText('order 202611210001 qty 13')).toBe('order 202611210001 qty 13'); // not a phone
  });
});

describe('logs of a real notification run', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
  });

  it('hold no phone number, SMPP password, API token or link secret', async () => {
    smsc = await startSmppPeer({ systemId: 'esme', password: 's3cretpw' });
    const { stream, lines } = capture();
    const token = 'operator-token-9876543210';
    const secret = 'link-secret-0123456789abcdef';
    lk = await startTestLookout({
      env: {
        LOOKOUT_CONFIG_DIR: orgDir(ORG),
        LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=500`,
        LOOKOUT_API_TOKENS: `operator:${token}`,
        LOOKOUT_LINK_SECRET: secret,
        LOG_LEVEL: 'debug',
      },
      policies: policies(FAST_POLICIES),
      logger: createLogger({ level: 'debug', destination: stream }),
    });
    const auth = { authorization: `Bearer ${token}` };
    await lk.registry.putMany([dealer('D0001')]);
    expect((await lk.post('/api/v1/samples', dealerSeries('D0001', 40), auth)).status).toBe(202);
    await smsc.waitFor(2, 5000);
    await smsc.sendMo('13912345678', '确认 0000'); // a stranger, an unknown code
    await smsc.sendMo(phone('C001'), '确认 9999');
    await lk.post('/api/v1/samples', 'not json', { ...auth, 'content-type': 'application/json' });
    await waitFor('the reply lines', async () => lines().filter((l) => l.includes('SMS reply')).length >= 2);
    await lk.idle();

    const text = lines().join('\n');
    expect(text).toContain('notification sent'); // one line per attempt, with the masked phone
    expect(text).toContain('138****0001');
    for (const c of ORG) if (c.phone) expect(text, `phone of ${c.id} in the logs`).not.toContain(c.phone);
    for (const s of ['13912345678', 's3cretpw', token, secret]) expect(text).not.toContain(s);
  });
});
