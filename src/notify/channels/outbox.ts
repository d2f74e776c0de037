// Development and demo delivery: every message becomes a JSON line in <dir>/<channel>.jsonl and a
// readable one-liner (phone masked), nothing leaves the machine. An email's line keeps its HTML
// part and its inline images (base64), as an SMTP server would have received them.

import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { maskPhone } from '../mask.js';
import { ChannelError, type Address, type Channel, type OutgoingMessage, type SendResult } from './channel.js';
import type { ChannelName, MailAttachment } from '../../domain/notification.js';
import { segmentsOf } from './sms-encoding.js';

export interface OutboxEntry {
  /** ISO time the message was written. */
  readonly at: string;
  readonly id: string;
  readonly channel: ChannelName;
  readonly to: { readonly contact: string; readonly name?: string; readonly phone?: string; readonly email?: string; readonly webhook?: string };
  readonly subject?: string;
  readonly text: string;
  /** Email only: the HTML part and its inline images (cid, base64). */
  readonly html?: string;
  readonly attachments?: readonly MailAttachment[];
  /** SMS only. */
  readonly segments?: number;
}

export interface OutboxOptions {
  readonly dir: string;
  readonly clock: { now(): number };
  /** Called with a readable line per message (the demo prints these). */
  readonly onLine?: (line: string) => void;
}

const PREVIEW_CHARS = 60;

export function outboxFile(dir: string, name: ChannelName): string {
  return join(dir, `${name}.jsonl`);
}

/** The outbox lines of one channel, oldest first; [] when nothing was written yet. */
export async function readOutbox(dir: string, name: ChannelName): Promise<OutboxEntry[]> {
  let raw: string;
  try {
    raw = await readFile(outboxFile(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return raw
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as OutboxEntry);
}

function preview(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS)}…` : flat;
}

function who(to: Address): string {
  return to.name ? `${to.name} ${to.contact}` : to.contact;
}

/** The readable one-liner for a message; phones masked, webhook URLs cut to their host. */
export function outboxLine(entry: OutboxEntry): string {
  const { to } = entry;
  switch (entry.channel) {
    case 'sms':
      // An SMS is short by design; cutting it would hide the 确认 code the reader needs.
      return `SMS → ${who(to)} ${maskPhone(to.phone)} (${entry.segments ?? 1} 条): ${entry.text.replace(/\s*\n\s*/g, ' ').trim()}`;
    case 'email':
      return `EMAIL → ${who(to)} <${to.email ?? ''}> ${entry.subject ?? preview(entry.text)}`;
    case 'webhook': {
      const host = to.webhook && URL.canParse(to.webhook) ? new URL(to.webhook).host : '';
      return `WEBHOOK → ${who(to)} ${host}: ${entry.subject ?? preview(entry.text)}`;
    }
  }
}

function addressFor(name: ChannelName, to: Address): { value: string | undefined; field: 'phone' | 'email' | 'webhook' } {
  if (name === 'sms') return { value: to.phone, field: 'phone' };
  if (name === 'email') return { value: to.email, field: 'email' };
  return { value: to.webhook, field: 'webhook' };
}

export class OutboxChannel implements Channel {
  readonly transport = 'outbox';
  private ready: Promise<unknown> | undefined;
  /** Appends in call order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: ChannelName,
    private readonly opts: OutboxOptions,
  ) {}

  get file(): string {
    return outboxFile(this.opts.dir, this.name);
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const { value, field } = addressFor(this.name, message.to);
    // Same failure as the real channel, so failover behaves alike in the demo.
    if (!value) throw new ChannelError('permanent', `no_${field}`, `contact ${message.to.contact} has no ${field}`);
    const to: OutboxEntry['to'] = { contact: message.to.contact, ...(message.to.name ? { name: message.to.name } : {}), [field]: value };
    const entry: OutboxEntry = {
      at: new Date(this.opts.clock.now()).toISOString(),
      id: message.id,
      channel: this.name,
      to,
      ...(message.subject !== undefined ? { subject: message.subject } : {}),
      text: message.text,
      ...(this.name === 'email' && message.html !== undefined ? { html: message.html } : {}),
      ...(this.name === 'email' && message.attachments?.length ? { attachments: message.attachments } : {}),
      ...(this.name === 'sms' ? { segments: segmentsOf(message.text) } : {}),
    };
    const write = this.queue.then(async () => {
      this.ready ??= mkdir(this.opts.dir, { recursive: true });
      await this.ready;
      await appendFile(this.file, `${JSON.stringify(entry)}\n`, 'utf8');
    });
    this.queue = write.catch(() => undefined);
    try {
      await write;
    } catch (err) {
      this.ready = undefined;
      throw new ChannelError('unavailable', 'outbox_write', `outbox write failed: ${(err as Error).message}`);
    }
    this.opts.onLine?.(outboxLine(entry));
    const result: SendResult = { providerIds: [`outbox-${message.id}`] };
    return entry.segments !== undefined ? { ...result, segments: entry.segments } : result;
  }

  async close(): Promise<void> {
    await this.queue;
  }
}
