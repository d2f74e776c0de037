// The interfaces the HTTP layer, the CLI and the workers use to reach stored state.
// Redis implementations live beside them; in-memory twins serve unit tests.

import type { AlertRecord, AlertState } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import type { Sample } from '../domain/sample.js';

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
  ack(id: string, by: string, via: string, now: number): Promise<AckResult>;
}
