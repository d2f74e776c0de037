// Broadcasts (集群短信下行) from outside: the API and the CLI, a real SMSC (SMPP server), the
// per-recipient records and the summary (docs/duties.md).
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import type { BroadcastSummary } from '../../src/duties/index.js';
import { ensureBuilt, runCli } from '../support/cli.js';
import { startTestLookout, waitFor, type ErrorJson, type TestLookout } from '../support/lookout.js';
import { notifications, sleep } from '../support/notify.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies, type TestContact } from '../support/org.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { testRedisUrl } from '../support/redis.js';

beforeAll(ensureBuilt, 180_000);

/** ORG plus managers for halls and the west, and one manager without a phone. */
const CONTACTS: readonly TestContact[] = [
  ...ORG,
  { id: 'HM1', role: 'channel_manager', phone: '13800000061', scope: 'X-hongqi' },
  { id: 'CW1', role: 'channel_manager', phone: '13800000071', scope: 'X-west' },
  { id: 'CW2', role: 'channel_manager', phone: '13800000072', scope: 'X-west' },
  { id: 'CW3', role: 'channel_manager', phone: '13800000073', scope: 'X-west' },
  { id: 'NOPH', role: 'channel_manager', email: 'noph@example.cn', scope: 'X-hongqi' },
];
const tel = (id: string) => CONTACTS.find((c) => c.id === id)!.phone!;

const ent = (id: string, kind: Entity['kind'], region: string, manager?: string, extra: Partial<Entity> = {}): Entity => ({
  id,
  kind,
  name: `渠道 ${id}`,
  region,
  district: region === 'R-east' ? 'X-hongqi' : 'X-west',
  ...(manager && { manager }),
  attrs: {},
  ...extra,
});

const EAST: Entity[] = [
  ent('D0001', 'core_dealer', 'R-east', 'C001'),
  ent('D0002', 'core_dealer', 'R-east', 'C001'),
  ent('D0003', 'core_dealer', 'R-east', 'C001'),
  ent('G0001', 'grassroots', 'R-east', 'C002'),
  ent('G0002', 'grassroots', 'R-east', 'C002'),
  ent('H0001', 'own_hall', 'R-east', 'HM1', { tier: 'A' }),
  ent('G0003', 'grassroots', 'R-east'), // no manager: unreachable
  ent('C0001', 'campaign', 'R-east', 'CO1', { attrs: { start: '2026-11-01', end: '2026-11-30', target_customers: 1000, owner: 'CO1', category: 'data' } }), // not a channel
];
const WEST: Entity[] = [ent('W0001', 'grassroots', 'R-west', 'CW1'), ent('W0002', 'grassroots', 'R-west', 'CW2'), ent('W0003', 'core_dealer', 'R-west', 'CW3')];

interface Created {
  readonly broadcast: BroadcastSummary;
}

