import { describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import { SAMPLE_ERRORS } from '../../src/errors/catalogue.js';
import { humanSpan, mergeRejections, parseIsoTs, parseSampleTs, parseSampleValue, RejectionList, SampleValidator, validateSamples } from '../../src/ingest/validate.js';

const calendar = new Calendar('Asia/Shanghai');
const NOW = Date.parse('2026-11-21T10:00:00+08:00');
const ctx = { metrics: metricCatalogue(), now: NOW, retentionDays: 35, maxFutureMs: 5 * 60_000, calendar };
const good = { metric: 'card_opening', entity: 'D0001', value: 37 };

function one(raw: unknown) {
  return validateSamples([raw], ctx);
}

describe('validateSamples: reject codes', () => {
  const cases: [string, unknown, string, string][] = [
    ['null', null, 'not_an_object', 'sample'],
    ['array', [1], 'not_an_object', 'sample'],
    ['string', 'card_opening', 'not_an_object', 'sample'],
    ['no metric', { entity: 'D0001', value: 1 }, 'missing_metric', 'metric'],
    ['empty metric', { ...good, metric: '' }, 'missing_metric', 'metric'],
    ['numeric metric', { ...good, metric: 7 }, 'missing_metric', 'metric'],
    ['unknown metric', { ...good, metric: 'card_openings' }, 'unknown_metric', '"card_openings"'],
    ['no entity', { metric: 'card_opening', value: 1 }, 'missing_entity', 'entity'],
    ['empty entity', { ...good, entity: '' }, 'missing_entity', 'entity'],
    ['long entity', { ...good, entity: 'D'.repeat(201) }, 'entity_too_long', '201 characters'],
    ['no value', { metric: 'card_opening', entity: 'D0001' }, 'bad_value', 'value'],
    ['null value', { ...good, value: null }, 'bad_value', 'got null'],
    ['text value', { ...good, value: 'abc' }, 'bad_value', '"abc"'],
    ['NaN value', { ...good, value: Number.NaN }, 'bad_value', 'NaN'],
    ['Infinity value', { ...good, value: Number.POSITIVE_INFINITY }, 'bad_value', 'Infinity'],
    ['"Infinity" string', { ...good, value: 'Infinity' }, 'bad_value', 'value'],
    ['empty string value', { ...good, value: '' }, 'bad_value', 'value'],
    ['hex string value', { ...good, value: '0x10' }, 'bad_value', '"0x10"'],
    ['trailing junk', { ...good, value: '37abc' }, 'bad_value', '"37abc"'],
    ['boolean value', { ...good, value: true }, 'bad_value', 'true'],
    ['negative', { ...good, value: -1 }, 'negative_value', '-1'],
    ['negative string', { ...good, value: '-2.5' }, 'negative_value', '"-2.5"'],
    ['bad ts text', { ...good, ts: 'yesterday' }, 'bad_ts', '"yesterday"'],
    ['bad ts date', { ...good, ts: '2026-02-30T00:00:00Z' }, 'bad_ts', 'ts'],
    ['bad ts offset', { ...good, ts: '2026-11-21T00:00:00+8' }, 'bad_ts', 'ts'],
    ['bad ts type', { ...good, ts: true }, 'bad_ts', 'true'],
    ['ts object', { ...good, ts: {} }, 'bad_ts', 'an object'],
    ['future', { ...good, ts: NOW + 5 * 60_000 + 1 }, 'ts_future', 'future'],
    ['too old', { ...good, ts: '2026-10-16T23:59:59+08:00' }, 'ts_too_old', 'retention'],
    ['epoch seconds', { ...good, ts: Math.floor(NOW / 1000) }, 'ts_too_old', 'epoch seconds'],
    ['numeric id', { ...good, id: 5 }, 'bad_id', 'id'],
    ['empty id', { ...good, id: '' }, 'bad_id', 'id'],
    ['long id', { ...good, id: 'x'.repeat(201) }, 'bad_id', '…'],
    ['labels array', { ...good, labels: ['billing'] }, 'bad_labels', 'labels'],
    ['labels string', { ...good, labels: 'billing' }, 'bad_labels', 'labels'],
    ['label number', { ...good, labels: { category: 3 } }, 'bad_labels', 'labels.category'],
    ['label __proto__', JSON.parse('{"metric":"card_opening","entity":"D0001","value":1,"labels":{"__proto__":"x"}}'), 'bad_labels', '__proto__'],
  ];
  it.each(cases)('%s → %s', (_name, raw, code, inMessage) => {
    const { accepted, rejected } = one(raw);
    expect(accepted).toEqual([]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ index: 0, code });
    expect(rejected[0]!.message).toContain(inMessage);
    expect(Object.keys(SAMPLE_ERRORS)).toContain(code);
  });

  it('truncates long values in messages', () => {
    const { rejected } = one({ ...good, metric: 'm'.repeat(500) });
    expect(rejected[0]!.message.length).toBeLessThan(300);
  });
});

