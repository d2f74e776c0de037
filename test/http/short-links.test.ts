// GET /a/:id: the short link SMS and email carry answers 302 to the alert's console page, without a token.
import { afterAll, describe, expect, it } from 'vitest';
import { consoleLink } from '../../src/notify/links.js';
import { harness } from './harness.js';

const h = harness({ env: { LOOKOUT_API_TOKENS: 'op-token-123456789:operator', LOOKOUT_PUBLIC_URL: 'https://lookout.example.cn' } });
afterAll(() => h.app.close());

describe('short links', () => {
  it('consoleLink builds <public url>/a/<id>, the id encoded', () => {
    expect(consoleLink('https://lookout.example.cn', '0123456789abcdef')).toBe('https://lookout.example.cn/a/0123456789abcdef');
    expect(consoleLink('http://x', 'a/b c')).toBe('http://x/a/a%2Fb%20c');
  });

  it('GET /a/:id → 302 to /alerts/:id with no token, even when tokens are configured', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/a/0123456789abcdef' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/alerts/0123456789abcdef');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('the path of a consoleLink round-trips to the same id', async () => {
    const link = new URL(consoleLink('https://lookout.example.cn', 'x y/z'));
    const res = await h.app.inject({ method: 'GET', url: link.pathname });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`/alerts/${encodeURIComponent('x y/z')}`);
  });

  it('a query string is refused like everywhere else', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/a/0123456789abcdef?x=1' });
    expect(res.statusCode).toBe(400);
  });
});
