// The console's calls to the daemon: same origin, the session cookie rides along. A 401 sends the
// person to /login; other errors carry the API's one-line message.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !path.startsWith('/login')) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, 'unauthorized', 'sign-in needed');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? 'error', err?.message ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown) => call<T>('POST', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
};

export interface Session {
  readonly now: number;
  readonly locale: 'zh' | 'en';
  readonly timeZone: string;
  readonly auth: boolean;
  readonly signedIn: boolean;
  readonly scopes: string[];
  readonly canAct: boolean;
  readonly publicUrl: string;
}

export interface Told {
  readonly contact: string;
  readonly name: string;
  readonly channel: string;
  readonly state: string;
  readonly step: number;
}

export interface ConsoleAlert {
  readonly id: string;
  readonly rule: string;
  readonly entity: string;
  readonly state: 'pending' | 'firing' | 'acknowledged' | 'resolved';
  readonly severity: 'critical' | 'warning' | 'info';
  readonly episode: number;
  readonly period: string;
  readonly value?: number;
  readonly baseline?: number;
  readonly measure?: number;
  readonly summary: string;
  readonly startsAt: number;
  readonly firingAt?: number;
  readonly updatedAt: number;
  readonly resolvedAt?: number;
  readonly ack?: { readonly by: string; readonly at: number; readonly via: string };
  readonly name: string;
  readonly region?: string;
  readonly district?: string;
  readonly kind?: string;
  readonly ruleTitle: string;
  readonly level: number;
  readonly told: readonly Told[];
}

export interface TimelineEntry {
  readonly at: number;
  readonly type: 'started' | 'fired' | 'notified' | 'escalated' | 'receipt' | 'acknowledged' | 'resolved' | 'resolve_notice';
  readonly step?: number;
  readonly name?: string;
  readonly channel?: string;
  readonly state?: string;
  readonly reason?: string;
  readonly by?: string;
  readonly via?: string;
  readonly status?: string;
}

export interface DayPoint {
  readonly day: string;
  readonly value: number | null;
  readonly baseline: number | null;
}

export interface Entity {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly region?: string;
  readonly district?: string;
  readonly manager?: string;
  readonly tier?: string;
  readonly attrs: Record<string, string | number | boolean>;
}

export interface SilenceView {
  readonly id: string;
  readonly matchers: { name: string; op: string; value: string }[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly state: 'active' | 'pending' | 'expired';
}
