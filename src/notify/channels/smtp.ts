// E-mail over SMTP with nodemailer: UTF-8 text + HTML parts (inline images by cid), one connection per message.

import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import { ChannelError, type Channel, type OutgoingMessage, type SendResult } from './channel.js';
import type { MailAttachment } from '../../domain/notification.js';

export interface SmtpChannelOptions {
  /** From header, e.g. `Lookout 预警 <lookout@example.com>`. */
  readonly from: string;
  readonly logger: Logger;
  /** Connect / greeting timeout; the socket idle timeout is three times this. Default 10 s. */
  readonly timeoutMs?: number;
}

const CONNECTION_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ESOCKET', 'ECONNECTION', 'EDNS', 'ECONNRESET']);

/** nodemailer error → ChannelError: 4xx retryable, 5xx permanent, no connection unavailable. */
export function smtpError(err: unknown): ChannelError {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const message = e.message ?? String(err);
  // A rejected login fails every message alike: the gateway is unusable, not this message.
  if (e.code === 'EAUTH') return new ChannelError('unavailable', 'smtp_auth', `SMTP login rejected: ${message}`);
  if (typeof e.responseCode === 'number' && e.responseCode >= 400) {
    const kind = e.responseCode >= 500 ? 'permanent' : 'retryable';
    return new ChannelError(kind, `smtp_${e.responseCode}`, `SMTP server answered ${e.responseCode}: ${message}`);
  }
  if (e.code && CONNECTION_CODES.has(e.code)) {
    const code = /ECONNREFUSED/.test(message) ? 'econnrefused' : e.code === 'ETIMEDOUT' ? 'timeout' : e.code.toLowerCase();
    return new ChannelError('unavailable', code, `SMTP server unreachable (${code})`);
  }
  return new ChannelError('retryable', e.code ? e.code.toLowerCase() : 'smtp_error', `SMTP send failed: ${message}`);
}

function smtpTransport(url: string, timeoutMs: number) {
  return createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs * 3 });
}

/** A Message-ID stable across retries, so recipients' mail systems can drop duplicates. */
export function messageIdFor(id: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'lookout.local';
  return `<${id.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '_')}@${domain}>`;
}

/** An attachment as nodemailer takes it: images with a cid go inline (multipart/related). */
function mailAttachment(a: MailAttachment) {
  return {
    filename: a.filename,
    contentType: a.contentType,
    content: Buffer.from(a.content, 'base64'),
    ...(a.cid ? { cid: a.cid, contentDisposition: 'inline' as const } : {}),
  };
}

export class SmtpEmailChannel implements Channel {
  readonly name = 'email' as const;
  readonly transport = 'smtp';
  private readonly mailer: ReturnType<typeof smtpTransport>;
  private readonly log: Logger;

  constructor(
    url: string,
    private readonly opts: SmtpChannelOptions,
  ) {
    this.mailer = smtpTransport(url, opts.timeoutMs ?? 10_000);
    this.log = opts.logger.child({ channel: 'email', transport: 'smtp' });
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const address = message.to.email?.trim();
    if (!address) throw new ChannelError('permanent', 'no_email', `contact ${message.to.contact} has no e-mail`);
    try {
      const info = await this.mailer.sendMail({
        from: this.opts.from,
        to: message.to.name ? { name: message.to.name, address } : address,
        subject: message.subject ?? '',
        text: message.text,
        ...(message.html !== undefined ? { html: message.html } : {}),
        ...(message.attachments?.length ? { attachments: message.attachments.map(mailAttachment) } : {}),
        messageId: messageIdFor(message.id, this.opts.from),
        headers: { 'X-Lookout-Notification': message.id },
      });
      this.log.debug({ id: message.id }, 'email sent');
      return { providerIds: [String(info.messageId)] };
    } catch (err) {
      throw smtpError(err);
    }
  }

  async close(): Promise<void> {
    this.mailer.close();
  }
}
