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
