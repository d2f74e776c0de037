// A real SMSC for tests: the smpp package's server mode on a free loopback port. It checks binds,
// answers submits with message ids, reassembles long messages, and can send MO replies and receipts.

import smpp from 'smpp';
import { freePort } from '../../src/redis/embedded.js';
import { encodeSms } from '../../src/notify/channels/sms-encoding.js';
import { shortMessageOf } from '../../src/notify/channels/smpp.js';

export interface ReceivedSms {
  readonly to: string;
  readonly from: string;
  readonly text: string;
  readonly segments: number;
  readonly messageIds: string[];
  readonly dataCoding: number;
}

export interface SmppPeer {
  readonly port: number;
  /** smpp://id:pw@127.0.0.1:port */
  readonly url: string;
  /** Whole messages, reassembled, in arrival order. */
  readonly messages: ReceivedSms[];
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedSms[]>;
  /** deliver_sm (an MO message) to the bound transceiver session. */
  sendMo(from: string, text: string, to?: string): Promise<void>;
  /** A delivery receipt (text form, plus receipted_message_id / message_state TLVs unless tlvs is false). */
  sendReceipt(messageId: string, stat?: string, opts?: { tlvs?: boolean }): Promise<void>;
  /** Answer the next `count` submit_sm with this command_status. */
  rejectNext(status: number, count?: number): void;
  /** Stop answering submit_sm for the next `count` submits (response timeouts). */
  ignoreNext(count?: number): void;
  /**
   * Take the next whole message `match` accepts (it counts as received: the SMSC has it) but do not
   * answer its submit_sm; `onHeld` runs then. The sender's send window, held open (chaos (e)).
   */
  holdNext(match: (m: ReceivedSms) => boolean, onHeld: (m: ReceivedSms) => void): void;
  /** Send a delivery receipt right behind every submit_sm_resp (a fast SMSC); undefined turns it off. */
  receiptOnSubmit(stat: string | undefined): void;
  /** Close the server and destroy every session: the SMSC is down. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  boundSessions(): number;
  /** enquire_link requests answered so far. */
  enquireLinks(): number;
  close(): Promise<void>;
}

