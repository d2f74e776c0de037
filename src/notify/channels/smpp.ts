// SMS over SMPP 3.4: one transceiver session to the SMSC, kept bound (enquire_link, reconnect with
// backoff); submits go out one at a time in call order; receipts and MO replies go to the listener.

import smpp from 'smpp';
import type { Logger } from 'pino';
import { maskPhone } from '../mask.js';
import {
  ChannelError,
  type Channel,
  type DeliveryReceipt,
  type FailureKind,
  type OutgoingMessage,
  type SendResult,
  type SmsListener,
} from './channel.js';
import { concatFromIes, decodeSms, encodeSms, ESM_CLASS_UDHI, type DecodedSms, type EncodedSms } from './sms-encoding.js';
import type { ReceiptStatus } from '../../domain/notification.js';

export interface SmppConfig {
  readonly host: string;
  readonly port: number;
  readonly systemId: string;
  readonly password: string;
  readonly systemType: string;
  readonly sourceAddr: string;
  readonly enquireLinkMs: number;
  readonly bindWaitMs: number;
  readonly responseTimeoutMs: number;
}

export interface SmppChannelOptions {
  /** source_addr of submitted messages; default: the URL's source_addr. */
  readonly from?: string;
  readonly listener: SmsListener;
  readonly logger: Logger;
  readonly reconnect?: { readonly minMs: number; readonly maxMs: number };
  /** Wait for a submit_sm_resp / bind / enquire_link answer; default: the URL's response_timeout_ms (10 s). */
  readonly responseTimeoutMs?: number;
}

const ESM_CLASS_RECEIPT = 0x04;
/** Unanswered halves of a concatenated MO message are dropped after this long. */
const MO_PARTIAL_TTL_MS = 10 * 60_000;

/** submit_sm_resp statuses that mean "this message will never go through". */
const PERMANENT_STATUSES: ReadonlySet<number> = new Set([
  0x01, // ESME_RINVMSGLEN
  0x0a, // ESME_RINVSRCADR
  0x0b, // ESME_RINVDSTADR
  0x33, // ESME_RINVNUMDESTS
  0x43, // ESME_RINVESMCLASS
  0x48, // ESME_RINVSRCTON
  0x49, // ESME_RINVSRCNPI
  0x50, // ESME_RINVDSTTON
  0x51, // ESME_RINVDSTNPI
  0x66, // ESME_RX_R_APPN
  0x104, // ESME_RINVDCS
]);

/** message_state TLV values as the receipt text's stat words. */
const MESSAGE_STATE_WORDS: Readonly<Record<number, string>> = {
  0: 'SCHEDULED',
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
  9: 'SKIPPED',
};

export function parseSmppUrl(url: string): SmppConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('LOOKOUT_SMS_URL is not a valid smpp:// URL');
  }
  if (u.protocol !== 'smpp:') throw new Error(`LOOKOUT_SMS_URL: expected smpp://, got ${u.protocol}//`);
  if (!u.hostname || !u.username) throw new Error('LOOKOUT_SMS_URL: smpp:// needs system_id and host (smpp://system_id:password@host:port)');
  const q = u.searchParams;
  const num = (key: string, fallback: number): number => {
    const raw = q.get(key);
    if (raw === null || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`LOOKOUT_SMS_URL: ${key} must be a non-negative number`);
    return n;
  };
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 2775,
    systemId: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    systemType: q.get('system_type') ?? '',
    sourceAddr: q.get('source_addr') ?? '',
    enquireLinkMs: num('enquire_link_s', 30) * 1000,
    bindWaitMs: num('bind_wait_ms', 5000),
    responseTimeoutMs: num('response_timeout_ms', 10_000),
  };
}

export function submitStatusKind(status: number): FailureKind {
  return PERMANENT_STATUSES.has(status) ? 'permanent' : 'retryable';
}

export function smppStatusCode(status: number): string {
  return `smpp_0x${status.toString(16).padStart(8, '0')}`;
}

export function receiptStatus(stat: string): ReceiptStatus {
  switch (stat.toUpperCase()) {
    case 'DELIVRD':
      return 'delivered';
    case 'UNDELIV':
      return 'failed';
    case 'EXPIRED':
      return 'expired';
    case 'REJECTD':
      return 'rejected';
    default:
      return 'unknown';
  }
}

