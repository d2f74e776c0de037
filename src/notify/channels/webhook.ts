// A JSON POST to the contact's own webhook: a generic JSON endpoint, or a WeCom / DingTalk group
// robot in its own message format (robots.ts), its errcode checked inside the HTTP 200.

import { systemClock } from '../../domain/clock.js';
import { ChannelError, type Channel, type OutgoingMessage, type SendResult } from './channel.js';
import { networkErrorCode } from './http-sms.js';
import { robotAnswer, robotBody, robotTarget, robotUrl } from './robots.js';

export interface WebhookOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Wall clock for DingTalk's signature timestamp (its server checks it within an hour). */
  readonly now?: () => number;
}

export function webhookBody(message: OutgoingMessage): Record<string, unknown> {
  return { id: message.id, title: message.subject, text: message.text, ...message.data };
}

export class WebhookChannel implements Channel {
  readonly name = 'webhook' as const;
  readonly transport = 'webhook';
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(opts: WebhookOptions = {}) {
    this.headers = { 'content-type': 'application/json', ...opts.headers };
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.now = opts.now ?? (() => systemClock.now());
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const url = message.to.webhook;
    if (!url) throw new ChannelError('permanent', 'no_webhook', `contact ${message.to.contact} has no webhook`);
    const target = robotTarget(url);
    if (!target) {
      throw new ChannelError('permanent', 'bad_webhook', `contact ${message.to.contact} has an invalid webhook URL`);
    }
    let res: Response;
    let answer: string;
    try {
      res = await fetch(robotUrl(target, this.now()), {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify(target.kind === 'generic' ? webhookBody(message) : robotBody(target.kind, message)),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      answer = await res.text();
    } catch (err) {
      // Per-contact targets: one bot being down must not hold back everyone's webhooks.
      const code = networkErrorCode(err);
      throw new ChannelError('retryable', code, `webhook unreachable (${code})`);
    }
    if (res.status >= 200 && res.status < 300) {
      const refused = target.kind === 'generic' ? undefined : robotAnswer(target.kind, answer);
      if (refused) throw refused;
      return { providerIds: [message.id] };
    }
    const kind = res.status === 429 || res.status >= 500 || res.status < 400 ? 'retryable' : 'permanent';
    throw new ChannelError(kind, `http_${res.status}`, `webhook answered ${res.status}`);
  }

  async close(): Promise<void> {}
}
