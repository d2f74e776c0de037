// The bucket format, in one place: a daily or hourly bucket holds the sum of its samples' values
// in integer thousandths (exact sums, no float dust after replacements) and their count, stored in
// Redis as "sumMilli,count" (written by the apply script in state/lua.ts). A bucket with no sample
// is no data; 0 with a sample is data. A gauge (aggregation avg) reads as the mean.

/** Values are kept as integer thousandths. */
export const MILLI = 1000;

/** A sample value as the thousandths a bucket adds up. */
export function toMilli(value: number): number {
  return Math.round(value * MILLI);
}

/** What a bucket reads as: the sum, or for a gauge the mean; undefined when it holds no sample. */
export function bucketValue(sumMilli: number, count: number, avg: boolean): number | undefined {
  if (!(count > 0)) return undefined;
  const sum = sumMilli / MILLI;
  return avg ? sum / count : sum;
}

/** A stored bucket "sumMilli,count" as its sum (in units, not thousandths) and count; undefined when empty. */
export function decodeBucket(raw: string | null | undefined): { sum: number; count: number } | undefined {
  if (!raw) return undefined;
  const comma = raw.indexOf(',');
  const count = Number(raw.slice(comma + 1));
  if (!(count > 0)) return undefined;
  return { sum: Number(raw.slice(0, comma)) / MILLI, count };
}

/** A stored bucket as the value rules read (see bucketValue). */
export function parseBucket(raw: string | null | undefined, avg: boolean): number | undefined {
  const b = decodeBucket(raw);
  if (!b) return undefined;
  return avg ? b.sum / b.count : b.sum;
}
