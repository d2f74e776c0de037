import { describe, expect, it } from 'vitest';
import { matcherMatches, parseDuration, parseInstant, parseNewSilence, silenceMatches, silenceState } from '../../src/route/silences.js';
import type { Silence, SilenceMatcher } from '../../src/route/types.js';
import { alert, entity, HOUR, NOW } from './fixtures.js';

const DAY = 24 * HOUR;
const dealerAlert = alert({ rule: 'core_dealer_drop', entity: 'D0001', severity: 'critical', labels: { team: 'east', 'app.zone': 'z1' } });
const dealer = entity('D0001', { attrs: { monthly_fee: 120, vip: true } });

function silence(matchers: SilenceMatcher[], over: Partial<Silence> = {}): Silence {
  return { id: 's1', matchers, startsAt: NOW - HOUR, endsAt: NOW + HOUR, createdBy: 'ops', comment: 'maintenance', createdAt: NOW - HOUR, updatedAt: NOW - HOUR, ...over };
}

describe('matcherMatches', () => {
  it.each<[string, SilenceMatcher['op'], string, boolean]>([
    ['rule', '=', 'core_dealer_drop', true],
    ['rule', '=', 'core_dealer', false],
    ['rule', '!=', 'core_dealer_drop', false],
    ['rule', '!=', 'other', true],
    ['entity', '=~', 'D\\d+', true],
    // Anchored: a substring match is not enough.
    ['entity', '=~', 'D0', false],
    ['entity', '=~', '000', false],
    ['entity', '!~', 'D\\d+', false],
    ['entity', '!~', 'K.*', true],
    ['severity', '=', 'critical', true],
    ['severity', '=~', 'warning|critical', true],
    ['state', '=', 'firing', true],
    ['kind', '=', 'core_dealer', true],
    ['kind', '=~', 'core_dealer|grassroots', true],
    ['name', '=~', '核心渠道.*', true],
    ['region', '=', 'R1', true],
    ['region', '=', 'R2', false],
    ['district', '!=', 'X2', true],
    ['manager', '=', 'C001', true],
    ['tier', '=', 'A', true],
    ['attrs.monthly_fee', '=', '120', true],
    ['attrs.vip', '=', 'true', true],
    ['labels.team', '=', 'east', true],
    ['team', '=', 'east', true],
    ['labels.app.zone', '=', 'z1', true],
    ['monthly_fee', '=~', '1\\d\\d', true],
    // A field the alert lacks is "": `=""` and `!=x` match it, `=x` does not.
    ['labels.missing', '=', '', true],
    ['labels.missing', '!=', 'x', true],
    ['labels.missing', '=', 'x', false],
    ['labels.missing', '=~', '.*', true],
    ['labels.missing', '=~', '.+', false],
  ])('%s %s %j → %s', (name, op, value, expected) => {
    expect(matcherMatches({ name, op, value }, dealerAlert, dealer)).toBe(expected);
  });

  it('entity fields are "" without an entity', () => {
    expect(matcherMatches({ name: 'region', op: '=', value: '' }, dealerAlert, undefined)).toBe(true);
    expect(matcherMatches({ name: 'region', op: '=', value: 'R1' }, dealerAlert, undefined)).toBe(false);
  });
});

describe('silenceState and silenceMatches', () => {
  const s = silence([{ name: 'entity', op: '=', value: 'D0001' }], { startsAt: NOW, endsAt: NOW + HOUR });

  it.each([
    [NOW - 1, 'pending', false],
    [NOW, 'active', true],
    [NOW + HOUR - 1, 'active', true],
    [NOW + HOUR, 'expired', false],
  ] as const)('at %d: %s, matches %s', (now, state, matches) => {
    expect(silenceState(s, now)).toBe(state);
    expect(silenceMatches(s, dealerAlert, dealer, now)).toBe(matches);
  });

  it('needs every matcher', () => {
    const both = silence([
      { name: 'entity', op: '=', value: 'D0001' },
      { name: 'severity', op: '=', value: 'warning' },
    ]);
    expect(silenceMatches(both, dealerAlert, dealer, NOW)).toBe(false);
    expect(silenceMatches(both, { ...dealerAlert, severity: 'warning' }, dealer, NOW)).toBe(true);
  });
});