describe('broadcasts over SMPP', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;

  async function start(env: Record<string, string> = {}) {
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir(CONTACTS), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=500`, ...env },
      policies: policies(FAST_POLICIES),
    });
    await lk.registry.putMany([...EAST, ...WEST]);
  }

  beforeEach(async () => {
    smsc = await startSmppPeer();
  });
  afterEach(async () => {
    await lk?.cleanup();
    await smsc.close();
  });

  const summary = async (id: string) => {
    const res = await lk.get<Created>(`/api/v1/broadcasts/${id}`);
    expect(res.status).toBe(200);
    return res.body.broadcast;
  };

  it('a broadcast to R-east reaches exactly the managers there, once each, and the summary adds up', async () => {
    await start();
    const res = await lk.post<Created>('/api/v1/broadcasts', { text: '明日起开展岁末促销，政策详见渠道服务平台。', selector: { region: 'R-east' }, by: 'OP1' });
    expect(res.status).toBe(202);
    const b = res.body.broadcast;
    expect(b).toMatchObject({ entities: 7, recipients: 3, unreachable: 1, unreachableEntities: [{ entity: 'G0003', reason: 'no manager' }], by: 'OP1', selector: { region: ['R-east'] } });
    expect(b.message).toBe('【渠道通知】明日起开展岁末促销，政策详见渠道服务平台。');
    expect(b.messages.map((m) => [m.contact, m.entities]).sort()).toEqual([['C001', 3], ['C002', 2], ['HM1', 1]]);

    const got = await smsc.waitFor(3, 5000);
    await sleep(500); // nothing else follows
    expect(smsc.messages.map((m) => m.to).sort()).toEqual([phone('C001'), phone('C002'), tel('HM1')].sort());
    for (const m of smsc.messages) expect(m.text).toBe(b.message);
    expect(got[0]!.dataCoding).toBe(8);

    const done = await waitFor('the broadcast to finish', async () => {
      const s = await summary(b.id);
      return s.done ? s : undefined;
    });
    expect(done.counts).toEqual({ queued: 0, sent: 3, delivered: 0, failed: 0 });
    expect(Object.values(done.counts).reduce((x, y) => x + y, 0)).toBe(done.recipients);
    expect(done.messages.every((m) => m.state === 'sent' && typeof m.sentAt === 'number')).toBe(true);

    // One notification record per recipient, kind broadcast, visible with the alert notifications.
    const recs = await notifications(lk, { contact: 'C001' });
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ kind: 'broadcast', channel: 'sms', state: 'sent', transport: 'smpp', items: [], data: { broadcast: b.id, entities: 3 } });

    // Delivery receipts land on the record; the summary counts them as delivered.
    await smsc.sendReceipt(recs[0]!.providerIds[0]!, 'DELIVRD');
    await waitFor('the receipt', async () => (await summary(b.id)).counts.delivered === 1);
    expect((await summary(b.id)).counts).toEqual({ queued: 0, sent: 2, delivered: 1, failed: 0 });

    // Listed, newest first.
    const list = await lk.get<{ broadcasts: BroadcastSummary[] }>('/api/v1/broadcasts');
    expect(list.body.broadcasts.map((x) => x.id)).toEqual([b.id]);
  });

  it('a manager without a phone is a failed record (no_address); selectors combine kind, district and tier', async () => {
    await start();
    await lk.registry.putMany([ent('G0009', 'grassroots', 'R-east', 'NOPH')]);
    const res = await lk.post<Created>('/api/v1/broadcasts', { text: '请核对本月酬金。', selector: { kind: ['grassroots'], district: 'X-hongqi' }, by: 'OP1' });
    expect(res.status).toBe(202);
    expect(res.body.broadcast.messages.map((m) => m.contact).sort()).toEqual(['C002', 'NOPH']);
    await smsc.waitFor(1, 5000);
    const s = await waitFor('done', async () => {
      const x = await summary(res.body.broadcast.id);
      return x.done ? x : undefined;
    });
    expect(s.counts).toEqual({ queued: 0, sent: 1, delivered: 0, failed: 1 });
    expect(s.messages.find((m) => m.contact === 'NOPH')).toMatchObject({ state: 'failed', error: { code: 'no_address' } });
    expect(smsc.messages.map((m) => m.to)).toEqual([phone('C002')]);

    const halls = await lk.post<Created>('/api/v1/broadcasts', { text: 'A 级厅本周检查。', selector: { kind: 'own_hall', tier: 'A' }, by: 'OP1' });
    expect(halls.body.broadcast.messages.map((m) => m.contact)).toEqual(['HM1']);
  });

  it('is rate-limited: LOOKOUT_BROADCAST_RATE=2 spreads 5 messages over at least 2 seconds', async () => {
    await start({ LOOKOUT_BROADCAST_RATE: '2' });
    await lk.registry.putMany([ent('W0004', 'grassroots', 'R-west', 'C001'), ent('W0005', 'grassroots', 'R-west', 'C002')]);
    const at: number[] = [];
    const t0 = performance.now();
    const res = await lk.post<Created>('/api/v1/broadcasts', { text: '西片区会议通知。', selector: { region: 'R-west' }, by: 'OP1' });
    expect(res.body.broadcast.recipients).toBe(5);
    for (let n = 1; n <= 5; n++) {
      await smsc.waitFor(n, 10_000);
      at.push(performance.now() - t0);
    }
    // 2 per second: the 5th message goes in the third second.
    expect(at[4]! - at[0]!).toBeGreaterThan(1500);
    expect(new Set(smsc.messages.map((m) => m.to)).size).toBe(5);
  });

  it('the same id twice sends once (200 with the first broadcast); another text under that id is a conflict', async () => {
    await start();
    const body = { id: 'notice-2026-11', text: '系统今晚 22:00 升级。', selector: { region: 'R-west' }, by: 'OP1' };
    const first = await lk.post<Created>('/api/v1/broadcasts', body);
    expect(first.status).toBe(202);
    expect(first.body.broadcast.id).toBe('notice-2026-11');
    const again = await lk.post<Created>('/api/v1/broadcasts', body);
    expect(again.status).toBe(200);
    await smsc.waitFor(3, 5000);
    await sleep(600);
    expect(smsc.messages).toHaveLength(3);
    const other = await lk.post<ErrorJson>('/api/v1/broadcasts', { ...body, text: '改了' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('conflict');
  });

  it('refuses bad requests (400), selectors nobody is reached by (422 empty_broadcast), unknown ids (404); a dry run sends nothing', async () => {
    await start();
    const bad = await lk.post<ErrorJson>('/api/v1/broadcasts', { text: '', by: 'OP1' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'bad_request']);
    const empty = await lk.post<ErrorJson>('/api/v1/broadcasts', { text: '你好', selector: { region: 'R-nowhere' }, by: 'OP1' });
    expect([empty.status, empty.body.error.code]).toEqual([422, 'empty_broadcast']);
    expect(empty.body.error.message).toContain('matches no channel');
    const unmanaged = await lk.post<ErrorJson>('/api/v1/broadcasts', { text: '你好', selector: { kind: 'grassroots', region: 'R-east', district: 'X-hongqi' }, by: 'OP1' });
    expect(unmanaged.status).toBe(202);
    expect((await lk.get<ErrorJson>('/api/v1/broadcasts/bc-nope')).status).toBe(404);
    const dry = await lk.post<{ preview: { recipients: number; contacts: { contact: string }[]; segments: number } }>('/api/v1/broadcasts', { text: '预览', selector: { region: 'R-west' }, by: 'OP1', dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body.preview).toMatchObject({ recipients: 3, segments: 1 });
    await smsc.waitFor(1, 5000); // the 202 above (C002)
    await sleep(600);
    expect(smsc.messages.map((m) => m.to)).toEqual([phone('C002')]);
  });

  it('needs an operator token', async () => {
    await start({ LOOKOUT_API_TOKENS: 'ingest:ingest-token-1,operator:operator-token-1' });
    const body = { text: '你好', selector: { region: 'R-west' }, by: 'OP1' };
    expect((await lk.post('/api/v1/broadcasts', body)).status).toBe(401);
    expect((await lk.post('/api/v1/broadcasts', body, { authorization: 'Bearer ingest-token-1' })).status).toBe(403);
    expect((await lk.post('/api/v1/broadcasts', body, { authorization: 'Bearer operator-token-1' })).status).toBe(202);
  });

  it('lookout broadcast: the CLI queues a broadcast the running worker sends; --dry-run only lists', async () => {
    await start();
    const env = { REDIS_URL: testRedisUrl(), LOOKOUT_PREFIX: lk.prefix, LOOKOUT_CONFIG_DIR: lk.config.configDir };
    const dry = await runCli(['broadcast', '--text', '演练', '--region', 'R-east', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('3 recipient(s)');
    expect(dry.stdout).toContain('C001');
    const res = await runCli(['broadcast', '--text', '网点巡检通知', '--kind', 'grassroots', '--region', 'R-east', '--by', 'OP2', '--wait'], { env, timeoutMs: 20_000 });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/queued 1 SMS/);
    expect(res.stdout).toMatch(/sent 1, delivered 0, failed 0/);
    expect(smsc.messages.map((m) => m.to)).toEqual([phone('C002')]);
    const usage = await runCli(['broadcast', '--region', 'R-east'], { env });
    expect(usage.code).toBe(2);
    const nobody = await runCli(['broadcast', '--text', 'x', '--region', 'R-nowhere'], { env });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('empty_broadcast');
  });
});
