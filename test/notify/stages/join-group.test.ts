// Join group (intake): each intent joins its recipient's group once, and the group's flush is
// scheduled after the group wait under one job id per window, so a retried step adds nothing.
import { describe, expect, it } from 'vitest';
import { FakeGroups } from '../../../src/notify/stages/fake-stores.js';
import { joinGroupStage } from '../../../src/notify/stages/group.js';
import { alert, intentFor } from './harness.js';

function flushQueue() {
  const jobs: { name: string; data: unknown; opts: { jobId?: string; delay?: number } }[] = [];
  return {
    jobs,
    add: async (name: string, data: unknown, opts?: { jobId?: string; delay?: number }) => {
      jobs.push({ name, data, opts: opts ?? {} });
      return undefined as never;
    },
  };
}

describe('join group stage', () => {
  it('adds each intent once and schedules one flush per window after the group wait', async () => {
    const groups = new FakeGroups();
    const queue = flushQueue();
    const stage = joinGroupStage({ groups, flushQueue: queue, groupWaitMs: () => 30_000 });
    const a = alert('D0001');
    const b = alert('D0002');
    const intents = [intentFor(a), intentFor(b), intentFor(a)];
    const out = await stage.run({ now: 0 }, { intents });

    expect(out.intents).toBe(intents);
    const g = groups.open.get('sms:C001')!;
    expect(g.intents.map((i) => i.item.entity)).toEqual(['D0001', 'D0002']);
    const ids = new Set(queue.jobs.map((j) => j.opts.jobId));
    expect(ids).toEqual(new Set([`flush.sms.C001.${g.window}`]));
    expect(queue.jobs.every((j) => j.name === 'flush' && j.opts.delay === 30_000)).toBe(true);
    expect(queue.jobs[0]!.data).toEqual({ contact: 'C001', channel: 'sms', window: g.window });
  });

  it('keeps recipients and channels apart', async () => {
    const groups = new FakeGroups();
    const queue = flushQueue();
    const stage = joinGroupStage({ groups, flushQueue: queue, groupWaitMs: () => 0 });
    const a = alert('D0001');
    await stage.run({ now: 0 }, { intents: [intentFor(a), intentFor(a, { contact: 'C002' }), intentFor(a, { channel: 'email' })] });
    expect([...groups.open.keys()].sort()).toEqual(['email:C001', 'sms:C001', 'sms:C002']);
    expect(new Set(queue.jobs.map((j) => j.opts.jobId)).size).toBe(3);
  });
});
