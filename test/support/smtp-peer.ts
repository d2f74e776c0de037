// A real SMTP server for tests (smtp-server, no TLS, any or no login), each mail parsed with mailparser.

import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../../src/redis/embedded.js';

export interface ReceivedMail {
  readonly from: string;
  readonly to: string[];
  readonly subject: string;
  readonly text: string;
  /** mailparser turns cid: images into data: URLs here, as a mail client shows them. */
  readonly html: string;
  readonly attachments: readonly ReceivedAttachment[];
  /** Lower-case header names. */
  readonly headers: Map<string, unknown>;
}

export interface ReceivedAttachment {
  readonly filename?: string;
  readonly contentType: string;
  /** Content-ID without angle brackets. */
  readonly cid?: string;
  /** inline | attachment */
  readonly disposition?: string;
  /** Part of the multipart/related body next to the HTML. */
  readonly related: boolean;
  readonly content: Buffer;
}

export interface SmtpPeer {
  readonly port: number;
  /** smtp://127.0.0.1:port */
  readonly url: string;
  readonly messages: ReceivedMail[];
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Answer the DATA of the next `count` mails with this code (e.g. 451, 550). */
  failNext(code: number, count?: number): void;
  close(): Promise<void>;
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.flatMap((a) => a.value.map((v) => v.address ?? '')).filter(Boolean);
}

export async function startSmtpPeer(): Promise<SmtpPeer> {
  const port = await freePort();
  const messages: ReceivedMail[] = [];
  let failures: number[] = [];

  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'test' });
    },
    onData(stream, _session, callback) {
      const code = failures.shift();
      if (code !== undefined) {
        stream.on('end', () => callback(Object.assign(new Error(`test failure ${code}`), { responseCode: code })));
        stream.resume();
        return;
      }
      simpleParser(stream)
        .then((mail) => {
          messages.push({
            from: addresses(mail.from)[0] ?? '',
            to: addresses(mail.to),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            html: typeof mail.html === 'string' ? mail.html : '',
            attachments: mail.attachments.map((a) => ({
              ...(a.filename !== undefined && { filename: a.filename }),
              contentType: a.contentType,
              ...(a.cid !== undefined && { cid: a.cid }),
              ...(a.contentDisposition !== undefined && { disposition: a.contentDisposition }),
              related: a.related === true,
              content: a.content,
            })),
            headers: mail.headers as Map<string, unknown>,
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`smtp peer: ${messages.length} of ${n} mails after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return [...messages];
    },
    failNext(code, count = 1) {
      failures = [...failures, ...Array.from({ length: count }, () => code)];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
