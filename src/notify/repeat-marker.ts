// The mark on an SMS sent again because a crash hid whether the first one went out: the reader
// learns it may be a repeat. The marker is kept whole; the body is shortened so the message
// needs no more segments than the original did.

import { segmentsOf } from './channels/sms-encoding.js';

export const REPEAT_MARKER = '【重发】';

export function markRepeat(text: string): string {
  if (text.startsWith(REPEAT_MARKER)) return text;
  const budget = Math.max(1, segmentsOf(text));
  let body = text;
  while (body.length && segmentsOf(`${REPEAT_MARKER}${body}`) > budget) {
    // Cut whole code points, and say the text goes on.
    body = [...body].slice(0, -2).join('') + '…';
    if (body === '…') break;
  }
  return `${REPEAT_MARKER}${body}`;
}
