import { describe, expect, it } from 'vitest';
import { segmentsOf } from '../../src/notify/channels/sms-encoding.js';
import { REPEAT_MARKER, markRepeat } from '../../src/notify/repeat-marker.js';

describe('markRepeat', () => {
  it('puts the marker first and keeps a short text whole', () => {
    expect(markRepeat('【预警】D0001 开卡量下降 50%')).toBe(`${REPEAT_MARKER}【预警】D0001 开卡量下降 50%`);
  });

  it('shortens the body, never the marker, so a one-segment SMS stays one segment', () => {
    const text = '严'.repeat(70);
    expect(segmentsOf(text)).toBe(1);
    const marked = markRepeat(text);
    expect(marked.startsWith(REPEAT_MARKER)).toBe(true);
    expect(segmentsOf(marked)).toBe(1);
    expect(marked.endsWith('…')).toBe(true);
  });

  it('keeps a long message within its segments', () => {
    const text = '警'.repeat(134);
    expect(segmentsOf(text)).toBe(2);
    expect(segmentsOf(markRepeat(text))).toBe(2);
  });

  it('an English text becomes UCS-2 with the marker and still fits its segment count', () => {
    const text = 'Warning: D0001 card openings fell 50% below the baseline. Reply ACK 1234 to acknowledge. ' + 'x'.repeat(40);
    const marked = markRepeat(text);
    expect(segmentsOf(marked)).toBeLessThanOrEqual(Math.max(1, segmentsOf(text)));
  });

  it('marks once', () => {
    expect(markRepeat(markRepeat('a'))).toBe(`${REPEAT_MARKER}a`);
  });
});
