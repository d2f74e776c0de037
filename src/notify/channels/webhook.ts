// A JSON POST to the contact's own webhook (an enterprise chat bot).

import { ChannelError, type Channel, type OutgoingMessage, type SendResult } from './channel.js';
import { networkErrorCode } from './http-sms.js';

export interface WebhookOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export function webhookBody(message: OutgoingMessage): Record<string, unknown> {
  return { id: message.id, title: message.subject, text: message.text, ...message.data };
}

export class WebhookChannel implements Channel {
  readonly name = 'webhook' as const;
  readonly transport = 'webhook';
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(opts: WebhookOptions = {}) {
    this.headers = { 'content-type': 'application/json', ...opts.headers };
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const url = message.to.webhook;
    if (!url) throw new ChannelError('permanent', 'no_webhook', `contact ${message.to.contact} has no webhook`);
    if (!/^https?:\/\/[^\s]+$/i.test(url) || !URL.canParse(url)) {
      throw new ChannelError('permanent', 'bad_webhook', `contact ${message.to.contact} has an invalid webhook URL`);
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify(webhookBody(message)),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.arrayBuffer();
    } catch (err) {
      // Per-contact targets: one bot being down must not hold back everyone's webhooks.
      const code = networkErrorCode(err);
      throw new ChannelError('retryable', code, `webhook unreachable (${code})`);
    }
    if (res.status >= 200 && res.status < 300) return { providerIds: [message.id] };
    const kind = res.status === 429 || res.status >= 500 || res.status < 400 ? 'retryable' : 'permanent';
    throw new ChannelError(kind, `http_${res.status}`, `webhook answered ${res.status}`);
  }

  async close(): Promise<void> {}
}
