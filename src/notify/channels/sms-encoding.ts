// SMS payloads as SMPP carries them: GSM 03.38 (one septet per octet, data_coding 0) when every
// character fits, else UCS2 (UTF-16BE, data_coding 8); long texts split with a concatenation UDH.

/** GSM 03.38 basic table, indexed by septet; ESC (0x1B) is left out so it is never encodable. */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u0000ÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_ESC = 0x1b;
/** Extension table: character → septet that follows ESC. */
const GSM_EXTENSION: ReadonlyMap<string, number> = new Map([
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
]);
const GSM_BASIC_INDEX: ReadonlyMap<string, number> = new Map(
  [...GSM_BASIC].map((ch, i) => [ch, i] as const).filter(([, i]) => i !== GSM_ESC),
);
const GSM_EXTENSION_DECODE: ReadonlyMap<number, string> = new Map([...GSM_EXTENSION].map(([ch, s]) => [s, ch]));

export const DATA_CODING_GSM = 0;
export const DATA_CODING_UCS2 = 8;
/** esm_class bit: short_message starts with a user data header. */
export const ESM_CLASS_UDHI = 0x40;

const GSM_SINGLE = 160;
const GSM_PART = 153;
const UCS2_SINGLE = 70;
const UCS2_PART = 67;
const MAX_PARTS = 255;

export interface EncodedSms {
  readonly dataCoding: 0 | 8;
  /** short_message payloads, UDH included when split. */
  readonly parts: Buffer[];
  /** True when the parts carry a concatenation UDH (send with esm_class 0x40). */
  readonly udh: boolean;
}

export interface ConcatInfo {
  readonly ref: number;
  readonly total: number;
  readonly seq: number;
}

export interface DecodedSms {
  readonly text: string;
  readonly concat?: ConcatInfo;
}

export function isGsmText(text: string): boolean {
  for (const ch of text) {
    if (!GSM_BASIC_INDEX.has(ch) && !GSM_EXTENSION.has(ch)) return false;
  }
  return true;
}

/** An 8-bit concatenation reference derived from a message id (FNV-1a folded), stable across retries. */
export function concatRef(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h ^ (h >>> 8) ^ (h >>> 16) ^ (h >>> 24)) & 0xff;
}

/** GSM text as septet groups: one group per character (ESC + code for extension characters). */
function gsmUnits(text: string): number[][] {
  return [...text].map((ch) => {
    const basic = GSM_BASIC_INDEX.get(ch);
    if (basic !== undefined) return [basic];
    return [GSM_ESC, GSM_EXTENSION.get(ch) ?? 0x20];
  });
}

/** UTF-16 code units grouped so a surrogate pair is never split. */
function ucs2Units(text: string): number[][] {
  return [...text].map((ch) => {
    const units: number[] = [];
    for (let i = 0; i < ch.length; i++) units.push(ch.charCodeAt(i));
    return units;
  });
}

function chunk(units: number[][], limit: number): number[][] {
  const parts: number[][] = [];
  let current: number[] = [];
  for (const u of units) {
    if (current.length + u.length > limit) {
      parts.push(current);
      current = [];
    }
    current.push(...u);
  }
  parts.push(current);
  return parts;
}

function splitUnits(text: string): { dataCoding: 0 | 8; chunks: number[][] } {
  const gsm = isGsmText(text);
  const units = gsm ? gsmUnits(text) : ucs2Units(text);
  const single = gsm ? GSM_SINGLE : UCS2_SINGLE;
  const part = gsm ? GSM_PART : UCS2_PART;
  const length = units.reduce((n, u) => n + u.length, 0);
  const chunks = length <= single ? [units.flat()] : chunk(units, part);
  return { dataCoding: gsm ? DATA_CODING_GSM : DATA_CODING_UCS2, chunks };
}

function toBytes(units: number[], dataCoding: 0 | 8): Buffer {
  if (dataCoding === DATA_CODING_GSM) return Buffer.from(units);
  const buf = Buffer.alloc(units.length * 2);
  units.forEach((u, i) => buf.writeUInt16BE(u, i * 2));
  return buf;
}

/** Number of SMS segments the text needs. */
export function segmentsOf(text: string): number {
  return splitUnits(text).chunks.length;
}

/**
 * Encode a text into short_message payloads. `ref` (0–255) tags the parts of one long message;
 * without it the ref is derived from `id`.
 */
export function encodeSms(text: string, opts: { ref?: number; id?: string } = {}): EncodedSms {
  const { dataCoding, chunks } = splitUnits(text);
  if (chunks.length === 1) {
    return { dataCoding, parts: [toBytes(chunks[0] ?? [], dataCoding)], udh: false };
  }
  if (chunks.length > MAX_PARTS) throw new RangeError(`SMS text needs ${chunks.length} segments (max ${MAX_PARTS})`);
  const ref = (opts.ref ?? (opts.id !== undefined ? concatRef(opts.id) : 0)) & 0xff;
  const parts = chunks.map((units, i) =>
    Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, chunks.length, i + 1]), toBytes(units, dataCoding)]),
  );
  return { dataCoding, parts, udh: true };
}

/** The concatenation information element (IEI 0x00 or 0x08) of a parsed UDH, if any. */
export function concatFromIes(ies: readonly Buffer[]): ConcatInfo | undefined {
  for (const ie of ies) {
    if (ie[0] === 0x00 && ie.length >= 5) return { ref: ie[2] ?? 0, total: ie[3] ?? 1, seq: ie[4] ?? 1 };
    if (ie[0] === 0x08 && ie.length >= 6) return { ref: ie.readUInt16BE(2), total: ie[4] ?? 1, seq: ie[5] ?? 1 };
  }
  return undefined;
}

/** Split a UDH (without its length octet) into information elements (IEI, length, data…). */
function parseIes(udh: Buffer): Buffer[] {
  const ies: Buffer[] = [];
  let at = 0;
  while (at + 2 <= udh.length) {
    const len = udh[at + 1] ?? 0;
    ies.push(udh.subarray(at, at + 2 + len));
    at += 2 + len;
  }
  return ies;
}

export function decodeGsm(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = (bytes[i] ?? 0) & 0x7f;
    if (b === GSM_ESC) {
      const next = (bytes[i + 1] ?? 0) & 0x7f;
      out += GSM_EXTENSION_DECODE.get(next) ?? ' ';
      i++;
    } else {
      out += GSM_BASIC[b] ?? ' ';
    }
  }
  return out;
}

function decodeUcs2(bytes: Buffer): string {
  const even = bytes.subarray(0, bytes.length - (bytes.length % 2));
  return Buffer.from(even).swap16().toString('utf16le');
}

/** Decode a raw short_message (UDH included when `hasUdh`, i.e. esm_class & 0x40). */
export function decodeSms(buf: Buffer, dataCoding: number, hasUdh: boolean): DecodedSms {
  let body = buf;
  let concat: ConcatInfo | undefined;
  if (hasUdh && buf.length > 0) {
    const udhLength = buf[0] ?? 0;
    concat = concatFromIes(parseIes(buf.subarray(1, 1 + udhLength)));
    body = buf.subarray(1 + udhLength);
  }
  let text: string;
  if (dataCoding === DATA_CODING_UCS2) text = decodeUcs2(body);
  else if (dataCoding === DATA_CODING_GSM) text = decodeGsm(body);
  else if (dataCoding === 1) text = body.toString('ascii');
  else text = body.toString('latin1');
  return concat ? { text, concat } : { text };
}
