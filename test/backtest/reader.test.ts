// The replay's CSV reader reports the same rows, codes and row numbers as `lookout import`'s
// path (readSampleCsv + validateSamples), and keeps the same samples.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSamples } from '../../src/backtest/reader.js';
import { Calendar } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample, SampleRejection } from '../../src/domain/sample.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { readSampleCsv } from '../../src/ingest/csv.js';
import { validateSamples } from '../../src/ingest/validate.js';

const calendar = new Calendar('Asia/Shanghai');
const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const validate = { metrics: metricCatalogue(), now: NOW, retentionDays: 3660, maxFutureMs: 300_000, calendar };

const MESSY = [
  '\uFEFFmetric,entity,value,ts,id,label.category,note',
  'card_opening,D0001,37,2026-11-20,D0001/card_opening/2026-11-20,,x',
  'card_opening,D0001,lots,2026-11-20,,,',
  '',
  'card_opening,D0002,5,2026-11-20,,,,extra-cell',
  'complaints,K1,3,2026-11-21T10:00:00+08:00,,billing,',
  'card_opening,D0004,6,2026-11-20,,,',
  'nonsense_metric,D0004,6,2026-11-20,,,',
  'card_opening,D0005,6,2027-11-20,,,',
  'card_opening,D0001,38,2026-11-20,D0001/card_opening/2026-11-20,,',
  'card_opening,D0006,-1,2026-11-20,,,',
  'card_opening,D0007,2,1732147200,,,',
  'card_opening,D0003,"4,2026-11-20,,,',
].join('\n');

async function viaImportPath(text: string, batchSize: number): Promise<{ accepted: Sample[]; rejected: SampleRejection[]; rows: number }> {
  const accepted: Sample[] = [];
  const rejected: SampleRejection[] = [];
  const res = await readSampleCsv(Readable.from([text]), {
    batchSize,
    onBatch: async (raws, firstRow) => {
      const v = validateSamples(raws, { ...validate, firstIndex: firstRow });
      accepted.push(...v.accepted);
      rejected.push(...v.rejected);
    },
  });
  rejected.push(...res.rejected);
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, rejected, rows: res.rows };
}

async function viaBacktest(text: string, batchSize: number) {
  const accepted: Sample[] = [];
  const res = await readSamples(Readable.from([text]), { batchSize, validate, onSamples: (s) => accepted.push(...s) });
  return { ...res, samples: accepted };
}

describe('backtest reader', () => {
  it.each([1, 3, 2000])('reports the rows `lookout import` reports, with the same numbers and codes (batch %i)', async (batchSize) => {
    const ref = await viaImportPath(MESSY, batchSize);
    const got = await viaBacktest(MESSY, batchSize);
    const refNoDup = ref.rejected.filter((r) => r.code !== 'duplicate_id');
    expect(got.rejected).toEqual(refNoDup);
    expect(got.duplicateIds).toBe(ref.rejected.length - refNoDup.length);
    expect(got.samples).toEqual(ref.accepted);
    expect(got.rows).toBe(ref.rows);
    expect(got.ignoredColumns).toEqual(['note']);
    // The codes a person would see, by data row.
    expect(got.rejected.map((r) => [r.index, r.code])).toEqual([
      [2, 'bad_value'],
      [3, 'bad_row'],
      [6, 'unknown_metric'],
      [7, 'ts_future'],
      [9, 'negative_value'],
      [10, 'ts_too_old'],
      [11, 'bad_row'],
    ]);
  });

  it('a repeated id inside one batch keeps the later sample and is counted, not reported', async () => {
    const text = ['metric,entity,value,ts,id', 'card_opening,D1,37,2026-11-20,a', 'card_opening,D2,5,2026-11-20,b', 'card_opening,D1,38,2026-11-20,a', ''].join('\n');
    const got = await viaBacktest(text, 2000);
    expect([got.duplicateIds, got.rejected]).toEqual([1, []]);
    expect(got.samples.map((s) => [s.entity, s.value])).toEqual([
      ['D2', 5],
      ['D1', 38],
    ]);
  });

  it('a missing column is a bad_csv_header before any sample', async () => {
    const err = await viaBacktest('metric,entity,amount,ts\ncard_opening,D1,3,2026-11-20\n', 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).format()).toMatch(/missing required column value.*\[bad_csv_header\]/);
    const empty = await viaBacktest('', 10).catch((e: unknown) => e);
    expect((empty as ConfigError).code).toBe('bad_csv_header');
  });
});
