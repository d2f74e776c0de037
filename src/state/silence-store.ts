// Silences in Redis: one hash, id → JSON Silence. Silences are few (tens), so reads take the whole
// hash; writes of an existing silence are compare-and-set so two DELETEs cannot interleave badly.

import { randomUUID } from 'node:crypto';
import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';
import { silenceState, type Silence } from '../domain/silence.js';
import type { NewSilence, SilenceState, SilenceStore } from './ports.js';

/** Expired silences stay listed this long after they end, then `create` prunes them. */
export const SILENCE_RETENTION_MS = 7 * 86_400_000;

export function newSilence(input: NewSilence, id: string, now: number): Silence {
  return { ...input, matchers: input.matchers.map((m) => ({ ...m })), id, createdAt: now, updatedAt: now };
}

export function isPrunable(s: Silence, now: number): boolean {
  return s.endsAt <= now - SILENCE_RETENTION_MS;
}

/** The silence ended at `now`; an already-expired one unchanged; a pending one never starts. */
export function endSilence(s: Silence, now: number): Silence {
  const state = silenceState(s, now);
  if (state === 'expired') return s;
  return { ...s, startsAt: state === 'pending' ? now : s.startsAt, endsAt: now, updatedAt: now };
}

/** Newest first (by creation), optionally only those in `state` at `now`. */
export function selectSilences(all: Iterable<Silence>, now: number, state?: SilenceState): Silence[] {
  const out: Silence[] = [];
  for (const s of all) if (state === undefined || silenceState(s, now) === state) out.push(s);
  return out.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// KEYS[1] hash, ARGV id, expected JSON, new JSON → 1 when swapped, 0 when the field changed.
const COMPARE_AND_SET_LUA = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

export class RedisSilenceStore implements SilenceStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    private readonly newId: () => string = randomUUID,
  ) {}

  async create(input: NewSilence, now: number): Promise<Silence> {
    const silence = newSilence(input, this.newId(), now);
    const stale = (await this.all()).filter((s) => isPrunable(s, now)).map((s) => s.id);
    const tx = this.redis.multi().hset(this.keys.silences, silence.id, JSON.stringify(silence));
    if (stale.length) tx.hdel(this.keys.silences, ...stale);
    await tx.exec();
    return silence;
  }

  async get(id: string): Promise<Silence | undefined> {
    const raw = await this.redis.hget(this.keys.silences, id);
    return raw ? (JSON.parse(raw) as Silence) : undefined;
  }

  async list(now: number, state?: SilenceState): Promise<Silence[]> {
    return selectSilences(await this.all(), now, state);
  }

  async active(now: number): Promise<Silence[]> {
    return this.list(now, 'active');
  }

  async expire(id: string, now: number): Promise<Silence | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await this.redis.hget(this.keys.silences, id);
      if (!raw) return undefined;
      const prior = JSON.parse(raw) as Silence;
      const ended = endSilence(prior, now);
      if (ended === prior) return prior;
      const swapped = await this.redis.eval(COMPARE_AND_SET_LUA, 1, this.keys.silences, id, raw, JSON.stringify(ended));
      if (swapped === 1) return ended;
    }
    throw new Error(`silence ${id} kept changing while being expired`);
  }

  private async all(): Promise<Silence[]> {
    const raws = await this.redis.hvals(this.keys.silences);
    return raws.map((r) => JSON.parse(r) as Silence);
  }
}
