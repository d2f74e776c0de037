// Channel wiring: the URL scheme of LOOKOUT_SMS_URL / LOOKOUT_SMTP_URL picks the transport.

import type { Logger } from 'pino';
import type { Channel, SmsListener } from './channel.js';
import { HttpSmsChannel } from './http-sms.js';
import { OutboxChannel } from './outbox.js';
import { SmppSmsChannel } from './smpp.js';
import { SmtpEmailChannel } from './smtp.js';
import { WebhookChannel } from './webhook.js';

export * from './channel.js';
export { HttpSmsChannel } from './http-sms.js';
export { OutboxChannel, readOutbox, type OutboxEntry } from './outbox.js';
export { SmppSmsChannel } from './smpp.js';
export { SmtpEmailChannel } from './smtp.js';
export { WebhookChannel } from './webhook.js';
export { encodeSms, decodeSms, segmentsOf } from './sms-encoding.js';

export interface ChannelsOptions {
  readonly smsUrl: string;
  readonly smtpUrl: string;
  readonly smsFrom: string;
  readonly smtpFrom: string;
  readonly smsHttpHeaders: Record<string, string>;
  readonly smsHttpBody: string;
  readonly outboxDir: string;
  readonly clock: { now(): number };
  readonly listener: SmsListener;
  readonly logger: Logger;
  readonly onOutbox?: (line: string) => void;
}

export interface Channels {
  readonly sms: Channel;
  readonly email: Channel;
  readonly webhook: Channel;
  close(): Promise<void>;
}

function schemeOf(url: string, envName: string): string {
  if (!URL.canParse(url)) throw new Error(`${envName} is not a valid URL`);
  return new URL(url).protocol.replace(/:$/, '');
}

/** Builds the three channels; an SMPP channel is started (bound, or binding in the background). */
export async function createChannels(opts: ChannelsOptions): Promise<Channels> {
  const outbox = (name: 'sms' | 'email' | 'webhook'): OutboxChannel =>
    new OutboxChannel(name, { dir: opts.outboxDir, clock: opts.clock, ...(opts.onOutbox ? { onLine: opts.onOutbox } : {}) });

  const smsScheme = schemeOf(opts.smsUrl, 'LOOKOUT_SMS_URL');
  const smtpScheme = schemeOf(opts.smtpUrl, 'LOOKOUT_SMTP_URL');
  if (!['outbox', 'smtp', 'smtps'].includes(smtpScheme)) {
    throw new Error(`LOOKOUT_SMTP_URL: unsupported scheme ${smtpScheme}: (use smtp://, smtps:// or outbox:)`);
  }

  let sms: Channel;
  if (smsScheme === 'outbox') {
    sms = outbox('sms');
  } else if (smsScheme === 'smpp') {
    // A source_addr in the URL is more specific than LOOKOUT_SMS_FROM.
    const from = new URL(opts.smsUrl).searchParams.get('source_addr') || opts.smsFrom;
    const smpp = new SmppSmsChannel(opts.smsUrl, { from, listener: opts.listener, logger: opts.logger });
    await smpp.start();
    sms = smpp;
  } else if (smsScheme === 'http' || smsScheme === 'https') {
    sms = new HttpSmsChannel(opts.smsUrl, { headers: opts.smsHttpHeaders, body: opts.smsHttpBody, from: opts.smsFrom });
  } else {
    throw new Error(`LOOKOUT_SMS_URL: unsupported scheme ${smsScheme}: (use smpp://, http(s):// or outbox:)`);
  }

  const email: Channel =
    smtpScheme === 'outbox' ? outbox('email') : new SmtpEmailChannel(opts.smtpUrl, { from: opts.smtpFrom, logger: opts.logger });

  // Without a real SMS gateway (dev, demo) there is no network either: webhooks go to the outbox.
  const webhook: Channel = smsScheme === 'outbox' ? outbox('webhook') : new WebhookChannel();

  return {
    sms,
    email,
    webhook,
    async close() {
      await Promise.allSettled([sms.close(), email.close(), webhook.close()]);
    },
  };
}