describe('parseDuration and parseInstant', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['2h', 2 * HOUR],
    ['1d', DAY],
    ['1w', 7 * DAY],
    ['1h30m', 90 * 60_000],
    ['45s', 45_000],
    ['', NaN],
    ['2', NaN],
    ['h', NaN],
    ['2 h', NaN],
    ['1.5h', NaN],
    ['-1h', NaN],
  ])('duration %j → %d', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each<[string | number, number]>([
    ['2026-11-21T10:00:00+08:00', NOW],
    ['2026-11-21T10:00+08:00', NOW],
    ['2026-11-21 10:00:00+0800', NOW],
    ['2026-11-21T10:00:00+08', NOW],
    ['2026-11-21T02:00:00Z', NOW],
    ['2026-11-21t02:00:00z', NOW],
    ['2026-11-21T02:00:00.5Z', NOW + 500],
    [NOW, NOW],
    [String(NOW), NOW],
    ['2026-11-21T10:00:00', NaN],
    ['2026-11-21', NaN],
    ['2026-02-31T00:00:00Z', NaN],
    ['2026-13-01T00:00:00Z', NaN],
    ['tomorrow', NaN],
    [1.5, NaN],
    [-1, NaN],
  ])('instant %j → %d', (v, ms) => {
    expect(parseInstant(v)).toBe(ms);
  });
});

