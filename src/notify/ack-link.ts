// Signed, expiring acknowledgement links: `<publicUrl>/ack/<base64url(claims)>.<base64url(hmac)>`.
// The signature is the credential, so the token names the alert, its episode and the contact.

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface AckLinkClaims {
  /** Alert id. */
  readonly alert: string;
  /** The alert's episode: a link never acknowledges a later episode. */
  readonly episode: number;
  /** Contact id the link was sent to (recorded as the acknowledger). */
  readonly contact: string;
  /** Expiry, epoch ms (carried in whole seconds, rounded up). */
  readonly exp: number;
}

export type AckLinkVerdict =
  | { readonly ok: true; readonly claims: AckLinkClaims }
  | { readonly ok: false; readonly code: 'link_invalid' | 'link_expired' };

// 128 bits of HMAC-SHA256 are ample for a link and keep the URL short.
const SIG_BYTES = 16;
const MAX_TOKEN_CHARS = 1024;

function sign(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest().subarray(0, SIG_BYTES);
}

export function signAckLink(secret: string, claims: AckLinkClaims): string {
  const payload = Buffer.from(JSON.stringify({ a: claims.alert, e: claims.episode, c: claims.contact, x: Math.ceil(claims.exp / 1000) })).toString('base64url');
  return `${payload}.${sign(secret, payload).toString('base64url')}`;
}

export function verifyAckLink(secret: string, token: string, now: number): AckLinkVerdict {
  const invalid = { ok: false, code: 'link_invalid' } as const;
  if (token.length > MAX_TOKEN_CHARS) return invalid;
  const parts = token.split('.');
  if (parts.length !== 2) return invalid;
  const [payload, sig] = parts as [string, string];
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== SIG_BYTES || given.toString('base64url') !== sig) return invalid;
  if (!timingSafeEqual(given, sign(secret, payload))) return invalid;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return invalid;
  }
  const c = raw as { a?: unknown; e?: unknown; c?: unknown; x?: unknown } | null;
  if (
    c === null || typeof c !== 'object' ||
    typeof c.a !== 'string' || c.a === '' ||
    !Number.isSafeInteger(c.e) ||
    typeof c.c !== 'string' || c.c === '' ||
    typeof c.x !== 'number' || !Number.isFinite(c.x)
  ) {
    return invalid;
  }
  const exp = c.x * 1000;
  if (now >= exp) return { ok: false, code: 'link_expired' };
  return { ok: true, claims: { alert: c.a, episode: c.e as number, contact: c.c, exp } };
}

export function ackUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/ack/${token}`;
}
