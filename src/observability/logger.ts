// pino with redaction: tokens, passwords and phone numbers never reach the logs.

import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  'password',
  'secret',
  '*.token',
  '*.password',
  '*.secret',
  'phone',
  '*.phone',
];

/** 13800000001 → 138****0001. */
export function maskPhone(s: string): string {
  return s.replace(/(?<!\d)(\+?86)?(1\d{2})\d{4}(\d{4})(?!\d)/g, (_m, cc: string | undefined, a: string, b: string) => `${cc ?? ''}${a}****${b}`);
}

/** Remove credentials from a URL for logs: redis://:pw@host → redis://***@host. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export function createLogger(opts: { level: string; pretty?: boolean; name?: string; destination?: NodeJS.WritableStream }): Logger {
  const options = {
    name: opts.name ?? 'lookout',
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (opts.pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' } } });
  }
  return opts.destination ? pino(options, opts.destination as unknown as pino.DestinationStream) : pino(options);
}
