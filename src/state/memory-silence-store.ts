// In-memory twin of RedisSilenceStore (a fake, not a mock), for unit tests and Redis-free wiring.

import type { Silence } from '../domain/silence.js';
import type { NewSilence, SilenceState, SilenceStore } from './ports.js';
import { endSilence, isPrunable, newSilence, selectSilences } from './silence-store.js';

export class MemorySilenceStore implements SilenceStore {
  private readonly silences = new Map<string, Silence>();
  private failure: Error | undefined;
  private nextId = 1;

  constructor(silences: readonly Silence[] = []) {
    for (const s of silences) this.silences.set(s.id, s);
  }

  /** Make every call throw like an unreachable Redis, until `recover()`. */
  failWith(err: Error = new Error('connect ECONNREFUSED 127.0.0.1:6379')): void {
    this.failure = err;
  }

  recover(): void {
    this.failure = undefined;
  }

  async create(input: NewSilence, now: number): Promise<Silence> {
    this.check();
    for (const s of this.silences.values()) if (isPrunable(s, now)) this.silences.delete(s.id);
    // Predictable ids for tests; the Redis store uses random UUIDs.
    const id = `00000000-0000-4000-8000-${String(this.nextId++).padStart(12, '0')}`;
    const silence = newSilence(input, id, now);
    this.silences.set(id, silence);
    return silence;
  }

  async get(id: string): Promise<Silence | undefined> {
    this.check();
    return this.silences.get(id);
  }

  async list(now: number, state?: SilenceState): Promise<Silence[]> {
    this.check();
    return selectSilences(this.silences.values(), now, state);
  }

  async active(now: number): Promise<Silence[]> {
    return this.list(now, 'active');
  }

  async expire(id: string, now: number): Promise<Silence | undefined> {
    this.check();
    const prior = this.silences.get(id);
    if (!prior) return undefined;
    const ended = endSilence(prior, now);
    this.silences.set(id, ended);
    return ended;
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}
