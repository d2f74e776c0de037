// pino with redaction: tokens, passwords and phone numbers never reach the logs.

import { pino, type Logger } from 'pino';
import { maskPhone } from '../notify/mask.js';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  'password',
  'secret',
  'linkSecret',
  '*.token',
  '*.password',
  '*.secret',
  '*.linkSecret',
];

// Mainland mobile numbers, bare or with +86/86, not inside a longer run of digits.
const PHONE_RE = /(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)/g;
const URL_CREDENTIALS_RE = /\/\/[^\s/@]+@/g;

/** Mask phone numbers and URL credentials wherever they appear in a string. */
export function scrubText(s: string): string {
  return s.replace(PHONE_RE, (m) => maskPhone(m)).replace(URL_CREDENTIALS_RE, '//***@');
}

function scrub(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return scrubText(v);
  if (depth > 6 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
  if (v instanceof Error) return { type: v.name, message: scrubText(v.message), stack: v.stack ? scrubText(v.stack) : undefined };
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrub(x, depth + 1);
  return out;
}

/** Remove credentials from a URL for logs: redis://:pw@host → redis://***@host. */
export function createLogger(opts: { level: string; pretty?: boolean; name?: string; destination?: NodeJS.WritableStream }): Logger {
  const options = {
    name: opts.name ?? 'lookout',
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Phones and URL credentials are masked in every field and message, not only known paths.
    formatters: { log: (obj: Record<string, unknown>) => scrub(obj, 0) as Record<string, unknown> },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubText(a) : a)));
      },
    },
  };
  if (opts.pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' } } });
  }
  return opts.destination ? pino(options, opts.destination as unknown as pino.DestinationStream) : pino(options);
}
