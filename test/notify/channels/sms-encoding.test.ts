import { describe, expect, it } from 'vitest';
import { concatRef, decodeSms, encodeSms, isGsmText, segmentsOf } from '../../../src/notify/channels/sms-encoding.js';

const CN = '渠道预警严重郑州二七区厅店今日办理量低于基线';

function roundTrip(text: string, ref = 9): string {
  const enc = encodeSms(text, { ref });
  return enc.parts.map((p) => decodeSms(p, enc.dataCoding, enc.udh).text).join('');
}

describe('encodeSms', () => {
  it('uses GSM (data_coding 0) for plain text up to 160 septets', () => {
    const enc = encodeSms('A'.repeat(160));
    expect(enc).toMatchObject({ dataCoding: 0, udh: false });
    expect(enc.parts).toHaveLength(1);
    expect(enc.parts[0]).toEqual(Buffer.alloc(160, 0x41));
  });

  it('maps GSM characters to their septets, extension characters behind ESC', () => {
    const enc = encodeSms('@$_{€}');
    expect([...(enc.parts[0] ?? [])]).toEqual([0x00, 0x02, 0x11, 0x1b, 0x28, 0x1b, 0x65, 0x1b, 0x29]);
    expect(roundTrip('@$_{€} [x]~|^\\')).toBe('@$_{€} [x]~|^\\');
  });

  it('splits GSM text into 153-septet parts with a concatenation UDH', () => {
    const text = 'x'.repeat(161);
    const enc = encodeSms(text, { ref: 0x2a });
    expect(enc).toMatchObject({ dataCoding: 0, udh: true });
    expect(enc.parts.map((p) => p.length)).toEqual([6 + 153, 6 + 8]);
    expect([...(enc.parts[0] ?? Buffer.alloc(0)).subarray(0, 6)]).toEqual([0x05, 0x00, 0x03, 0x2a, 2, 1]);
    expect([...(enc.parts[1] ?? Buffer.alloc(0)).subarray(0, 6)]).toEqual([0x05, 0x00, 0x03, 0x2a, 2, 2]);
    expect(roundTrip(text)).toBe(text);
  });

  it('never splits an ESC pair across GSM parts', () => {
    const text = `${'a'.repeat(152)}€${'b'.repeat(10)}`;
    const enc = encodeSms(text);
    expect(enc.parts[0]?.length).toBe(6 + 152);
    expect(roundTrip(text)).toBe(text);
  });

  it('uses UCS2 (UTF-16BE) for Chinese, up to 70 code units in one part', () => {
    const text = CN.repeat(4).slice(0, 70);
    const enc = encodeSms(text);
    expect(enc).toMatchObject({ dataCoding: 8, udh: false });
    expect(enc.parts[0]?.length).toBe(140);
    expect(enc.parts[0]?.subarray(0, 2)).toEqual(Buffer.from([0x6e, 0x20])); // 渠 U+6E20
    expect(roundTrip(text)).toBe(text);
  });

  it('splits UCS2 text into 67-unit parts: 150 Chinese characters → 3 parts', () => {
    const text = CN.repeat(10).slice(0, 150);
    const enc = encodeSms(text, { ref: 200 });
    expect(enc.parts.map((p) => (p.length - 6) / 2)).toEqual([67, 67, 16]);
    expect(decodeSms(enc.parts[2] ?? Buffer.alloc(0), 8, true).concat).toEqual({ ref: 200, total: 3, seq: 3 });
    expect(roundTrip(text)).toBe(text);
  });

  it('switches to UCS2 for a single non-GSM character (` or 中)', () => {
    expect(encodeSms('hello `world`').dataCoding).toBe(8);
    expect(encodeSms('CM01 告警').dataCoding).toBe(8);
    expect(isGsmText('Hello, world! 100% @home')).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'好'.repeat(66)}😀${'好'.repeat(10)}`;
    const enc = encodeSms(text);
    expect((enc.parts[0]?.length ?? 0) - 6).toBe(66 * 2);
    expect(roundTrip(text)).toBe(text);
    const exact = '😀'.repeat(35);
    expect(encodeSms(exact).parts).toHaveLength(1);
    expect(roundTrip('😀'.repeat(36))).toBe('😀'.repeat(36));
  });

  it('derives a stable 8-bit ref from the message id', () => {
    const a = encodeSms('x'.repeat(200), { id: 'notif-1' });
    const b = encodeSms('x'.repeat(200), { id: 'notif-1' });
    expect(a.parts[0]?.[3]).toBe(concatRef('notif-1'));
    expect(a.parts).toEqual(b.parts);
    expect(concatRef('notif-1')).toBeGreaterThanOrEqual(0);
    expect(concatRef('notif-1')).toBeLessThan(256);
    expect(new Set(Array.from({ length: 50 }, (_, i) => concatRef(`n-${i}`))).size).toBeGreaterThan(30);
  });
});

describe('segmentsOf', () => {
  it.each([
    ['', 1],
    ['a'.repeat(160), 1],
    ['a'.repeat(161), 2],
    ['a'.repeat(306), 2],
    ['a'.repeat(307), 3],
    ['€'.repeat(80), 1],
    ['€'.repeat(81), 2],
    ['中'.repeat(70), 1],
    ['中'.repeat(71), 2],
    ['中'.repeat(134), 2],
    ['中'.repeat(135), 3],
  ])('%#: %j → %i', (text, n) => {
    expect(segmentsOf(text)).toBe(n);
    expect(encodeSms(text).parts).toHaveLength(n);
  });
});

describe('decodeSms', () => {
  it('reads the 16-bit concatenation IE too', () => {
    const body = Buffer.from('好', 'utf16le').swap16();
    const buf = Buffer.concat([Buffer.from([0x06, 0x08, 0x04, 0x01, 0x02, 0x02, 0x01]), body]);
    expect(decodeSms(buf, 8, true)).toEqual({ text: '好', concat: { ref: 0x0102, total: 2, seq: 1 } });
  });

  it('decodes plain payloads without UDH', () => {
    expect(decodeSms(Buffer.from('收到', 'utf16le').swap16(), 8, false)).toEqual({ text: '收到' });
    expect(decodeSms(Buffer.from([0x4f, 0x4b]), 0, false)).toEqual({ text: 'OK' });
    expect(decodeSms(Buffer.from('caf\u00e9', 'latin1'), 3, false)).toEqual({ text: 'café' });
  });
});