/** Fields of a receipt text: `id:XXXX sub:001 dlvrd:001 submit date:… done date:… stat:DELIVRD err:000 text:…`. */
export function parseReceiptText(text: string): { id?: string; stat?: string; err?: string } {
  const field = (name: string): string | undefined => new RegExp(`(?:^|\\s)${name}:(\\S+)`, 'i').exec(text)?.[1];
  const out: { id?: string; stat?: string; err?: string } = {};
  const id = field('id');
  const stat = field('stat');
  const err = field('err');
  if (id) out.id = id;
  if (stat) out.stat = stat.toUpperCase();
  if (err) out.err = err;
  return out;
}

/** Text and concatenation info of a deliver_sm, from the library's decoded short_message / message_payload. */
export function shortMessageOf(pdu: smpp.PDU): DecodedSms {
  const dataCoding = Number(pdu.data_coding ?? 0);
  const hasUdh = (Number(pdu.esm_class ?? 0) & ESM_CLASS_UDHI) !== 0;
  const short = decodedField(pdu.short_message, dataCoding, hasUdh);
  if (short.text || pdu.message_payload === undefined) return short;
  return decodedField(pdu.message_payload, dataCoding, hasUdh);
}

function decodedField(value: unknown, dataCoding: number, hasUdh: boolean): DecodedSms {
  if (Buffer.isBuffer(value)) return decodeSms(value, dataCoding, hasUdh);
  if (typeof value === 'string') return { text: value };
  if (!value || typeof value !== 'object' || !('message' in value)) return { text: '' };
  const { udh, message } = value as { udh?: unknown; message?: unknown };
  const concat = Array.isArray(udh) ? concatFromIes(udh.filter((b): b is Buffer => Buffer.isBuffer(b))) : undefined;
  // The library leaves data codings it does not know as raw bytes.
  const text = typeof message === 'string' ? message : Buffer.isBuffer(message) ? decodeSms(message, dataCoding, false).text : '';
  return concat ? { text, concat } : { text };
}

/** A delivery receipt deliver_sm → DeliveryReceipt; TLVs win over the text for the id. */
export function receiptOf(pdu: smpp.PDU): DeliveryReceipt | undefined {
  const fields = parseReceiptText(shortMessageOf(pdu).text);
  const tlvId = typeof pdu.receipted_message_id === 'string' ? pdu.receipted_message_id.trim() : '';
  const providerId = tlvId || fields.id;
  if (!providerId) return undefined;
  const tlvStat = typeof pdu.message_state === 'number' ? MESSAGE_STATE_WORDS[pdu.message_state] : undefined;
  const stat = fields.stat ?? tlvStat ?? 'UNKNOWN';
  const receipt: DeliveryReceipt = { providerId, status: receiptStatus(stat), stat };
  return fields.err ? { ...receipt, err: fields.err } : receipt;
}

interface PartialMo {
  readonly parts: Map<number, string>;
  readonly timer: NodeJS.Timeout;
}

export class SmppSmsChannel implements Channel {
  readonly name = 'sms' as const;
  readonly transport = 'smpp';
  readonly config: SmppConfig;
  private readonly from: string;
  private readonly listener: SmsListener;
  private readonly log: Logger;
  private readonly backoff: { readonly minMs: number; readonly maxMs: number };
  private session: smpp.Session | undefined;
  private bound = false;
  private closing = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private enquireTimer: NodeJS.Timeout | undefined;
  private enquireAnswerTimer: NodeJS.Timeout | undefined;
  private readonly bindWaiters = new Set<() => void>();
  /** Rejecters of submits waiting for a response on the current session. */
  private readonly inFlight = new Set<(err: ChannelError) => void>();
  private readonly partials = new Map<string, PartialMo>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(url: string, opts: SmppChannelOptions) {
    const parsed = parseSmppUrl(url);
    this.config = opts.responseTimeoutMs === undefined ? parsed : { ...parsed, responseTimeoutMs: opts.responseTimeoutMs };
    this.from = opts.from || parsed.sourceAddr;
    this.listener = opts.listener;
    this.backoff = opts.reconnect ?? { minMs: 500, maxMs: 30_000 };
    this.log = opts.logger.child({ channel: 'sms', transport: 'smpp', smsc: `${parsed.host}:${parsed.port}`, system_id: parsed.systemId });
  }

