import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRotas, parseLocalDateTime, readRotasYaml } from '../../src/config/rotas-loader.js';
import { Calendar } from '../../src/domain/clock.js';
import { onCall } from '../../src/route/rota.js';
import type { Rota } from '../../src/route/types.js';

const shanghai = new Calendar('Asia/Shanghai');

const ROTAS = `# 服务部门值班表: weekly hand-over, local time (LOOKOUT_TZ)
rotas:
  service_oncall:
    start: 2026-11-02        # a Monday; people[0] is on duty from then
    handover: "09:00"
    people: [SO1, SO2, SO3]
    overrides:
      - {from: "2026-12-24T18:00", to: "2026-12-26T09:00", contact: SO4}
`;

function rota(text = ROTAS, calendar = shanghai): Rota {
  const { rotas, errors } = readRotasYaml(text, calendar, 'rotas.yaml');
  expect(errors).toEqual([]);
  return rotas[0]!;
}

describe('readRotasYaml', () => {
  it('reads the documented shape', () => {
    expect(rota()).toEqual({
      role: 'service_oncall',
      start: '2026-11-02',
      handoverWeekday: 1,
      handoverMinute: 540,
      people: ['SO1', 'SO2', 'SO3'],
      overrides: [{ from: Date.parse('2026-12-24T18:00:00+08:00'), to: Date.parse('2026-12-26T09:00:00+08:00'), contact: 'SO4' }],
    });
  });

  it('defaults the hand-over to 09:00 and overrides to none; an empty file has no rotas', () => {
    expect(rota('rotas:\n  ops: {start: "2026-11-04", people: [OP1]}\n')).toMatchObject({ role: 'ops', handoverWeekday: 3, handoverMinute: 540, overrides: [] });
    expect(readRotasYaml('# nothing yet\n', shanghai)).toEqual({ rotas: [], errors: [] });
  });

  it.each([
    ['unknown field', 'rotas:\n  service_oncall:\n    start: 2026-11-02\n    people: [SO1]\n    colour: red\n', 5, 'rotas.service_oncall.colour', /unknown field/],
    ['bad start', 'rotas:\n  service_oncall:\n    start: 2026-13-02\n    people: [SO1]\n', 3, 'rotas.service_oncall.start', /YYYY-MM-DD/],
    ['bad handover', 'rotas:\n  service_oncall:\n    start: 2026-11-02\n    handover: "9am"\n    people: [SO1]\n', 4, 'rotas.service_oncall.handover', /HH:MM/],
    ['no people', 'rotas:\n  service_oncall:\n    start: 2026-11-02\n    people: []\n', 4, 'rotas.service_oncall.people', /at least one person/],
    ['missing start', 'rotas:\n  service_oncall:\n    people: [SO1]\n', 3, 'rotas.service_oncall.start', /required field is missing/],
    ['unknown role', 'rotas:\n  channel_manager:\n    start: 2026-11-02\n    people: [SO1]\n', 3, 'rotas.channel_manager', /a rota staffs one of service_oncall, ops/],
    ['unknown top key', 'rota:\n  service_oncall: {}\n', 1, 'rota', /unknown field/],
    [
      'override ends before it starts',
      'rotas:\n  service_oncall:\n    start: 2026-11-02\n    people: [SO1]\n    overrides:\n      - {from: "2026-12-26T09:00", to: "2026-12-24T18:00", contact: SO4}\n',
      6,
      'rotas.service_oncall.overrides[0].to',
      /end after it starts/,
    ],
    [
      'override with a bad time',
      'rotas:\n  service_oncall:\n    start: 2026-11-02\n    people: [SO1]\n    overrides:\n      - from: "Christmas"\n        to: "2026-12-26T09:00"\n        contact: SO4\n',
      6,
      'rotas.service_oncall.overrides[0].from',
      /local date-time/,
    ],
  ])('%s → bad_rota at file:line:field', (_name, text, line, field, message) => {
    const { rotas, errors } = readRotasYaml(text, shanghai, 'rotas.yaml');
    expect(rotas).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'bad_rota', file: 'rotas.yaml', line, field });
    expect(errors[0]!.message).toMatch(message);
  });

  it('reports YAML syntax errors with their line', () => {
    const { errors } = readRotasYaml('rotas:\n  service_oncall:\n    people: [SO1\n', shanghai, 'rotas.yaml');
    expect(errors[0]).toMatchObject({ code: 'yaml_syntax', file: 'rotas.yaml' });
  });

  it.each([
    ['2026-12-24T18:00', '2026-12-24T18:00:00+08:00'],
    ['2026-12-24 18:00', '2026-12-24T18:00:00+08:00'],
    ['2026-12-24', '2026-12-24T00:00:00+08:00'],
    ['2026-12-24T18:00:30', '2026-12-24T18:00:30+08:00'],
    ['2026-12-24T18:00Z', '2026-12-24T18:00:00Z'],
  ])('parseLocalDateTime(%j) in Asia/Shanghai', (s, iso) => {
    expect(parseLocalDateTime(s, shanghai)).toBe(Date.parse(iso));
  });
});

