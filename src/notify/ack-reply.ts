// What a manager's SMS reply means: `1` / `确认` / `ACK` (the latest alert sent to that phone) or
// `确认 4821` / `ACK 4821` (the alert with that ack code). Anything else is not an acknowledgement.

export interface AckReply {
  /** The ack code named in the reply; absent: the latest alert sent to the phone. */
  readonly code?: string;
}

// Punctuation, quotes, emoji and spaces around the words (people copy “确认 4821” with its quotes).
const EDGES = /^[\s\p{P}\p{S}]+|[\s\p{P}\p{S}]+$/gu;
// `回复“确认 4821”` is the SMS's own instruction, copied whole.
const BARE = /^(?:回复\s*["“「]?\s*)?(?:1|确认|ack)$/i;
const WITH_CODE = /^(?:回复\s*["“「]?\s*)?(?:确认|ack)\s*[:#]?\s*(\d{3,8})$/i;

export function parseAckReply(text: string): AckReply | undefined {
  // NFKC folds full-width digits, letters, colon and the ideographic space to ASCII.
  const core = text.normalize('NFKC').replace(EDGES, '');
  if (BARE.test(core)) return {};
  const m = WITH_CODE.exec(core);
  return m ? { code: m[1]! } : undefined;
}