describe('parseNewSilence', () => {
  const valid = { matchers: [{ name: 'entity', value: 'D0001' }], duration: '2h', createdBy: '王工', comment: '系统割接' };

  it('fills op "=", startsAt now, endsAt from duration', () => {
    expect(parseNewSilence(valid, NOW)).toEqual({
      ok: true,
      silence: { matchers: [{ name: 'entity', value: 'D0001', op: '=' }], startsAt: NOW, endsAt: NOW + 2 * HOUR, createdBy: '王工', comment: '系统割接' },
    });
  });

  it.each<[string, Record<string, unknown>, Partial<{ startsAt: number; endsAt: number }>]>([
    ['endsAt ISO', { duration: undefined, endsAt: '2026-11-21T22:00:00+08:00' }, { startsAt: NOW, endsAt: NOW + 12 * HOUR }],
    ['endsAt epoch ms', { duration: undefined, endsAt: NOW + HOUR }, { endsAt: NOW + HOUR }],
    ['future startsAt + duration', { startsAt: NOW + DAY, duration: '1d' }, { startsAt: NOW + DAY, endsAt: NOW + 2 * DAY }],
    ['past startsAt becomes now', { startsAt: NOW - DAY, duration: undefined, endsAt: NOW + HOUR }, { startsAt: NOW, endsAt: NOW + HOUR }],
    ['exactly 90 days', { duration: '90d' }, { endsAt: NOW + 90 * DAY }],
    ['trimmed texts', { createdBy: '  ops ', comment: ' x ' }, {}],
  ])('accepts %s', (_name, over, expected) => {
    const r = parseNewSilence({ ...valid, ...over }, NOW);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.silence).toMatchObject(expected);
  });

  it.each<[string, unknown, string]>([
    ['not an object', [valid], 'expected a JSON object'],
    ['null', null, 'expected a JSON object'],
    ['no matchers', { ...valid, matchers: [] }, 'matchers: at least one matcher'],
    ['21 matchers', { ...valid, matchers: Array.from({ length: 21 }, (_, i) => ({ name: 'entity', value: `D${i}` })) }, 'at most 20'],
    ['unknown op', { ...valid, matchers: [{ name: 'entity', value: 'x', op: '==' }] }, 'matchers.0.op'],
    ['invalid regex', { ...valid, matchers: [{ name: 'entity', value: 'D(', op: '=~' }] }, 'matchers.0.value: invalid regex'],
    ['blank name', { ...valid, matchers: [{ name: '', value: 'x' }] }, 'matchers.0.name'],
    ['name with a space', { ...valid, matchers: [{ name: 'a b', value: 'x' }] }, 'matchers.0.name'],
    ['labels. without a key', { ...valid, matchers: [{ name: 'labels.', value: 'x' }] }, 'matchers.0.name'],
    ['value not a string', { ...valid, matchers: [{ name: 'entity', value: 1 }] }, 'matchers.0.value'],
    ['unknown matcher key', { ...valid, matchers: [{ name: 'entity', value: 'x', isRegex: true }] }, 'matchers.0'],
    ['matches everything (=~ .*)', { ...valid, matchers: [{ name: 'entity', value: '.*', op: '=~' }] }, 'at least one must not'],
    ['matches everything (= "")', { ...valid, matchers: [{ name: 'labels.team', value: '' }] }, 'at least one must not'],
    ['matches everything (!= x, !~ .+)', { ...valid, matchers: [{ name: 'rule', value: 'x', op: '!=' }, { name: 'region', value: '.+', op: '!~' }] }, 'at least one must not'],
    ['neither endsAt nor duration', { ...valid, duration: undefined }, 'endsAt or duration is required'],
    ['both endsAt and duration', { ...valid, endsAt: NOW + HOUR }, 'not both'],
    ['bad duration', { ...valid, duration: '2 hours' }, 'duration: expected a duration'],
    ['zero duration', { ...valid, duration: '0m' }, 'duration: expected a duration'],
    ['bad endsAt', { ...valid, duration: undefined, endsAt: 'tonight' }, 'endsAt: expected ISO-8601'],
    ['endsAt without offset', { ...valid, duration: undefined, endsAt: '2026-11-21T22:00:00' }, 'endsAt: expected ISO-8601'],
    ['endsAt in the past', { ...valid, duration: undefined, endsAt: NOW - 1 }, 'endsAt: must be in the future'],
    ['endsAt now', { ...valid, duration: undefined, endsAt: NOW }, 'endsAt: must be in the future'],
    ['epoch seconds', { ...valid, duration: undefined, endsAt: Math.floor(NOW / 1000) + 3600 }, 'epoch seconds?'],
    ['endsAt before startsAt', { ...valid, duration: undefined, startsAt: NOW + 2 * HOUR, endsAt: NOW + HOUR }, 'endsAt: must be after startsAt'],
    ['longer than 90 days', { ...valid, duration: '91d' }, 'at most 90 days'],
    ['no createdBy', { ...valid, createdBy: undefined }, 'createdBy'],
    ['blank createdBy', { ...valid, createdBy: '   ' }, 'createdBy: must not be blank'],
    ['long createdBy', { ...valid, createdBy: 'x'.repeat(201) }, 'createdBy: must be at most 200'],
    ['no comment', { ...valid, comment: undefined }, 'comment'],
    ['long comment', { ...valid, comment: 'x'.repeat(1001) }, 'comment: must be at most 1000'],
    ['unknown key', { ...valid, ends_at: NOW + HOUR }, 'ends_at'],
  ])('rejects %s', (_name, body, message) => {
    const r = parseNewSilence(body, NOW);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});

describe('regex matchers run on a linear-time engine', () => {
  it('a catastrophic pattern against a long near-match answers fast', () => {
    const victim = alert({ rule: 'core_dealer_drop', entity: `${'a'.repeat(50_000)}!`, severity: 'critical', labels: {} });
    const started = performance.now();
    expect(matcherMatches({ name: 'entity', op: '=~', value: '(a+)+$' }, victim, undefined)).toBe(false);
    expect(matcherMatches({ name: 'entity', op: '!~', value: '(a|aa)+' }, victim, undefined)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['a backreference', '(a)\\1', 'backreferences and lookaround are not supported'],
    ['a lookahead', '(?=D)D\\d+', 'backreferences and lookaround are not supported'],
    ['a broken class', '[', 'missing closing ]'],
  ])('refuses %s at creation, naming the pattern', (_what, value, reason) => {
    const parsed = parseNewSilence({ matchers: [{ name: 'entity', op: '=~', value }], duration: '1h', createdBy: 'ops', comment: 'x' }, NOW);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toContain('matchers.0.value: invalid regex');
    expect(parsed.message).toContain(JSON.stringify(value));
    expect(parsed.message).toContain(reason);
  });

  it('keeps Unicode classes and full-value anchoring', () => {
    expect(matcherMatches({ name: 'name', op: '=~', value: '\\p{Han}+.*' }, dealerAlert, dealer)).toBe(true);
    expect(matcherMatches({ name: 'entity', op: '=~', value: 'D00' }, dealerAlert, dealer)).toBe(false);
  });
});
