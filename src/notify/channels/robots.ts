// Group chat robots behind a contact's `webhook` URL: WeCom (企业微信群机器人) and DingTalk
// (钉钉自定义机器人) take their own `msgtype` bodies and answer HTTP 200 with an `errcode`.
//
//   https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY                      → WeCom
//   https://oapi.dingtalk.com/robot/send?access_token=TOKEN                      → DingTalk
//   https://oapi.dingtalk.com/robot/send?access_token=TOKEN#secret=SEC…          → DingTalk, signed
//   wecom+https://gateway.example/cgi-bin/webhook/send?key=KEY                   → WeCom via a proxy
//   dingtalk+https://gateway.example/robot/send?access_token=TOKEN#secret=SEC…   → DingTalk via a proxy
//
// Anything else is a generic webhook ({id, title, text, ...data}). The signing secret lives in the
// URL's fragment, which is never sent; URLs (keys, tokens, secrets) are never logged.

import { createHmac } from 'node:crypto';
import { ChannelError, type OutgoingMessage } from './channel.js';

export type RobotKind = 'wecom' | 'dingtalk' | 'generic';

export interface RobotTarget {
  readonly kind: RobotKind;
  /** What is POSTed to (no prefix, no fragment). */
  readonly url: string;
  /** DingTalk's 加签 secret (SEC…), from `#secret=`. */
  readonly secret?: string;
}

const WECOM_HOST = 'qyapi.weixin.qq.com';
const DINGTALK_HOST = 'oapi.dingtalk.com';

/** Which robot a webhook URL names; undefined when it is no http(s) URL. */
export function robotTarget(raw: string): RobotTarget | undefined {
  const prefixed = /^(wecom|dingtalk)\+(https?:\/\/.+)$/i.exec(raw.trim());
  const text = prefixed ? prefixed[2]! : raw.trim();
  if (!/^https?:\/\/[^\s]+$/i.test(text) || !URL.canParse(text)) return undefined;
  const u = new URL(text);
  const secret = new URLSearchParams(u.hash.replace(/^#/, '')).get('secret') ?? undefined;
  u.hash = '';
  const kind: RobotKind = prefixed
    ? (prefixed[1]!.toLowerCase() as RobotKind)
    : u.hostname === WECOM_HOST
      ? 'wecom'
      : u.hostname === DINGTALK_HOST
        ? 'dingtalk'
        : 'generic';
  return { kind, url: u.toString(), ...(kind === 'dingtalk' && secret ? { secret } : {}) };
}

/** DingTalk 加签: sign = base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)), sent with `timestamp`. */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** The URL to POST to: DingTalk's signed form adds `timestamp` and `sign` (URL-encoded). */
export function robotUrl(t: RobotTarget, nowMs: number): string {
  if (t.kind !== 'dingtalk' || !t.secret) return t.url;
  const u = new URL(t.url);
  u.searchParams.set('timestamp', String(nowMs));
  u.searchParams.set('sign', dingtalkSign(t.secret, nowMs));
  return u.toString();
}

/** Markdown for the robots: the title as a heading, then the webhook text (webhook-alert.mustache). */
function markdown(message: OutgoingMessage): string {
  const title = message.subject?.trim();
  return title ? `### ${title}\n${message.text}` : message.text;
}

export function robotBody(kind: RobotKind, message: OutgoingMessage): Record<string, unknown> {
  switch (kind) {
    case 'wecom':
      // WeCom caps markdown content at 4096 bytes.
      return { msgtype: 'markdown', markdown: { content: clipBytes(markdown(message), 4000) } };
    case 'dingtalk':
      return { msgtype: 'markdown', markdown: { title: message.subject?.trim() || message.text.slice(0, 30), text: clipBytes(markdown(message), 18_000) } };
    default:
      return { id: message.id, title: message.subject, text: message.text, ...message.data };
  }
}

function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = s;
  while (Buffer.byteLength(out) > max - 3) out = [...out].slice(0, -16).join('');
  return `${out}…`;
}

// errcodes that mean "try again later": rate limits and a busy server. Everything else a robot
// answers with (a bad key, a failed signature or keyword check, a malformed body) will not get
// better by itself: permanent, so the message fails (or fails over) and shows in the API.
const RETRYABLE_ERRCODES: Readonly<Record<Exclude<RobotKind, 'generic'>, ReadonlySet<number>>> = {
  wecom: new Set([-1, 45009, 45033]), // system busy, API rate limit, too many concurrent calls
  dingtalk: new Set([-1, 130101, 130102]), // system busy, sending too fast (20 a minute per robot)
};

/** A robot's HTTP 200 answer: ok, or the ChannelError its errcode means. */
export function robotAnswer(kind: Exclude<RobotKind, 'generic'>, body: string): ChannelError | undefined {
  let json: { errcode?: unknown; errmsg?: unknown };
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    return new ChannelError('retryable', `${kind}_bad_answer`, `${kind} robot answered something that is not JSON`);
  }
  const code = typeof json.errcode === 'number' ? json.errcode : Number(json.errcode ?? NaN);
  if (code === 0) return undefined;
  const msg = typeof json.errmsg === 'string' ? json.errmsg.slice(0, 200) : 'no errmsg';
  if (!Number.isFinite(code)) return new ChannelError('retryable', `${kind}_bad_answer`, `${kind} robot answered without an errcode`);
  return new ChannelError(RETRYABLE_ERRCODES[kind].has(code) ? 'retryable' : 'permanent', `${kind}_${code}`, `${kind} robot refused the message: errcode ${code} (${msg})`);
}