const MESSAGE_STATES: Readonly<Record<string, number>> = { DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

interface Partial {
  readonly parts: Map<number, { text: string; id: string }>;
  readonly total: number;
  readonly dataCoding: number;
}

export async function startSmppPeer(opts: { systemId?: string; password?: string; port?: number } = {}): Promise<SmppPeer> {
  const systemId = opts.systemId ?? 'lookout';
  const password = opts.password ?? 'secret';
  const port = opts.port ?? (await freePort());
  const messages: ReceivedSms[] = [];
  const bound = new Set<smpp.Session>();
  const partials = new Map<string, Partial>();
  let rejects: number[] = [];
  let ignore = 0;
  let autoReceipt: string | undefined;
  let hold: { match: (m: ReceivedSms) => boolean; onHeld: (m: ReceivedSms) => void } | undefined;
  let seq = 0;
  let enquireLinks = 0;
  let listening = false;

  const onSession = (session: smpp.Session): void => {
    session.on('error', () => session.destroy());
    session.socket.on('close', () => bound.delete(session));
    const onBind = (pdu: smpp.PDU): void => {
      const ok = pdu.system_id === systemId && pdu.password === password;
      session.send(pdu.response({ command_status: ok ? smpp.ESME_ROK : smpp.ESME_RBINDFAIL, system_id: 'peer' }));
      if (ok) bound.add(session);
    };
    session.on('bind_transceiver', onBind);
    session.on('bind_transmitter', onBind);
    session.on('enquire_link', (pdu: smpp.PDU) => {
      enquireLinks++;
      session.send(pdu.response());
    });
    session.on('unbind', (pdu: smpp.PDU) => {
      bound.delete(session);
      session.send(pdu.response(), () => session.close());
    });
    session.on('submit_sm', (pdu: smpp.PDU) => {
      if (!bound.has(session)) {
        session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
        return;
      }
      if (ignore > 0) {
        ignore--;
        return;
      }
      const status = rejects.shift();
      if (status !== undefined) {
        session.send(pdu.response({ command_status: status }));
        return;
      }
      const id = `M${String(++seq).padStart(6, '0')}`;
      const whole = receive(pdu, id);
      if (whole && hold?.match(whole)) {
        const { onHeld } = hold;
        hold = undefined;
        onHeld(whole);
        return;
      }
      session.send(pdu.response({ message_id: id }));
      if (autoReceipt) void deliver(session, receiptFields(id, autoReceipt, true)).catch(() => undefined);
    });
  };

  /** Keep one submitted segment; the whole message once its last segment is in. */
  const receive = (pdu: smpp.PDU, id: string): ReceivedSms | undefined => {
    const to = String(pdu.destination_addr ?? '');
    const from = String(pdu.source_addr ?? '');
    const dataCoding = Number(pdu.data_coding ?? 0);
    const { text, concat } = shortMessageOf(pdu);
    if (!concat || concat.total <= 1) {
      const m = { to, from, text, segments: 1, messageIds: [id], dataCoding };
      messages.push(m);
      return m;
    }
    const key = `${from}|${to}|${concat.ref}`;
    let partial = partials.get(key);
    if (!partial) {
      partial = { parts: new Map(), total: concat.total, dataCoding };
      partials.set(key, partial);
    }
    partial.parts.set(concat.seq, { text, id });
    if (partial.parts.size < partial.total) return undefined;
    partials.delete(key);
    const ordered = [...partial.parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
    const m = {
      to,
      from,
      text: ordered.map((p) => p.text).join(''),
      segments: partial.total,
      messageIds: ordered.map((p) => p.id),
      dataCoding: partial.dataCoding,
    };
    messages.push(m);
    return m;
  };

  const receiptFields = (messageId: string, stat: string, tlvs: boolean): Record<string, unknown> => {
    const text = `id:${messageId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:2501011200 done date:2501011201 stat:${stat} err:000 text:`;
    return {
      source_addr: '13800000000',
      destination_addr: '10658000',
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from(text, 'ascii'),
      ...(tlvs ? { receipted_message_id: messageId, message_state: MESSAGE_STATES[stat] ?? 7 } : {}),
    };
  };

  const server = smpp.createServer({}, onSession);

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        listening = true;
        resolve();
      });
    });

  const transceiver = (): smpp.Session => {
    const session = [...bound].pop();
    if (!session) throw new Error('smpp peer: no bound session');
    return session;
  };

  const deliver = (session: smpp.Session, fields: Record<string, unknown>): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('smpp peer: no deliver_sm_resp')), 5000);
      const sent = session.deliver_sm(fields, () => {
        clearTimeout(timer);
        resolve();
      });
      if (!sent) {
        clearTimeout(timer);
        reject(new Error('smpp peer: session not writable'));
      }
    });

  const stop = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of [...server.sessions]) session.destroy();
    bound.clear();
    await closed;
  };

  await listen();

  return {
    port,
    url: `smpp://${encodeURIComponent(systemId)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    messages,
    async waitFor(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`smpp peer: ${messages.length} of ${n} messages after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return [...messages];
    },
    async sendMo(from, text, to = '10658000') {
      const session = transceiver();
      const encoded = encodeSms(text, { ref: (seq + 7) & 0xff });
      for (const part of encoded.parts) {
        await deliver(session, {
          source_addr: from,
          destination_addr: to,
          esm_class: encoded.udh ? 0x40 : 0,
          data_coding: encoded.dataCoding,
          short_message: part,
        });
      }
    },
    async sendReceipt(messageId, stat = 'DELIVRD', receiptOpts = {}) {
      await deliver(transceiver(), receiptFields(messageId, stat, receiptOpts.tlvs ?? true));
    },
    receiptOnSubmit(stat) {
      autoReceipt = stat;
    },
    rejectNext(status, count = 1) {
      rejects = [...rejects, ...Array.from({ length: count }, () => status)];
    },
    ignoreNext(count = 1) {
      ignore += count;
    },
    holdNext(match, onHeld) {
      hold = { match, onHeld };
    },
    stop,
    start: listen,
    boundSessions: () => bound.size,
    enquireLinks: () => enquireLinks,
    close: stop,
  };
}
