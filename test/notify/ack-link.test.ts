import { describe, expect, it } from 'vitest';
import { ackUrl, signAckLink, verifyAckLink, type AckLinkClaims } from '../../src/notify/ack-link.js';

const SECRET = 'link-secret-0123456789';
const NOW = Date.parse('2026-11-21T10:00:00+08:00');
const claims: AckLinkClaims = { alert: '3f2a9c0d1e4b5a67', episode: 3, contact: 'M01', exp: NOW + 72 * 3_600_000 };

/** Flip one character of a base64url string to another valid one. */
const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

describe('signAckLink / verifyAckLink', () => {
  it('round-trips the claims', () => {
    const token = signAckLink(SECRET, claims);
    expect(verifyAckLink(SECRET, token, NOW)).toEqual({ ok: true, claims });
  });

  it('is URL-safe and short', () => {
    const token = signAckLink(SECRET, claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThan(100);
  });

  it('the same claims sign to the same token; other claims to another', () => {
    expect(signAckLink(SECRET, claims)).toBe(signAckLink(SECRET, { ...claims }));
    expect(signAckLink(SECRET, { ...claims, episode: 4 })).not.toBe(signAckLink(SECRET, claims));
  });

  it('expired at exp and after', () => {
    const token = signAckLink(SECRET, claims);
    expect(verifyAckLink(SECRET, token, claims.exp - 1).ok).toBe(true);
    expect(verifyAckLink(SECRET, token, claims.exp)).toEqual({ ok: false, code: 'link_expired' });
    expect(verifyAckLink(SECRET, token, claims.exp + 86_400_000)).toEqual({ ok: false, code: 'link_expired' });
  });

  it('carries exp in whole seconds, rounded up (never shorter than asked)', () => {
    const token = signAckLink(SECRET, { ...claims, exp: NOW + 1500 });
    expect(verifyAckLink(SECRET, token, NOW)).toEqual({ ok: true, claims: { ...claims, exp: NOW + 2000 } });
    expect(verifyAckLink(SECRET, token, NOW + 1999).ok).toBe(true);
    expect(verifyAckLink(SECRET, token, NOW + 2000)).toEqual({ ok: false, code: 'link_expired' });
  });

  it('an expired link with a bad signature is invalid, not expired', () => {
    const [payload, sig] = signAckLink(SECRET, claims).split('.') as [string, string];
    expect(verifyAckLink(SECRET, `${payload}.${flip(sig, 0)}`, claims.exp + 1)).toEqual({ ok: false, code: 'link_invalid' });
  });

  it('a payload re-signed without the secret is invalid (e.g. a longer expiry)', () => {
    const [, sig] = signAckLink(SECRET, claims).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ a: claims.alert, e: claims.episode, c: 'M01', x: claims.exp * 2 })).toString('base64url');
    expect(verifyAckLink(SECRET, `${forged}.${sig}`, NOW)).toEqual({ ok: false, code: 'link_invalid' });
  });

  it.each([
    ['payload tampered', (t: string) => flip(t, 2)],
    ['signature tampered', (t: string) => flip(t, t.length - 3)],
    ['signature truncated', (t: string) => t.slice(0, -2)],
    ['signature missing', (t: string) => t.split('.')[0]!],
    ['extra part', (t: string) => `${t}.x`],
    ['empty', () => ''],
    ['garbage', () => 'not-a-token'],
    ['huge', (t: string) => `${'A'.repeat(5000)}${t}`],
  ])('invalid: %s', (_name, mutate) => {
    expect(verifyAckLink(SECRET, mutate(signAckLink(SECRET, claims)), NOW)).toEqual({ ok: false, code: 'link_invalid' });
  });

  it('invalid under another secret', () => {
    expect(verifyAckLink('another-secret', signAckLink(SECRET, claims), NOW)).toEqual({ ok: false, code: 'link_invalid' });
  });

  it('well signed but malformed claims are invalid', () => {
    const bad = signAckLink(SECRET, { ...claims, alert: '' });
    expect(verifyAckLink(SECRET, bad, NOW)).toEqual({ ok: false, code: 'link_invalid' });
  });
});

describe('ackUrl', () => {
  it.each([
    ['https://lookout.example.com', 'https://lookout.example.com/ack/abc.def'],
    ['https://lookout.example.com/', 'https://lookout.example.com/ack/abc.def'],
    ['http://localhost:8080/lookout', 'http://localhost:8080/lookout/ack/abc.def'],
  ])('%s', (base, url) => {
    expect(ackUrl(base, 'abc.def')).toBe(url);
  });
});
