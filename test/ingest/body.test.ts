import { describe, expect, it } from 'vitest';
import { BodyError, parseSampleBody } from '../../src/ingest/body.js';

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
