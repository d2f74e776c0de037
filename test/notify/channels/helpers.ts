// Shared bits for the channel tests: a log-capturing pino logger and a scriptable HTTP target.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { pino, type Logger } from 'pino';
import { ChannelError, type OutgoingMessage } from '../../../src/notify/channels/channel.js';
import { freePort } from '../../../src/redis/embedded.js';

export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

export interface HttpRequestSeen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpTarget {
  readonly url: string;
  readonly requests: HttpRequestSeen[];
  /** Next responses, in order; afterwards 200 `{}`. `status: 0` never answers. */
  respond(...replies: { status: number; body?: string }[]): void;
  close(): Promise<void>;
}

export async function startHttpTarget(): Promise<HttpTarget> {
  const requests: HttpRequestSeen[] = [];
  let replies: { status: number; body?: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = replies.shift() ?? { status: 200, body: '{}' };
      if (reply.status === 0) return;
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body ?? '{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/send`,
    requests,
    respond: (...r) => void (replies = [...replies, ...r]),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An SMS to 王伟 (CM01); `phone: null` leaves the number out. */
export function sms(id: string, text: string, phone: string | null = '13803730001'): OutgoingMessage {
  return { id, channel: 'sms', to: { contact: 'CM01', name: '王伟', ...(phone ? { phone } : {}) }, text };
}

/** The ChannelError a promise rejects with (fails the test when it resolves or throws something else). */
export async function channelError(p: Promise<unknown>): Promise<ChannelError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ChannelError) return err;
    throw err;
  }
  throw new Error('expected a ChannelError, but the send succeeded');
}
