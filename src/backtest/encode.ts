// Validated samples reduced to numbers, in chunks of typed arrays a reading thread can transfer
// to the thread that applies them (SampleStore.addEncoded): entity (interned per reading thread;
// new names travel with the chunk that first uses them), metric index, local hour index, value
// in thousandths, and the two hashes of the id.

import type { Calendar } from '../domain/clock.js';
import { MS_PER_HOUR } from '../domain/clock.js';
import type { Sample } from '../domain/sample.js';
import { toMilli } from '../domain/bucket.js';
import { idHashA, idHashB } from './id-table.js';

export interface EncodedChunk {
  readonly length: number;
  /** Entity names first used in this chunk, in the order of their local indexes. */
  readonly newEntities: string[];
  readonly entity: Int32Array;
  readonly metric: Uint16Array;
  readonly hour: Int32Array;
  readonly milli: Float64Array;
  readonly hasId: Uint8Array;
  readonly idA: Int32Array;
  readonly idB: Int32Array;
}

/** The buffers to transfer with a chunk. */
export function chunkBuffers(c: EncodedChunk): ArrayBuffer[] {
  return [c.entity, c.metric, c.hour, c.milli, c.hasId, c.idA, c.idB].map((a) => a.buffer as ArrayBuffer);
}

export class ChunkEncoder {
  private readonly entities = new Map<string, number>();
  private newEntities: string[] = [];
  private n = 0;
  private entity!: Int32Array;
  private metric!: Uint16Array;
  private hour!: Int32Array;
  private milli!: Float64Array;
  private hasId!: Uint8Array;
  private idA!: Int32Array;
  private idB!: Int32Array;

  constructor(
    private readonly calendar: Calendar,
    private readonly metricIndex: ReadonlyMap<string, number>,
    private readonly size: number,
    private readonly emit: (chunk: EncodedChunk) => void,
  ) {
    this.fresh();
  }

  private fresh(): void {
    this.n = 0;
    this.newEntities = [];
    this.entity = new Int32Array(this.size);
    this.metric = new Uint16Array(this.size);
    this.hour = new Int32Array(this.size);
    this.milli = new Float64Array(this.size);
    this.hasId = new Uint8Array(this.size);
    this.idA = new Int32Array(this.size);
    this.idB = new Int32Array(this.size);
  }

  add(s: Sample): void {
    let e = this.entities.get(s.entity);
    if (e === undefined) {
      e = this.entities.size;
      this.entities.set(s.entity, e);
      this.newEntities.push(s.entity);
    }
    const i = this.n++;
    this.entity[i] = e;
    this.metric[i] = this.metricIndex.get(s.metric)!;
    this.hour[i] = Math.floor((s.ts + this.calendar.offsetAt(s.ts)) / MS_PER_HOUR);
    // The same fixed point as the apply script: integer thousandths.
    this.milli[i] = toMilli(s.value);
    if (s.id !== undefined) {
      this.hasId[i] = 1;
      this.idA[i] = idHashA(s.id);
      this.idB[i] = idHashB(s.id);
    }
    if (this.n === this.size) this.flush();
  }

  flush(): void {
    if (this.n === 0) return;
    const n = this.n;
    const full = n === this.size;
    const cut = <T extends { slice(a: number, b: number): T }>(a: T): T => (full ? a : a.slice(0, n));
    this.emit({
      length: n,
      newEntities: this.newEntities,
      entity: cut(this.entity),
      metric: cut(this.metric),
      hour: cut(this.hour),
      milli: cut(this.milli),
      hasId: cut(this.hasId),
      idA: cut(this.idA),
      idB: cut(this.idB),
    });
    this.fresh();
  }
}
