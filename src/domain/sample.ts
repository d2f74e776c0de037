export type Labels = Readonly<Record<string, string>>;

/** A validated sample. `ts` is event time in epoch ms. */
export interface Sample {
  readonly metric: string;
  readonly entity: string;
  readonly value: number;
  readonly ts: number;
  readonly id?: string;
  readonly labels?: Labels;
}

/** What arrives from outside before validation (JSON, NDJSON, CSV row, queue payload). */
export interface RawSample {
  readonly metric?: unknown;
  readonly entity?: unknown;
  readonly value?: unknown;
  readonly ts?: unknown;
  readonly id?: unknown;
  readonly labels?: unknown;
}

export interface SampleRejection {
  /** Position in the submitted batch (0-based; CSV imports report the data row number). */
  readonly index: number;
  readonly code: string;
  readonly message: string;
}
