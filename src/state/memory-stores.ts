// In-memory twins of the Redis stores (fakes over mocks), for unit tests and
// for wiring the HTTP layer without Redis.

import type { AlertEvent, AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import type { Sample } from '../domain/sample.js';
import { acknowledge } from '../domain/lifecycle.js';
import type { AckResult, AlertFilter, AlertStore, EntityFilter, RegistryStore, SampleSink } from './ports.js';

export interface SinkBatch {
  readonly samples: readonly Sample[];
  readonly source: string;
}

/** Records every enqueued batch; `failWith()` makes it throw like an unreachable Redis. */
export class MemorySampleSink implements SampleSink {
  readonly batches: SinkBatch[] = [];
  private failure: Error | undefined;

  constructor(private readonly batchSize = 2000) {}

  /** Every sample enqueued so far, in order. */
  get samples(): Sample[] {
    return this.batches.flatMap((b) => b.samples);
  }

  failWith(err: Error = new Error('connect ECONNREFUSED 127.0.0.1:6379')): void {
    this.failure = err;
  }

  recover(): void {
    this.failure = undefined;
  }

  async enqueue(samples: readonly Sample[], source: string): Promise<{ jobs: number }> {
    if (this.failure) throw this.failure;
    this.batches.push({ samples: [...samples], source });
    return { jobs: Math.ceil(samples.length / this.batchSize) };
  }
}

export class MemoryRegistryStore implements RegistryStore {
  private readonly entities = new Map<string, Entity>();
  private readonly unknownCounts = new Map<string, number>();

  constructor(entities: readonly Entity[] = []) {
    for (const e of entities) this.entities.set(e.id, e);
  }

  async putMany(entities: readonly Entity[]): Promise<void> {
    for (const e of entities) this.entities.set(e.id, e);
  }

  async get(id: string): Promise<Entity | undefined> {
    return this.entities.get(id);
  }

  async list(filter: EntityFilter = {}): Promise<Entity[]> {
    const out: Entity[] = [];
    for (const e of this.entities.values()) {
      if (filter.kind !== undefined && e.kind !== filter.kind) continue;
      if (filter.region !== undefined && e.region !== filter.region) continue;
      if (filter.district !== undefined && e.district !== filter.district) continue;
      out.push(e);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async *idPages(pageSize = 1000): AsyncIterable<string[]> {
    const ids = [...this.entities.keys()];
    for (let i = 0; i < ids.length; i += pageSize) yield ids.slice(i, i + pageSize);
  }

  /** Count `n` samples seen for `id`; registered ids are not tracked. */
  noteUnknown(id: string, n = 1): void {
    if (this.entities.has(id)) return;
    this.unknownCounts.set(id, (this.unknownCounts.get(id) ?? 0) + n);
  }

  async unknown(): Promise<{ id: string; samples: number }[]> {
    const out: { id: string; samples: number }[] = [];
    for (const [id, samples] of this.unknownCounts) if (!this.entities.has(id)) out.push({ id, samples });
    return out.sort((a, b) => b.samples - a.samples || (a.id < b.id ? -1 : 1));
  }
}

/** Seedable alert store; `ack` runs the real lifecycle and records the published events. */
export class MemoryAlertStore implements AlertStore {
  private readonly records = new Map<string, AlertRecord>();
  readonly events: AlertEvent[] = [];

  constructor(records: readonly AlertRecord[] = []) {
    this.seed(...records);
  }

  seed(...records: AlertRecord[]): void {
    for (const r of records) this.records.set(r.id, r);
  }

  async list(filter: AlertFilter = {}): Promise<AlertRecord[]> {
    const out: AlertRecord[] = [];
    for (const r of this.records.values()) {
      if (filter.state !== undefined && r.state !== filter.state) continue;
      if (filter.rule !== undefined && r.rule !== filter.rule) continue;
      if (filter.entity !== undefined && r.entity !== filter.entity) continue;
      out.push(r);
    }
    // Most recently changed first, as an operator reads a list of alerts.
    return out.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1));
  }

  async get(id: string): Promise<AlertRecord | undefined> {
    return this.records.get(id);
  }

  async ack(id: string, by: string, via: string, now: number, episode?: number): Promise<AckResult> {
    const prior = this.records.get(id);
    if (!prior) return { ok: false, code: 'not_found' };
    if (episode !== undefined && prior.episode !== episode) return { ok: false, code: 'not_ackable', alert: prior };
    const outcome = acknowledge(prior, by, via, now);
    if (!outcome.ok) return { ok: false, code: outcome.code, alert: prior };
    const { record, event } = outcome.step;
    if (record) this.records.set(id, record);
    if (event) this.events.push(event);
    return { ok: true, alert: record ?? prior };
  }
}