describe('onCall', () => {
  const r = rota();
  it.each([
    ['the first hand-over, exactly 09:00 Monday', '2026-11-02T09:00:00+08:00', 'SO1'],
    ['a minute before the first hand-over (the week before: wraps)', '2026-11-02T08:59:00+08:00', 'SO3'],
    ['Sunday night of week one', '2026-11-08T23:59:59+08:00', 'SO1'],
    ['a millisecond before the second hand-over', '2026-11-09T08:59:59.999+08:00', 'SO1'],
    ['the second hand-over, exactly 09:00 Monday', '2026-11-09T09:00:00+08:00', 'SO2'],
    ['week three', '2026-11-18T03:00:00+08:00', 'SO3'],
    ['week four wraps to the first person', '2026-11-23T09:00:00+08:00', 'SO1'],
    ['two weeks before start', '2026-10-20T12:00:00+08:00', 'SO2'],
    ['inside the override', '2026-12-24T18:00:00+08:00', 'SO4'],
    ['just before the override (week eight)', '2026-12-24T17:59:00+08:00', 'SO2'],
    ['the override ends (exclusive)', '2026-12-26T09:00:00+08:00', 'SO2'],
  ])('%s → %s', (_name, iso, who) => {
    expect(onCall(r, Date.parse(iso), shanghai)).toBe(who);
  });

  it('keeps the local hand-over time across a DST change', () => {
    const berlin = new Calendar('Europe/Berlin');
    const dst = rota('rotas:\n  service_oncall: {start: "2026-03-23", handover: "09:00", people: [A, B, C]}\n', berlin);
    // Summer time starts on 2026-03-29: the hand-over moves from 08:00Z to 07:00Z.
    expect(onCall(dst, Date.parse('2026-03-23T08:00:00Z'), berlin)).toBe('A');
    expect(onCall(dst, Date.parse('2026-03-30T06:59:00Z'), berlin)).toBe('A');
    expect(onCall(dst, Date.parse('2026-03-30T07:00:00Z'), berlin)).toBe('B');
    expect(onCall(dst, Date.parse('2026-04-06T07:00:00Z'), berlin)).toBe('C');
  });
});

describe('loadRotas', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-rotas-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('treats a missing rotas.yaml as no rotas', async () => {
    expect(await loadRotas(dir, shanghai)).toEqual({ rotas: [], errors: [] });
  });

  it('reads rotas.yaml from the config directory', async () => {
    await writeFile(join(dir, 'rotas.yaml'), ROTAS);
    const res = await loadRotas(dir, shanghai);
    expect(res.errors).toEqual([]);
    expect(res.file).toBe(join(dir, 'rotas.yaml'));
    expect(res.rotas.map((r) => r.people)).toEqual([['SO1', 'SO2', 'SO3']]);
  });
});