describe('validateSamples: accepted forms', () => {
  it.each([
    ['number', 37, 37],
    ['numeric string', '37', 37],
    ['decimal string', ' 2.5 ', 2.5],
    ['exponent string', '1e3', 1000],
    ['zero', 0, 0],
    ['negative zero', -0, 0],
  ])('value %s', (_n, value, expected) => {
    const { accepted, rejected } = one({ ...good, value });
    expect(rejected).toEqual([]);
    expect(accepted[0]!.value).toBe(expected);
    expect(Object.is(accepted[0]!.value, -0)).toBe(false);
  });

  it.each([
    ['absent → now', undefined, NOW],
    ['null → now', null, NOW],
    ['epoch ms number', NOW - 1000, NOW - 1000],
    ['epoch ms string', String(NOW - 1000), NOW - 1000],
    ['ISO with +08:00', '2026-11-21T00:00:00+08:00', Date.parse('2026-11-20T16:00:00Z')],
    ['ISO with Z', '2026-11-20T16:00:00Z', Date.parse('2026-11-20T16:00:00Z')],
    ['ISO with +0800', '2026-11-21T00:00:00+0800', Date.parse('2026-11-20T16:00:00Z')],
    ['ISO with +08', '2026-11-21T00:00:00+08', Date.parse('2026-11-20T16:00:00Z')],
    ['ISO with -05:30', '2026-11-20T10:30:00-05:30', Date.parse('2026-11-20T16:00:00Z')],
    ['ISO with millis', '2026-11-20T16:00:00.250Z', Date.parse('2026-11-20T16:00:00.250Z')],
    ['ISO without offset is local (Asia/Shanghai)', '2026-11-21T00:00:00', Date.parse('2026-11-20T16:00:00Z')],
    ['ISO minutes only, local', '2026-11-21T08:30', Date.parse('2026-11-21T00:30:00Z')],
    ['space separator, local', '2026-11-21 08:00:00', Date.parse('2026-11-21T00:00:00Z')],
    ['date alone is local midnight', '2026-11-21', Date.parse('2026-11-20T16:00:00Z')],
    ['oldest allowed instant', '2026-10-17T00:00:00+08:00', Date.parse('2026-10-16T16:00:00Z')],
    ['just inside maxFuture', NOW + 5 * 60_000, NOW + 5 * 60_000],
  ])('ts %s', (_n, ts, expected) => {
    const { accepted, rejected } = one({ ...good, ts });
    expect(rejected).toEqual([]);
    expect(accepted[0]!.ts).toBe(expected);
  });

  it('keeps id and labels, drops unknown fields and empty labels', () => {
    const { accepted } = validateSamples(
      [
        { ...good, id: 'D0001/card_opening/2026-11-21', labels: { category: 'billing' }, extra: 'x' },
        { ...good, labels: {} },
      ],
      ctx,
    );
    expect(accepted).toEqual([
      { metric: 'card_opening', entity: 'D0001', value: 37, ts: NOW, id: 'D0001/card_opening/2026-11-21', labels: { category: 'billing' } },
      { metric: 'card_opening', entity: 'D0001', value: 37, ts: NOW },
    ]);
    expect('labels' in accepted[1]!).toBe(false);
  });

  it('makes every sample with its fields in one order, none present as undefined (one shape per kind of sample)', () => {
    const { accepted } = validateSamples(
      [
        { id: 'a', labels: { category: 'billing' }, value: 1, entity: 'D0001', metric: 'card_opening' },
        { labels: { category: 'billing' }, value: 2, entity: 'D0001', metric: 'card_opening' },
        { id: 'b', value: 3, entity: 'D0001', metric: 'card_opening' },
        { value: 4, entity: 'D0001', metric: 'card_opening', id: null },
      ],
      ctx,
    );
    expect(accepted.map((s) => Object.keys(s).join())).toEqual(['metric,entity,value,ts,id,labels', 'metric,entity,value,ts,labels', 'metric,entity,value,ts,id', 'metric,entity,value,ts']);
  });

  it('honours a local zone with DST when no offset is given', () => {
    const ny = new Calendar('America/New_York');
    expect(parseIsoTs('2026-07-01T12:00:00', ny)).toBe(Date.parse('2026-07-01T16:00:00Z'));
    expect(parseIsoTs('2026-12-01T12:00:00', ny)).toBe(Date.parse('2026-12-01T17:00:00Z'));
  });
});

