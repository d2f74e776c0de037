// Console sessions and the viewer scope (src/http/auth.ts, src/http/routes/console.ts), over HTTP
// on an in-memory app: who may sign in, what the cookie is, when it stops working.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { SESSION_TTL_MS } from '../../src/http/auth.js';
import { alertRecord, bearer, harness, INGEST_TOKEN, OPERATOR_TOKEN } from './harness.js';

const VIEWER_TOKEN = 'viewer-token-8901';
const env = { LOOKOUT_API_TOKENS: `ingest:${INGEST_TOKEN},operator:${OPERATOR_TOKEN},viewer:${VIEWER_TOKEN}` };
const make = () => harness({ env, alerts: [alertRecord({ rule: 'r', entity: 'D0001', state: 'firing' })] });
let h = make();
afterEach(async () => {
  await h.app.close();
  h = make();
});

async function signIn(token: string) {
  return h.app.inject({ method: 'POST', url: '/login', headers: { host: 'lookout.test', origin: 'http://lookout.test' }, payload: { token } });
}

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const raw = String(res.headers['set-cookie'] ?? '');
  return raw.split(';')[0]!;
}

describe('LOOKOUT_API_TOKENS viewer scope', () => {
  it('parses viewer: tokens and names the syntax when a token is bad', () => {
    const config = loadConfig({ LOOKOUT_API_TOKENS: `viewer:${VIEWER_TOKEN},${OPERATOR_TOKEN}` });
    expect(config.apiTokens.get(VIEWER_TOKEN)).toEqual(['viewer']);
    expect(config.apiTokens.get(OPERATOR_TOKEN)).toEqual(['ingest', 'operator']);
    expect(() => loadConfig({ LOOKOUT_API_TOKENS: 'viewer:short' })).toThrow(/viewer:/);
  });

  it('a viewer token reads what operators read and changes nothing', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: bearer(VIEWER_TOKEN) })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/silences', headers: bearer(VIEWER_TOKEN) })).statusCode).not.toBe(403);
    const ack = await h.app.inject({ method: 'POST', url: `/api/v1/alerts/${(await h.alerts.list())[0]!.id}/ack`, headers: bearer(VIEWER_TOKEN), payload: { by: 'v' } });
    expect([ack.statusCode, ack.json().error.code]).toEqual([403, 'forbidden']);
    const post = await h.app.inject({ method: 'POST', url: '/api/v1/samples', headers: bearer(VIEWER_TOKEN), payload: [] });
    expect(post.statusCode).toBe(403);
  });
});

describe('console sessions', () => {
  it('a viewer or operator token signs in; the cookie is HttpOnly, SameSite=Strict, and authorises the API', async () => {
    for (const token of [VIEWER_TOKEN, OPERATOR_TOKEN]) {
      const res = await signIn(token);
      expect(res.statusCode).toBe(200);
      const raw = String(res.headers['set-cookie']);
      expect(raw).toMatch(/^lookout_session=v1\.[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      // The cookie never contains the token.
      expect(raw).not.toContain(token);
      const read = await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: { cookie: cookieOf(res) } });
      expect(read.statusCode).toBe(200);
    }
  });

  it('refuses ingest and unknown tokens, and a sign-in posted from another origin', async () => {
    const ingest = await signIn(INGEST_TOKEN);
    expect([ingest.statusCode, ingest.json().error.code, ingest.headers['set-cookie']]).toEqual([403, 'forbidden', undefined]);
    const unknown = await signIn('nobody-knows-this');
    expect([unknown.statusCode, unknown.headers['set-cookie']]).toEqual([401, undefined]);
    const foreign = await h.app.inject({ method: 'POST', url: '/login', headers: { host: 'lookout.test', origin: 'https://evil.example' }, payload: { token: OPERATOR_TOKEN } });
    expect([foreign.statusCode, foreign.headers['set-cookie']]).toEqual([403, undefined]);
  });

  it('a tampered cookie is no session; an expired one neither', async () => {
    const cookie = cookieOf(await signIn(OPERATOR_TOKEN));
    const tampered = cookie.replace(/\.([^.]+)$/, (_, sig: string) => `.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: { cookie: tampered } })).statusCode).toBe(401);
    // Stretching the expiry breaks the signature.
    const [name, value] = cookie.split('=') as [string, string];
    const parts = value.split('.');
    parts[1] = (Number.parseInt(parts[1]!, 36) + 10 * SESSION_TTL_MS).toString(36);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: { cookie: `${name}=${parts.join('.')}` } })).statusCode).toBe(401);
    h.clock.advance(SESSION_TTL_MS - 1000);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: { cookie } })).statusCode).toBe(200);
    h.clock.advance(2000);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: { cookie } })).statusCode).toBe(401);
  });

  it('checks Origin on changes made with the cookie, not on reads and not with a bearer token', async () => {
    const cookie = cookieOf(await signIn(OPERATOR_TOKEN));
    const id = (await h.alerts.list())[0]!.id;
    const ack = (headers: Record<string, string>) => h.app.inject({ method: 'POST', url: `/api/v1/alerts/${id}/ack`, headers, payload: { by: '王经理' } });
    expect((await ack({ cookie, host: 'lookout.test' })).statusCode).toBe(403);
    expect((await ack({ cookie, host: 'lookout.test', origin: 'http://elsewhere.test' })).statusCode).toBe(403);
    expect((await ack({ ...bearer(OPERATOR_TOKEN), origin: 'http://elsewhere.test' })).statusCode).toBe(200);
    expect((await ack({ cookie, host: 'lookout.test', origin: 'http://lookout.test' })).statusCode).toBe(200);
  });

  it('pages redirect to /login without a session and serve the shell with one', async () => {
    const anon = await h.app.inject({ method: 'GET', url: '/alerts/abc?x=1' });
    expect([anon.statusCode, anon.headers.location]).toEqual([302, `/login?next=${encodeURIComponent('/alerts/abc?x=1')}`]);
    const cookie = cookieOf(await signIn(VIEWER_TOKEN));
    const page = await h.app.inject({ method: 'GET', url: '/alerts/abc', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('data-locale="zh"');
    expect(page.body).not.toMatch(/https?:\/\//);
    const session = await h.app.inject({ method: 'GET', url: '/api/v1/console/session', headers: { cookie } });
    expect(session.json()).toMatchObject({ auth: true, signedIn: true, scopes: ['viewer'], canAct: false });
  });
});
