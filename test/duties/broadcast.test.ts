// Broadcast requests, selectors and recipients, pure part (docs/duties.md).
import { describe, expect, it } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import { parseBroadcastRequest, planBroadcast, selectorMatches } from '../../src/duties/broadcast.js';
import { buildDirectory } from '../../src/route/recipients.js';
import type { Contact } from '../../src/route/types.js';

const contact = (id: string, phone?: string): Contact => ({ id, name: `经理${id}`, role: 'channel_manager', ...(phone && { phone }), channels: phone ? ['sms'] : [] });
const dir = buildDirectory([contact('C1', '13800000001'), contact('C2', '13800000002'), contact('C3')], [], 'h');
const e = (id: string, over: Partial<Entity> = {}): Entity => ({ id, kind: 'grassroots', name: id, region: 'R-east', district: 'X1', manager: 'C1', attrs: {}, ...over });

describe('parseBroadcastRequest', () => {
  it('accepts text, selector (string or list), by, id and dry_run', () => {
    const r = parseBroadcastRequest({ text: '  今晚 20:00 起系统升级  ', selector: { kind: 'grassroots', region: ['R-east', 'R-west'] }, by: 'OP1', id: 'upgrade-1', dry_run: true });
    expect(r).toEqual({ ok: true, value: { text: '今晚 20:00 起系统升级', selector: { kind: ['grassroots'], region: ['R-east', 'R-west'] }, by: 'OP1', id: 'upgrade-1', dryRun: true } });
    expect(parseBroadcastRequest({ text: 'x', by: 'OP1' })).toMatchObject({ ok: true, value: { selector: {}, dryRun: false } });
  });

  it.each([
    [[], 'expected a JSON object'],
    [{ selector: {}, by: 'OP1' }, 'text:'],
    [{ text: '   ', by: 'OP1' }, 'text:'],
    [{ text: '满'.repeat(501), by: 'OP1' }, 'at most 500'],
    [{ text: 'x' }, 'by:'],
    [{ text: 'x', by: 'OP1', selector: { colour: 'red' } }, 'selector.colour: unknown key'],
    [{ text: 'x', by: 'OP1', selector: { kind: 'shop' } }, 'selector.kind: "shop" is not one of'],
    [{ text: 'x', by: 'OP1', selector: { region: [] } }, 'selector.region'],
    [{ text: 'x', by: 'OP1', selector: 'R-east' }, 'selector: expected an object'],
    [{ text: 'x', by: 'OP1', id: 'a b' }, 'id:'],
    [{ text: 'x', by: 'OP1', dry_run: 'yes' }, 'dry_run:'],
    [{ text: 'x', by: 'OP1', to: 'all' }, 'to: unknown field'],
  ])('refuses %j', (body, message) => {
    const r = parseBroadcastRequest(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(message);
  });
});

describe('selectors', () => {
  it('without kind, only channels match (not campaigns or group customers)', () => {
    expect(selectorMatches({}, e('G1'))).toBe(true);
    expect(selectorMatches({}, e('H1', { kind: 'own_hall' }))).toBe(true);
    expect(selectorMatches({}, e('C1', { kind: 'campaign' }))).toBe(false);
    expect(selectorMatches({}, e('K1', { kind: 'group_customer' }))).toBe(false);
    expect(selectorMatches({ kind: ['group_customer'] }, e('K1', { kind: 'group_customer' }))).toBe(true);
  });

  it('every given key must match; a list means any of', () => {
    expect(selectorMatches({ region: ['R-east'], district: ['X1', 'X2'] }, e('G1'))).toBe(true);
    expect(selectorMatches({ region: ['R-west'] }, e('G1'))).toBe(false);
    expect(selectorMatches({ tier: ['A'] }, e('G1'))).toBe(false);
    expect(selectorMatches({ tier: ['A'] }, e('H1', { kind: 'own_hall', tier: 'A' }))).toBe(true);
    expect(selectorMatches({ district: ['X1'] }, e('G1', { district: undefined }))).toBe(false);
  });
});

describe('planBroadcast', () => {
  it('one recipient per manager, however many outlets; unreachable entities are listed with why', () => {
    const entities = [
      ...Array.from({ length: 30 }, (_, i) => e(`G${String(i).padStart(2, '0')}`)),
      e('D1', { kind: 'core_dealer', manager: 'C2' }),
      e('D2', { kind: 'core_dealer', manager: undefined }),
      e('D3', { kind: 'core_dealer', manager: 'C9' }),
      e('D4', { kind: 'core_dealer', manager: 'C3' }),
      e('W1', { region: 'R-west', manager: 'C2' }),
    ];
    const plan = planBroadcast(entities, dir, { region: ['R-east'] });
    expect(plan.entities).toBe(34);
    expect(plan.recipients).toEqual([
      { contact: 'C2', name: '经理C2', entities: 1 },
      { contact: 'C3', name: '经理C3', entities: 1, problem: { code: 'no_address', message: 'contact C3 has no phone' } },
      { contact: 'C1', name: '经理C1', entities: 30 },
    ]);
    expect(plan.unreachable).toEqual([
      { entity: 'D2', reason: 'no manager' },
      { entity: 'D3', reason: 'manager C9 is not in contacts.csv' },
    ]);
  });
});
