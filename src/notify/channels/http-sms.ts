// SMS through an HTTP gateway: one JSON POST per message, body rendered from a template.

import { ChannelError, type Channel, type OutgoingMessage, type SendResult } from './channel.js';
import { segmentsOf } from './sms-encoding.js';

export interface HttpSmsOptions {
  /** Extra request headers (API keys …); content-type is application/json unless overridden. */
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON template with {{to}} {{text}} {{id}} {{from}} placeholders inside string literals. */
  readonly body: string;
  readonly from: string;
  readonly timeoutMs?: number;
}

export type BodyValues = Readonly<Record<'to' | 'text' | 'id' | 'from', string>>;

const PLACEHOLDER = /\{\{\s*(to|text|id|from)\s*\}\}/g;

/** Substitute placeholders as JSON string contents (quotes, newlines and 中文 stay valid JSON). */
export function renderBody(template: string, values: BodyValues): string {
  return template.replace(PLACEHOLDER, (_m, key: keyof BodyValues) => JSON.stringify(values[key]).slice(1, -1));
}

/** Throws an Error naming LOOKOUT_SMS_HTTP_BODY unless the template renders valid JSON. */
export function validateBodyTemplate(template: string): void {
  const sample = renderBody(template, { to: '13800000000', text: '测试 "quoted"\nline\\2', id: 'n-1', from: '10658000' });
  try {
    JSON.parse(sample);
  } catch (err) {
    throw new Error(`LOOKOUT_SMS_HTTP_BODY does not render valid JSON (placeholders go inside string literals, e.g. "{{text}}"): ${(err as Error).message}`);
  }
}

/** Network failures of fetch → a short code: econnrefused, timeout, enotfound … */
export function networkErrorCode(err: unknown): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.cause?.name === 'TimeoutError') return 'timeout';
  const code = e.cause?.code ?? e.code;
  return code ? code.toLowerCase() : 'network';
}

/** Provider message id from a gateway's JSON reply: id, messageId, message_id or data.id. */
export function providerIdFrom(json: unknown): string | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const o = json as Record<string, unknown>;
  const data = o.data && typeof o.data === 'object' ? (o.data as Record<string, unknown>) : undefined;
  for (const v of [o.id, o.messageId, o.message_id, data?.id]) {
    if (typeof v === 'string' && v) return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

export class HttpSmsChannel implements Channel {
  readonly name = 'sms' as const;
  readonly transport = 'http';
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(
    private readonly url: string,
    private readonly opts: HttpSmsOptions,
  ) {
    validateBodyTemplate(opts.body);
    this.headers = { 'content-type': 'application/json', ...opts.headers };
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const to = message.to.phone?.replace(/[\s-]/g, '');
    if (!to) throw new ChannelError('permanent', 'no_phone', `contact ${message.to.contact} has no phone`);
    const body = renderBody(this.opts.body, { to, text: message.text, id: message.id, from: this.opts.from });
    let res: Response;
    let reply: string;
    try {
      res = await fetch(this.url, { method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      reply = await res.text();
    } catch (err) {
      const code = networkErrorCode(err);
      // A refused or unresolvable gateway never saw the request; a timeout or a reset may have.
      const inDoubt = code === 'timeout' || code === 'econnreset' || code === 'und_err_socket';
      throw new ChannelError('unavailable', code, `SMS gateway unreachable (${code})`, inDoubt);
    }
    if (res.status === 429 || res.status >= 500) {
      throw new ChannelError('retryable', `http_${res.status}`, `SMS gateway answered ${res.status}`);
    }
    if (res.status >= 400) throw new ChannelError('permanent', `http_${res.status}`, `SMS gateway answered ${res.status}`);
    if (res.status < 200 || res.status >= 300) {
      throw new ChannelError('retryable', `http_${res.status}`, `SMS gateway answered ${res.status}`);
    }
    let providerId: string | undefined;
    try {
      providerId = providerIdFrom(JSON.parse(reply));
    } catch {
      providerId = undefined;
    }
    return { providerIds: [providerId ?? message.id], segments: segmentsOf(message.text) };
  }

  async close(): Promise<void> {}
}