describe('validateSamples: batches', () => {
  it('keeps the good samples of a mixed batch, rejections in index order', () => {
    const { accepted, rejected } = validateSamples(
      [good, { ...good, value: -3 }, { ...good, entity: 'D0002' }, 'junk', { ...good, metric: 'nope' }, { ...good, entity: 'D0003', value: '5' }],
      ctx,
    );
    expect(accepted.map((s) => s.entity)).toEqual(['D0001', 'D0002', 'D0003']);
    expect(rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'negative_value'],
      [3, 'not_an_object'],
      [4, 'unknown_metric'],
    ]);
  });

  it('duplicate ids: the last occurrence wins, earlier ones name their successor', () => {
    const { accepted, rejected } = validateSamples(
      [
        { ...good, id: 'a', value: 1 },
        { ...good, id: 'b', value: 2 },
        { ...good, id: 'a', value: 3 },
        { ...good, id: 'a', value: 4 },
      ],
      ctx,
    );
    expect(accepted.map((s) => [s.id, s.value])).toEqual([
      ['b', 2],
      ['a', 4],
    ]);
    expect(rejected).toEqual([
      { index: 0, code: 'duplicate_id', message: expect.stringContaining('index 2') },
      { index: 2, code: 'duplicate_id', message: expect.stringContaining('index 3') },
    ]);
  });

  it('an invalid later duplicate does not displace the earlier valid sample', () => {
    const { accepted, rejected } = validateSamples([{ ...good, id: 'a', value: 1 }, { ...good, id: 'a', value: -1 }], ctx);
    expect(accepted.map((s) => s.value)).toEqual([1]);
    expect(rejected.map((r) => r.code)).toEqual(['negative_value']);
  });

  it('reports indexes from firstIndex (CSV rows) or an explicit index list (NDJSON)', () => {
    expect(validateSamples([good, null], { ...ctx, firstIndex: 101 }).rejected[0]!.index).toBe(102);
    expect(validateSamples([good, null], { ...ctx, indexes: [0, 7] }).rejected[0]!.index).toBe(7);
  });

  it('ownShapes (a v: 2 job decoded by fromColumns): a sample that passes as it came is kept, one changed is made whole anew', () => {
    const TS = NOW - 3_600_000;
    const kept = [
      { metric: 'card_opening', entity: 'D1', value: 5, ts: TS },
      { metric: 'card_opening', entity: 'D1', value: 6, ts: TS, id: 'D1/x' },
      { metric: 'complaints', entity: 'M1', value: 1, ts: TS, id: 'M1/y', labels: { category: 'billing' } },
    ];
    const changed = [
      { metric: 'card_opening', entity: 'D2', value: -0, ts: TS }, // -0 becomes 0
      { metric: 'card_opening', entity: 'D2', value: 7, ts: new Date(TS).toISOString() }, // an ISO time becomes epoch ms
      { metric: 'card_opening', entity: 'D2', value: 8, ts: TS, id: undefined }, // an id field holding nothing is left out
      { metric: 'card_opening', entity: 'D2', value: 9, ts: TS, labels: {} }, // empty labels are left out
      { metric: 'card_opening', entity: 'D2', value: '10', ts: TS }, // a numeric string becomes a number
    ];
    const raws = [...kept, ...changed];
    const { accepted, rejected } = validateSamples(raws, { ...ctx, ownShapes: true });
    expect(rejected).toEqual([]);
    accepted.slice(0, kept.length).forEach((s, i) => expect(s).toBe(kept[i]));
    accepted.slice(kept.length).forEach((s, i) => expect(s).not.toBe(changed[i]));
    expect(accepted.slice(kept.length).map((s) => [Object.keys(s).join(), Object.is(s.value, -0) ? '-0' : s.value, s.ts])).toEqual([
      ['metric,entity,value,ts', 0, TS],
      ['metric,entity,value,ts', 7, TS],
      ['metric,entity,value,ts', 8, TS],
      ['metric,entity,value,ts', 9, TS],
      ['metric,entity,value,ts', 10, TS],
    ]);
    // Without it every accepted sample is a new object.
    validateSamples(kept, ctx).accepted.forEach((s, i) => {
      expect(s).not.toBe(kept[i]);
      expect(s).toEqual(kept[i]);
    });
  });

  it('mergeRejections sorts by index', () => {
    const a = [{ index: 3, code: 'bad_row', message: '' }];
    const b = [
      { index: 1, code: 'bad_value', message: '' },
      { index: 5, code: 'bad_ts', message: '' },
    ];
    expect(mergeRejections(a, b).map((r) => r.index)).toEqual([1, 3, 5]);
  });
});

