import { describe, expect, it } from 'vitest';
import { BodyError, MAX_DEPTH, parseSampleBody, sampleBodySlices, SLICE_CHARS } from '../../src/ingest/body.js';

describe('parseSampleBody', () => {
  it('JSON array', () => {
    expect(parseSampleBody('[{"a":1},{"a":2}]')).toEqual({ records: [{ a: 1 }, { a: 2 }], rejected: [] });
  });

  it('empty JSON array', () => {
    expect(parseSampleBody(' [] ').records).toEqual([]);
  });

  it('single JSON object (pretty-printed across lines)', () => {
    expect(parseSampleBody('{\n  "a": 1\n}\n').records).toEqual([{ a: 1 }]);
  });

  it('NDJSON with blank lines and CRLF', () => {
    const r = parseSampleBody('{"a":1}\r\n\r\n{"a":2}\n\n{"a":3}\n');
    expect(r.records).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);
    expect(r.indexes).toBeUndefined();
    expect(r.rejected).toEqual([]);
  });

  it('a bad NDJSON line is a bad_row at its record index; the others are kept', () => {
    const r = parseSampleBody('{"a":1}\n\n{"a":2\n{"a":3}\n');
    expect(r.records).toEqual([{ a: 1 }, { a: 3 }]);
    expect(r.indexes).toEqual([0, 2]);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]).toMatchObject({ index: 1, code: 'bad_row' });
    expect(r.rejected[0]!.message).toContain('NDJSON line 3');
  });

  it('a non-object NDJSON line is left for validation (not_an_object)', () => {
    expect(parseSampleBody('{"a":1}\n42\n').records).toEqual([{ a: 1 }, 42]);
  });

  it.each([
    ['empty', ''],
    ['whitespace', '  \n '],
    ['broken array', '[{"a":1},'],
    ['plain text', 'hello world'],
    ['bare number', '42'],
    ['bare string', '"x"'],
    ['every NDJSON line broken', '{"a":\n{"b":\n'],
  ])('%s → unparseable_body', (_name, body) => {
    expect(() => parseSampleBody(body)).toThrow(BodyError);
    try {
      parseSampleBody(body);
    } catch (err) {
      expect((err as BodyError).code).toBe('unparseable_body');
      expect((err as BodyError).message.length).toBeGreaterThan(10);
    }
  });

  it('names the NDJSON line when no line parses', () => {
    expect(() => parseSampleBody('\n\n{oops}\n')).toThrow(/NDJSON line 3/);
  });
});

/** All slices of a body flattened: records with their indexes, and the bad rows. */
async function sliced(body: string) {
  const records: unknown[] = [];
  const indexes: number[] = [];
  const badRows: { index: number; code: string }[] = [];
  let slices = 0;
  for await (const s of sampleBodySlices(body)) {
    slices++;
    s.records.forEach((r, i) => {
      records.push(r);
      indexes.push(s.indexes ? s.indexes[i]! : s.firstIndex + i);
    });
    badRows.push(...s.badRows.map((b) => ({ index: b.index, code: b.code })));
  }
  return { records, indexes, badRows, slices };
}

describe('sampleBodySlices: the same answers as parseSampleBody, in slices', () => {
  it.each([
    ['array', '[{"a":1},{"a":2}]'],
    ['empty array', ' [] '],
    ['object', '{\n  "a": 1\n}\n'],
    ['NDJSON', '{"a":1}\r\n\r\n{"a":2}\n\n{"a":3}\n'],
    ['NDJSON with a bad line', '{"a":1}\n\n{"a":2\n{"a":3}\n'],
    ['strings holding brackets, commas and escaped quotes', '[{"a":"],[{\\"x"},{"b":"\\\\"}]'],
  ])('%s', async (_name, body) => {
    const whole = parseSampleBody(body);
    const s = await sliced(body);
    expect(s.records).toEqual(whole.records);
    expect(s.indexes).toEqual(whole.indexes ?? whole.records.map((_r, i) => i));
    expect(s.badRows).toEqual(whole.rejected.map((r) => ({ index: r.index, code: r.code })));
  });

  it('a large array comes in several slices with running indexes', async () => {
    const items = Array.from({ length: 20_000 }, (_v, i) => ({ i, s: 'x,]}' }));
    const s = await sliced(JSON.stringify(items));
    expect(s.slices).toBeGreaterThan(JSON.stringify(items).length / SLICE_CHARS - 1);
    expect(s.records).toEqual(items);
    expect(s.indexes).toEqual(items.map((_v, i) => i));
  });

  it('a large NDJSON body keeps line indexes across slices', async () => {
    const lines = Array.from({ length: 10_000 }, (_v, i) => (i % 1000 === 7 ? '{"torn":' : JSON.stringify({ i })));
    const s = await sliced(lines.join('\n'));
    expect(s.slices).toBeGreaterThan(1);
    expect(s.badRows.map((b) => b.index)).toEqual([7, 1007, 2007, 3007, 4007, 5007, 6007, 7007, 8007, 9007]);
    expect(s.records).toHaveLength(9990);
    expect(s.indexes[7]).toBe(8);
  });

  it.each([
    ['empty', ''],
    ['broken array', '[{"a":1},'],
    ['trailing comma', '[{"a":1},]'],
    ['trailing comma after a slice boundary', `[${Array(SLICE_CHARS).fill('1').join(',')},]`],
    ['text after the array', '[1] x'],
    ['bad record after a slice boundary', `[${Array(SLICE_CHARS).fill('1').join(',')},nope]`],
    ['plain text', 'hello world'],
    ['NDJSON of numbers only', '0\n0\n0\n'],
    ['deeply nested array', '['.repeat(100_000) + ']'.repeat(100_000)],
    ['deeply nested object', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)],
  ])('%s → unparseable_body', async (_name, body) => {
    const err = await sliced(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyError);
    expect((err as BodyError).code).toBe('unparseable_body');
    expect((err as BodyError).message.length).toBeGreaterThan(10);
  });

  it(`nesting up to ${MAX_DEPTH} levels still parses`, async () => {
    const deep = '['.repeat(MAX_DEPTH - 3) + ']'.repeat(MAX_DEPTH - 3);
    expect((await sliced(`[{"labels":{"a":${deep}}}]`)).records).toHaveLength(1);
  });
});
