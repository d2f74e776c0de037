// Mute (intake) and recipient (message): muted intents are recorded and go no further; a
// contact that left contacts.csv makes a visible failed notification per alert.
import { describe, expect, it } from 'vitest';
import { FakeNotificationRecords } from '../../../src/notify/fake-records.js';
import { muteReason, muteStage } from '../../../src/notify/stages/mute.js';
import { sequence, type Intake, type IntakeContext, type Stage } from '../../../src/notify/stages/stage.js';
import { alert, at, CountingObserver, harness, intentFor } from './harness.js';

const NOW = at('2026-11-22T10:00:00');

describe('mute stage', () => {
  it('records each muted intent with its reason, and the intents join no group', async () => {
    const records = new FakeNotificationRecords();
    const obs = new CountingObserver();
    const joined: string[] = [];
    const join: Stage<IntakeContext, Intake> = {
      name: 'join group',
      run: async (_ctx, b) => {
        joined.push(...b.intents.map((i) => i.key));
        return b;
      },
    };
    const intake = sequence('intake', [muteStage({ records, observer: obs.observer }), join]);
    const a = alert('D0001');
    const intents = [intentFor(a), intentFor(a, { channel: 'email' })];

    const out = await intake.run({ now: NOW }, { intents, muted: muteReason({ by: 'silence', id: 's1' }) });
    expect(out.outcome).toBe('muted');
    expect(joined).toEqual([]);
    expect(records.all().map((r) => [r.channel, r.state, r.reason, r.createdAt])).toEqual([
      ['sms', 'muted', 'silence:s1', NOW],
      ['email', 'muted', 'silence:s1', NOW],
    ]);
    expect(obs.count('sms', 'muted') + obs.count('email', 'muted')).toBe(2);

    // A retried step records nothing twice.
    await intake.run({ now: NOW }, { intents, muted: 'silence:s1' });
    expect(records.all()).toHaveLength(2);
    expect(obs.count('sms', 'muted')).toBe(1);

    await intake.run({ now: NOW }, { intents });
    expect(joined).toEqual(intents.map((i) => i.key));
  });

  it('names the silence or the inhibiting alert', () => {
    expect(muteReason({ by: 'silence', id: 'abc' })).toBe('silence:abc');
    expect(muteReason({ by: 'inhibition', source: 'fp1' })).toBe('inhibited_by:fp1');
  });
});

describe('recipient stage', () => {
  it('a contact no longer in contacts.csv: a failed no_recipient record per alert, nothing sent', async () => {
    const a = alert('D0001');
    const b = alert('D0002');
    const h = await harness({ now: NOW, alerts: [a, b], contacts: [] });
    const { result } = await h.run([intentFor(a), intentFor(b)]);
    expect(result).toBe('contact C001 is gone');
    expect(h.records.all().map((r) => [r.state, r.contact, r.error?.code, r.items[0]?.entity])).toEqual([
      ['failed', 'contact:C001', 'no_recipient', 'D0001'],
      ['failed', 'contact:C001', 'no_recipient', 'D0002'],
    ]);
    expect(h.outbox.queued).toEqual([]);
    expect(h.obs.count('none', 'no_recipient')).toBe(2);
  });
});
