// The interfaces the HTTP layer, the CLI and the workers use to reach stored state.
// Redis implementations live beside them; in-memory twins serve unit tests.

import type { AlertRecord, AlertState } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import type { Sample } from '../domain/sample.js';
import type { Silence, SilenceState } from '../domain/silence.js';

export interface SampleSink {
  /** Resolves once every sample is durable in Redis (as batched jobs). */
  enqueue(samples: readonly Sample[], source: string): Promise<{ jobs: number }>;
}

export interface EntityFilter {
  readonly kind?: string;
  readonly region?: string;
  readonly district?: string;
}

export interface RegistryStore {
  putMany(entities: readonly Entity[]): Promise<void>;
  get(id: string): Promise<Entity | undefined>;
  list(filter?: EntityFilter): Promise<Entity[]>;
  /**
   * Every registered id, a page at a time, without reading the entries (the day close marks a
   * whole country this way in bounded memory). A page may rarely repeat an id (a SCAN while
   * the hash grows): callers must be idempotent per id.
   */
  idPages(pageSize?: number): AsyncIterable<string[]>;
  /** Entity ids seen in samples but not registered, with the number of samples. */
  unknown(): Promise<{ id: string; samples: number }[]>;
}

export interface AlertFilter {
  readonly state?: AlertState;
  readonly rule?: string;
  readonly entity?: string;
}

export type AckResult =
  | { readonly ok: true; readonly alert: AlertRecord }
  | { readonly ok: false; readonly code: 'not_found' | 'not_ackable'; readonly alert?: AlertRecord };

export interface AlertStore {
  list(filter?: AlertFilter): Promise<AlertRecord[]>;
  get(id: string): Promise<AlertRecord | undefined>;
  /** `episode`: acknowledge only that episode (an old link never acks a newer one). */
  ack(id: string, by: string, via: string, now: number, episode?: number): Promise<AckResult>;
}

export type { SilenceState } from '../domain/silence.js';

/** What an operator posts; id and timestamps are the store's. */
export type NewSilence = Omit<Silence, 'id' | 'createdAt' | 'updatedAt'>;

export interface SilenceStore {
  create(input: NewSilence, now: number): Promise<Silence>;
  get(id: string): Promise<Silence | undefined>;
  /** Newest first; `state` relative to `now`. */
  list(now: number, state?: SilenceState): Promise<Silence[]>;
  /** End a silence now (DELETE); undefined when there is no such silence. */
  expire(id: string, now: number): Promise<Silence | undefined>;
  /** Silences in force at `now` (the mute stage reads these). */
  active(now: number): Promise<Silence[]>;
}