  get isBound(): boolean {
    return this.bound;
  }

  /** Connect and bind; resolves once bound or after bind_wait_ms (it keeps trying in the background). */
  async start(): Promise<void> {
    this.closing = false;
    if (!this.session && !this.reconnectTimer) this.connect();
    await this.waitBound(this.config.bindWaitMs);
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const phone = message.to.phone?.replace(/[\s-]/g, '');
    if (!phone) throw new ChannelError('permanent', 'no_phone', `contact ${message.to.contact} has no phone`);
    let encoded: EncodedSms;
    try {
      encoded = encodeSms(message.text, { id: message.id });
    } catch (err) {
      throw new ChannelError('permanent', 'too_long', (err as Error).message);
    }
    const run = this.queue.then(() => this.submitMessage(message.id, phone, encoded));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.stopEnquire();
    this.wakeBindWaiters();
    for (const p of this.partials.values()) clearTimeout(p.timer);
    this.partials.clear();
    const session = this.session;
    if (!session) return;
    if (this.bound) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(this.config.responseTimeoutMs, 1000));
        const sent = session.unbind({}, () => {
          clearTimeout(timer);
          resolve();
        });
        if (!sent) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    if (session.socket.destroyed) return;
    await new Promise<void>((resolve) => session.destroy(resolve));
  }

  private async submitMessage(id: string, phone: string, encoded: EncodedSms): Promise<SendResult> {
    if (this.closing) throw new ChannelError('unavailable', 'smpp_closed', 'SMPP channel is closed');
    if (!this.bound && !(await this.waitBound(this.config.bindWaitMs))) {
      throw new ChannelError('unavailable', 'smpp_unbound', `SMPP session to ${this.config.host}:${this.config.port} is not bound`);
    }
    const destination = phone.replace(/^\+/, '');
    const providerIds: string[] = [];
    for (const part of encoded.parts) {
      providerIds.push(
        await this.submitPart({
          source_addr: this.from,
          destination_addr: destination,
          registered_delivery: 1,
          esm_class: encoded.udh ? ESM_CLASS_UDHI : 0,
          data_coding: encoded.dataCoding,
          short_message: part,
        }),
      );
    }
    this.log.debug({ id, to: maskPhone(phone), segments: encoded.parts.length }, 'sms submitted');
    return { providerIds, segments: encoded.parts.length };
  }

  private submitPart(fields: Record<string, unknown>): Promise<string> {
    const session = this.session;
    if (!session || !this.bound) {
      return Promise.reject(new ChannelError('retryable', 'smpp_closed', 'SMPP session closed while submitting'));
    }
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const finish = (err: ChannelError | undefined, messageId = ''): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(finish);
        if (err) reject(err);
        else resolve(messageId);
      };
      const timer = setTimeout(
        () => finish(new ChannelError('retryable', 'smpp_timeout', `no submit_sm_resp within ${this.config.responseTimeoutMs} ms`, true)),
        this.config.responseTimeoutMs,
      );
      this.inFlight.add(finish);
      const sent = session.submit_sm(fields, (resp) => {
        if (resp.command_status === 0) finish(undefined, typeof resp.message_id === 'string' ? resp.message_id : '');
        else finish(new ChannelError(submitStatusKind(resp.command_status), smppStatusCode(resp.command_status), `submit_sm rejected (${smppStatusCode(resp.command_status)})`));
      });
      if (!sent) finish(new ChannelError('retryable', 'smpp_closed', 'SMPP session closed while submitting'));
    });
  }

  private connect(): void {
    if (this.closing) return;
    const session = smpp.connect({ host: this.config.host, port: this.config.port });
    this.session = session;
    // A peer that accepts TCP but never answers the bind must not stall us forever.
    const bindTimer = setTimeout(() => {
      this.log.warn('smpp bind timed out');
      session.destroy();
    }, this.config.responseTimeoutMs);
    session.on('connect', () => {
      session.bind_transceiver(
        { system_id: this.config.systemId, password: this.config.password, system_type: this.config.systemType },
        (resp) => {
          clearTimeout(bindTimer);
          if (this.session !== session) return;
          if (resp.command_status !== 0) {
            this.log.warn({ status: smppStatusCode(resp.command_status) }, 'smpp bind rejected');
            session.destroy();
            return;
          }
          this.bound = true;
          this.attempt = 0;
          this.log.info('smpp bound');
          this.startEnquire(session);
          this.wakeBindWaiters();
        },
      );
    });
    session.on('error', (err: Error) => {
      this.log.warn({ err: err.message }, 'smpp connection error');
      session.destroy();
    });
    session.on('close', () => {
      clearTimeout(bindTimer);
      if (this.session !== session) return;
      const wasBound = this.bound;
      this.session = undefined;
      this.bound = false;
      this.stopEnquire();
      for (const fail of [...this.inFlight]) fail(new ChannelError('retryable', 'smpp_closed', 'SMPP session closed while submitting', true));
      if (this.closing) return;
      if (wasBound) this.log.warn('smpp session closed');
      this.scheduleReconnect();
    });
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: smpp.PDU) => {
      session.send(pdu.response());
      session.close();
    });
    session.on('deliver_sm', (pdu: smpp.PDU) => this.onDeliver(session, pdu));
  }

  private scheduleReconnect(): void {
    const delay = Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    this.log.info({ delayMs: delay, attempt: this.attempt }, 'smpp reconnect scheduled');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  private startEnquire(session: smpp.Session): void {
    this.stopEnquire();
    if (this.config.enquireLinkMs <= 0) return;
    this.enquireTimer = setInterval(() => {
      if (this.enquireAnswerTimer) return;
      this.enquireAnswerTimer = setTimeout(() => {
        this.log.warn('smpp enquire_link unanswered; dropping the session');
        session.destroy();
      }, this.config.responseTimeoutMs);
      const answered = (): void => {
        clearTimeout(this.enquireAnswerTimer);
        this.enquireAnswerTimer = undefined;
      };
      if (!session.enquire_link({}, answered)) answered();
    }, this.config.enquireLinkMs);
  }

  private stopEnquire(): void {
    clearInterval(this.enquireTimer);
    clearTimeout(this.enquireAnswerTimer);
    this.enquireTimer = undefined;
    this.enquireAnswerTimer = undefined;
  }

  private waitBound(ms: number): Promise<boolean> {
    if (this.bound) return Promise.resolve(true);
    if (this.closing || ms <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.bindWaiters.delete(done);
        resolve(this.bound);
      };
      const timer = setTimeout(done, ms);
      this.bindWaiters.add(done);
    });
  }

  private wakeBindWaiters(): void {
    for (const wake of [...this.bindWaiters]) wake();
  }

  private onDeliver(session: smpp.Session, pdu: smpp.PDU): void {
    session.send(pdu.response());
    try {
      if ((Number(pdu.esm_class ?? 0) & ESM_CLASS_RECEIPT) !== 0) {
        const receipt = receiptOf(pdu);
        if (receipt) this.listener.receipt(receipt);
        else this.log.warn('smpp delivery receipt without a message id');
        return;
      }
      this.onMo(String(pdu.source_addr ?? ''), shortMessageOf(pdu));
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'smpp deliver_sm handling failed');
    }
  }

  private onMo(from: string, decoded: DecodedSms): void {
    const { concat } = decoded;
    if (!concat || concat.total <= 1) {
      this.emitInbound(from, decoded.text);
      return;
    }
    const key = `${from}|${concat.ref}|${concat.total}`;
    let partial = this.partials.get(key);
    if (!partial) {
      const timer = setTimeout(() => {
        this.partials.delete(key);
        this.log.warn({ from: maskPhone(from), total: concat.total }, 'incomplete concatenated MO message dropped');
      }, MO_PARTIAL_TTL_MS);
      timer.unref();
      partial = { parts: new Map(), timer };
      this.partials.set(key, partial);
    }
    partial.parts.set(concat.seq, decoded.text);
    if (partial.parts.size < concat.total) return;
    clearTimeout(partial.timer);
    this.partials.delete(key);
    const text = [...partial.parts.entries()].sort(([a], [b]) => a - b).map(([, t]) => t).join('');
    this.emitInbound(from, text);
  }

  private emitInbound(from: string, text: string): void {
    this.log.info({ from: maskPhone(from), chars: text.length }, 'sms reply received');
    this.listener.inbound({ from, text, via: 'smpp' });
  }
}
