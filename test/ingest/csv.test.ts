import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RawSample } from '../../src/domain/sample.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { readSampleCsv, sampleCsvLayout } from '../../src/ingest/csv.js';
import iconv from 'iconv-lite';

function streamOf(text: string, chunk = 7): Readable {
  // Small chunks: rows straddle chunk boundaries as they do when reading a file.
  const parts: Buffer[] = [];
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

async function readAll(text: string, batchSize = 2) {
  const batches: { raws: RawSample[]; first: number }[] = [];
  const progress: [number, number][] = [];
  const result = await readSampleCsv(streamOf(text), {
    batchSize,
    onBatch: async (raws, first) => {
      batches.push({ raws, first });
    },
    onProgress: (rows, bytes) => progress.push([rows, bytes]),
  });
  return { batches, result, progress };
}

/** Row number → raw sample, from the batches. */
function byRow(batches: { raws: RawSample[]; first: number }[]): Map<number, RawSample> {
  const out = new Map<number, RawSample>();
  for (const b of batches) b.raws.forEach((r, i) => out.set(b.first + i, r));
  return out;
}

describe('readSampleCsv', () => {
  it('reads rows in batches with ids, labels and blank cells left out', async () => {
    const csv = [
      'metric,entity,value,ts,id,label.category',
      'complaints,C01,3,2026-11-21T00:00:00+08:00,C01/2026-11-21,billing',
      'complaints,C02,4,,,',
      'card_opening,D0001,37,1763654400000,,',
    ].join('\n');
    const { batches, result, progress } = await readAll(csv);
    expect(batches.map((b) => [b.first, b.raws.length])).toEqual([
      [1, 2],
      [3, 1],
    ]);
    expect(batches[0]!.raws[0]).toEqual({
      metric: 'complaints',
      entity: 'C01',
      value: '3',
      ts: '2026-11-21T00:00:00+08:00',
      id: 'C01/2026-11-21',
      labels: { category: 'billing' },
    });
    expect(batches[0]!.raws[1]).toEqual({ metric: 'complaints', entity: 'C02', value: '4' });
    expect(result.rows).toBe(3);
    expect(result.rejected).toEqual([]);
    expect(result.bytes).toBe(Buffer.byteLength(csv));
    expect(progress.at(-1)).toEqual([3, Buffer.byteLength(csv)]);
  });

  it('reports a broken row in the middle as bad_row and imports the rest', async () => {
    const csv = [
      'metric,entity,value,ts',
      'card_opening,D0001,10,2026-11-20',
      'card_opening,D0002,11,2026-11-20',
      'card_opening,D0003,12', // one field short
      'card_opening,D0004,13,2026-11-20',
      '',
      'card_opening,"D0005",14,2026-11-20',
    ].join('\r\n');
    const { batches, result } = await readAll(csv, 10);
    const rows = byRow(batches);
    expect([...rows.keys()]).toEqual([1, 2, 4, 5]);
    expect(rows.get(4)).toMatchObject({ entity: 'D0004' });
    expect(rows.get(5)).toMatchObject({ entity: 'D0005' });
    expect(result.rejected).toEqual([{ index: 3, code: 'bad_row', message: expect.stringContaining('CSV line 4') }]);
    expect(result.rejected[0]!.message).toContain('3 fields');
    // A batch never spans a bad row, so raws[i] is always row first + i.
    expect(batches.map((b) => b.first)).toEqual([1, 4]);
    expect(result.rows).toBe(5);
  });

  it('an unclosed quote at the end is one bad_row', async () => {
    const { batches, result } = await readAll('metric,entity,value,ts\ncard_opening,D1,1,\ncard_opening,"D2,2,\ncard_opening,D3,3,\n');
    expect([...byRow(batches).keys()]).toEqual([1]);
    expect(result.rejected).toMatchObject([{ index: 2, code: 'bad_row' }]);
    expect(result.rejected[0]!.message).toContain('never closed');
  });

  it('ignores unknown columns and says so; handles a BOM and column order', async () => {
    const { batches, result } = await readAll('\uFEFFts,value,name,entity,metric\n2026-11-20,5,某营业厅,H001,basic_business\n');
    expect(batches[0]!.raws[0]).toEqual({ metric: 'basic_business', entity: 'H001', value: '5', ts: '2026-11-20' });
    expect(result.ignoredColumns).toEqual(['name']);
  });

  it('a missing required header column fails before any batch', async () => {
    const batches: unknown[] = [];
    const run = readSampleCsv(streamOf('metric,entity,ts\ncard_opening,D1,2026-11-20\n'), {
      batchSize: 10,
      file: 'samples.csv',
      onBatch: async (raws) => {
        batches.push(raws);
      },
    });
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toMatchObject({ code: 'bad_csv_header', file: 'samples.csv', line: 1 });
    await expect(run).rejects.toThrow(/missing required column value/);
    expect(batches).toEqual([]);
  });

  it('an empty file is a header error', async () => {
    await expect(readAll('')).rejects.toMatchObject({ code: 'bad_csv_header' });
  });

  it('a duplicate header column is a header error', () => {
    expect(() => sampleCsvLayout(['metric', 'entity', 'value', 'ts', 'value'])).toThrow(/appears twice/);
  });

  it('an onBatch failure stops the import and propagates', async () => {
    const run = readSampleCsv(streamOf('metric,entity,value,ts\nm,e,1,\nm,e,2,\nm,e,3,\n'), {
      batchSize: 1,
      onBatch: async () => {
        throw new Error('redis down');
      },
    });
    await expect(run).rejects.toThrow('redis down');
  });

  it('streams a large file in bounded batches', async () => {
    const lines = ['metric,entity,value,ts'];
    for (let i = 0; i < 20_000; i++) lines.push(`card_opening,D${i % 40},${i % 100},2026-11-20`);
    let max = 0;
    let total = 0;
    const result = await readSampleCsv(Readable.from([lines.join('\n')]), {
      batchSize: 1000,
      onBatch: async (raws) => {
        max = Math.max(max, raws.length);
        total += raws.length;
      },
    });
    expect(max).toBe(1000);
    expect(total).toBe(20_000);
    expect(result.rows).toBe(20_000);
  });
});

describe('readSampleCsv encodings and lines', () => {
  const header = 'metric,entity,value,ts,label.category\n';
  const body = 'card_opening,D1,3,2026-11-20,校园卡\n\ncard_opening,D2,4,2026-11-20,"多行\n标签"\ncard_opening,D3,5,2026-11-20,套餐\n';

  async function read(bytes: Buffer, encoding?: 'utf8' | 'gbk' | 'gb18030', chunk = 5) {
    const batches: { raws: RawSample[]; lines: readonly number[] }[] = [];
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
    const result = await readSampleCsv(Readable.from(parts), {
      batchSize: 10,
      file: 'export.csv',
      encoding,
      onBatch: async (raws, _first, lines) => {
        batches.push({ raws, lines });
      },
    });
    return { batches, result };
  }

  it('gives each row its file line (header = line 1, blank and multi-line rows counted)', async () => {
    const { batches } = await read(Buffer.from(header + body));
    expect(batches.flatMap((b) => b.lines)).toEqual([2, 5, 6]);
    expect(batches.flatMap((b) => b.raws.map((r) => (r.labels as Record<string, string> | undefined)?.category))).toEqual(['校园卡', '多行\n标签', '套餐']);
  });

  it('refuses GB18030 bytes without an encoding, naming the likely one and the flag', async () => {
    // The first Chinese text is on line 4 here; in 5-byte chunks and in one 64 KB chunk alike.
    const gbk = iconv.encode(`${header}card_opening,D0,1,2026-11-20,\n\n${body}`, 'gb18030');
    for (const chunk of [5, 65536]) {
      const err = await read(gbk, undefined, chunk).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).format()).toBe('export.csv:4: export.csv is not UTF-8 (looks like GB18030; pass --encoding gb18030) [csv_encoding]');
    }
  });

  it('decodes GBK and GB18030 when asked, with the same rows as UTF-8', async () => {
    const utf8 = (await read(Buffer.from(header + body))).batches;
    for (const enc of ['gbk', 'gb18030'] as const) {
      const { batches } = await read(iconv.encode(header + body, enc), enc);
      expect(batches).toEqual(utf8);
    }
  });

  it('bytes that are neither UTF-8 nor Chinese text get the generic hint', async () => {
    const latin = Buffer.concat([Buffer.from(header), Buffer.from([0x63, 0x2c, 0x44, 0x31, 0x2c, 0x33, 0x2c, 0xff, 0xfe, 0x0a])]);
    await expect(read(latin)).rejects.toThrow(/export\.csv is not UTF-8 \(pass --encoding gbk or gb18030, or save it as UTF-8\)/);
  });
});