describe('parsers', () => {
  it('parseSampleValue', () => {
    expect(parseSampleValue('12')).toBe(12);
    expect(parseSampleValue('1_000')).toBeNaN();
    expect(parseSampleValue(undefined)).toBeNaN();
  });
  it('parseSampleTs rejects out-of-range fields', () => {
    for (const s of ['2026-13-01', '2026-11-31', '2026-11-21T24:00:00Z', '2026-11-21T10:60', '2026-11-21T10:00:61Z', '2026-11-21T10:00:00.Z', '2026-11-21T10:00:00+08:00x', '20261121T100000Z', '']) {
      expect(parseSampleTs(s, calendar), s).toBeNaN();
    }
    expect(parseSampleTs('2024-02-29', calendar)).not.toBeNaN();
    expect(parseSampleTs('2025-02-29', calendar)).toBeNaN();
  });
});

describe('ts_future speaks in human units', () => {
  it.each([
    [2_345_992_000, '27 days in the future (limit: 5 minutes)'],
    [90 * 60_000, '1 hour 30 minutes in the future (limit: 5 minutes)'],
    [5 * 60_000 + 1000, '5 minutes 1 second in the future (limit: 5 minutes)'],
  ])('%d ms ahead → %s', (ahead, text) => {
    const { rejected } = one({ ...good, ts: NOW + ahead });
    expect(rejected[0]).toMatchObject({ code: 'ts_future' });
    expect(rejected[0]!.message).toContain(text);
  });

  it.each([
    [0, '0 seconds'],
    [1000, '1 second'],
    [61_000, '1 minute 1 second'],
    [3_600_000, '1 hour'],
    [90_061_000, '1 day 1 hour'],
    [400 * 86_400_000, '1 year 35 days'],
  ])('humanSpan(%d) = %s', (ms, text) => {
    expect(humanSpan(ms)).toBe(text);
  });
});

describe('RejectionList: first N listed, all counted', () => {
  it('keeps the lowest indexes, counts the rest by code, and lets a late earlier index displace a later one', () => {
    const list = new RejectionList(3);
    for (let i = 0; i < 10; i++) list.add(i + 5, i % 2 ? 'bad_value' : 'missing_metric', `m${i}`);
    list.add(1, 'duplicate_id', 'late');
    expect(list.list().map((r) => [r.index, r.code])).toEqual([
      [1, 'duplicate_id'],
      [5, 'missing_metric'],
      [6, 'bad_value'],
    ]);
    expect(list.total).toBe(11);
    expect(list.byCode).toEqual({ missing_metric: 5, bad_value: 5, duplicate_id: 1 });
    expect(list.keeps(4)).toBe(true);
    expect(list.keeps(9)).toBe(false);
  });

  it('a validator fed in slices equals one pass, duplicate ids across slices included', () => {
    const raws = [good, { ...good, id: 'a' }, 42, { ...good, id: 'a', value: 2 }, { metric: 'nope' }, { ...good, value: -1 }];
    const whole = validateSamples(raws, ctx);
    const rejections = new RejectionList();
    const v = new SampleValidator(ctx, rejections);
    v.push(raws.slice(0, 2), 0);
    v.push(raws.slice(2, 4), 2);
    v.push(raws.slice(4), 4);
    expect(v.result()).toEqual(whole.accepted);
    expect(rejections.list()).toEqual(whole.rejected);
    expect(whole.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'duplicate_id'],
      [2, 'not_an_object'],
      [4, 'unknown_metric'],
      [5, 'negative_value'],
    ]);
    expect(v.acceptedCount).toBe(2);
  });
});
