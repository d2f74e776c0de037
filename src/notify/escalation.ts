// Escalation: an alert that fires starts its policy's chain of steps, each a delayed BullMQ job
// with a deterministic id. The policy is snapshotted when the chain starts; an ack or resolve
// ends the chain (pending jobs removed, and a step that runs late finds a stale token and does
// nothing); a severity upgrade restarts the chain at the new policy's first step.

import { randomInt } from 'node:crypto';
import type { AlertEvent, AlertRecord } from '../domain/alert.js';
import { Calendar } from '../domain/clock.js';
import type { EscalationPolicy, PolicySet } from '../route/types.js';
import { policyFor } from '../route/policy.js';
import { jobOptions } from '../queues/job-options.js';
import { jobIdPart, NotifyParts, type NotifyContext } from './context.js';
import type { Dispatcher } from './dispatcher.js';
import type { Intent } from './intent.js';
import { muteReason } from './stages/mute.js';
import type { NotificationItem } from '../domain/notification.js';

/** The alert the ingest-stall guard raises (one per stalled metric, to ops). */
export const FEED_STALLED_RULE = 'feed_stalled';

export interface StepJob {
  readonly fp: string;
  readonly token: string;
  readonly step: number;
}

/** A policy with its repeats unrolled into plain steps (what a chain runs). */
export interface ChainSnapshot {
  readonly policy: string;
  readonly steps: readonly { readonly afterMs: number; readonly notify: readonly string[]; readonly level: number }[];
  readonly resolveNotice: boolean;
}

export function snapshot(p: EscalationPolicy): ChainSnapshot {
  const steps = p.steps.map((s, i) => ({ afterMs: s.afterMs, notify: s.notify, level: i + 1 }));
  const last = steps[steps.length - 1];
  if (p.repeat && last) {
    for (let k = 1; k <= p.repeat.times; k++) steps.push({ ...last, afterMs: last.afterMs + k * p.repeat.everyMs });
  }
  return { policy: p.id, steps, resolveNotice: p.resolveNotice };
}

function feedStallPolicy(set: PolicySet): EscalationPolicy {
  return { id: 'feed_stall', match: {}, steps: [{ afterMs: 0, notify: set.settings.feedStall.notify }], resolveNotice: true };
}

export class Escalator extends NotifyParts(
  'escalationState', 'clock', 'calendar', 'alerts', 'queues', 'entity', 'policies', 'recipients', 'enabled', 'muter', 'complaintLead', 'observer',
) {
  constructor(
    context: NotifyContext,
    private readonly dispatcher: Dispatcher,
  ) {
    super(context);
  }

  /** Consume one alert transition. */
  async handle(e: AlertEvent): Promise<string> {
    const a = e.alert;
    switch (e.change) {
      case 'fire':
      case 'upgrade':
        return a.notify ? this.start(e) : 'weak evidence: recorded, not paged';
      case 'ack':
        return this.stop(a, 'acknowledged');
      case 'resolve': {
        const state = await this.stop(a, 'resolved');
        return `${state}; ${await this.resolveNotice(a)}`;
      }
      default:
        return 'nothing to do';
    }
  }

  private stale(a: AlertRecord): boolean {
    const day = Calendar.parseIsoDay(a.period.slice(0, 10));
    if (day === undefined) return false;
    const today = this.calendar.dayOf(this.clock.now());
    return day < today - this.policies().settings.staleDays;
  }

  private async start(e: AlertEvent): Promise<string> {
    const a = e.alert;
    const chains = this.escalationState;
    if (!this.enabled()) return 'no contacts.csv: recorded, nobody notified';
    if (this.stale(a)) {
      this.observer.notification('none', 'stale');
      return `period ${a.period} is a backfill: recorded, not paged`;
    }
    const set = this.policies();
    const entity = this.entity(a.entity);
    const policy = a.rule === FEED_STALLED_RULE ? feedStallPolicy(set) : policyFor(set, a, entity);
    if (!policy) return 'no escalation policy matches: recorded, nobody notified';

    const token = `${a.episode}.${a.seq}`;
    const prior = await chains.state(a.fingerprint);
    if (prior.token === token) {
      // A retried event: the chain was started; make sure its jobs exist (same ids, no duplicates).
      await this.schedule(a.fingerprint, token, JSON.parse(prior.chain!) as ChainSnapshot);
      return 'chain already started';
    }

    if (e.change === 'fire') {
      const { windowMs, maxFires } = set.settings.flapping;
      const fires = await chains.countFire(a.fingerprint, this.clock.now(), windowMs, token);
      if (fires > maxFires) {
        this.observer.notification('none', 'damped');
        await chains.set(a.fingerprint, { token: '', episode: String(a.episode), state: 'damped' });
        return `flapping (${fires} fires in ${windowMs / 60_000} min): recorded, not re-paged`;
      }
    }

    if (prior.token) await this.removeSteps(a.fingerprint, prior.token, JSON.parse(prior.chain!) as ChainSnapshot);
    const sameEpisode = prior.episode === String(a.episode);
    const ackCode = sameEpisode && prior.ackCode ? prior.ackCode : await this.allocateAckCode(a.fingerprint);
    const chain = snapshot(policy);
    // A new episode starts with nobody told; an upgrade keeps who was told (they hear the upgrade).
    await chains.start(
      a.fingerprint,
      {
        token,
        episode: String(a.episode),
        severity: a.severity,
        chain: JSON.stringify(chain),
        startedAt: String(this.clock.now()),
        ackCode,
        level: '0',
        state: 'climbing',
      },
      !sameEpisode,
    );
    await this.schedule(a.fingerprint, token, chain);
    return `policy ${policy.id}: ${chain.steps.length} step(s), ack code ${ackCode}`;
  }

  /** The chain an alert runs (its snapshot), or the one its policy would give it now. */
  async chainOf(a: AlertRecord): Promise<{ chain: ChainSnapshot; token?: string; startedAt?: number } | undefined> {
    const state = await this.escalationState.state(a.fingerprint);
    if (state.chain && state.episode === String(a.episode)) {
      try {
        return { chain: JSON.parse(state.chain) as ChainSnapshot, token: state.token || undefined, startedAt: Number(state.startedAt) || undefined };
      } catch {
        // An unreadable snapshot: fall back to what the policy says.
      }
    }
    const set = this.policies();
    const policy = a.rule === FEED_STALLED_RULE ? feedStallPolicy(set) : policyFor(set, a, this.entity(a.entity));
    return policy ? { chain: snapshot(policy) } : undefined;
  }

  /** Who a step of a chain names for this alert now (contacts, and roles nobody fills). */
  async recipientsOf(a: AlertRecord, chain: ChainSnapshot, step: number) {
    const s = chain.steps[step];
    if (!s) return { contacts: [], missing: [] };
    const entity = this.entity(a.entity);
    const hints = s.notify.includes('complaint_lead') ? { complaintLead: (await this.complaintLead?.(a, entity))?.department ?? null } : {};
    return this.recipients().resolve(s.notify, a, entity, this.clock.now(), this.calendar, hints);
  }

  /** Put one step of the running chain back on the queue (same job id: never twice). */
  async enqueueStep(fp: string, token: string, step: number, delayMs = 0): Promise<void> {
    await this.queues.escalations.add('step', { fp, token, step } satisfies StepJob, jobOptions(this.stepJobId(fp, token, step), this.policies().settings.retry, { delayMs }));
  }

  stepJobId(fp: string, token: string, step: number): string {
    return jobIdPart(`step.${fp}.${token}.${step}`);
  }

  private async schedule(fp: string, token: string, chain: ChainSnapshot): Promise<void> {
    const { retry } = this.policies().settings;
    await this.queues.escalations.addBulk(
      chain.steps.map((s, i) => ({
        name: 'step',
        data: { fp, token, step: i } satisfies StepJob,
        opts: jobOptions(this.stepJobId(fp, token, i), retry, { delayMs: s.afterMs }),
      })),
    );
  }

  private async removeSteps(fp: string, token: string, chain: ChainSnapshot): Promise<void> {
    // A step that is running right now cannot be removed; its stale-token check stops it instead.
    await Promise.all(chain.steps.map((_, i) => this.queues.escalations.remove(this.stepJobId(fp, token, i)).catch(() => 0)));
  }

  private async stop(a: AlertRecord, why: 'acknowledged' | 'resolved'): Promise<string> {
    const chains = this.escalationState;
    const state = await chains.state(a.fingerprint);
    if (state.episode !== String(a.episode)) return 'no chain';
    // Process indicators (过程性指标): how long people took, and how far the chain had climbed.
    const since = a.firingAt ?? a.startsAt;
    const level = Number(state.level ?? 0);
    if (why === 'acknowledged' && a.ack) this.observer.acknowledged(a.severity, level, (a.ack.at - since) / 1000);
    if (why === 'resolved' && a.resolvedAt) this.observer.resolved(a.severity, level, (a.resolvedAt - since) / 1000);
    await chains.set(a.fingerprint, { token: '', state: why });
    if (state.token) await this.removeSteps(a.fingerprint, state.token, JSON.parse(state.chain!) as ChainSnapshot);
    if (why === 'resolved' && state.ackCode) await chains.dropAckCode(state.ackCode);
    return `chain ${why} at level ${state.level ?? 0}`;
  }

  private async resolveNotice(a: AlertRecord): Promise<string> {
    const chains = this.escalationState;
    const state = await chains.state(a.fingerprint);
    if (state.episode !== String(a.episode) || !state.chain) return 'no resolve notice (never notified)';
    const chain = JSON.parse(state.chain) as ChainSnapshot;
    if (!chain.resolveNotice) return 'policy sends no resolve notice';
    const told = Object.keys(await chains.told(a.fingerprint));
    const item: NotificationItem = { alert: a.id, episode: a.episode, step: -1, severity: a.severity, rule: a.rule, entity: a.entity };
    const intents: Intent[] = [];
    for (const id of told) {
      const contact = this.recipients().contact(id);
      const channel = contact?.channels[0];
      if (!channel) continue;
      intents.push({ key: `${a.fingerprint}.${a.episode}.resolve.${id}.${channel}`, kind: 'resolve', contact: id, channel, item, at: this.clock.now() });
    }
    await this.dispatcher.add(intents);
    return `resolve notice to ${intents.length} contact(s)`;
  }

  /** Run one escalation step (a delayed job). */
  async runStep(job: StepJob): Promise<string> {
    const chains = this.escalationState;
    const state = await chains.state(job.fp);
    if (state.token !== job.token) return 'stale token: the chain was acknowledged, resolved or restarted';
    const a = await this.alerts.get(job.fp);
    if (!a || a.state !== 'firing' || String(a.episode) !== state.episode) return `alert is ${a?.state ?? 'gone'}: step skipped`;
    const chain = JSON.parse(state.chain!) as ChainSnapshot;
    const step = chain.steps[job.step];
    if (!step) return 'no such step';
    const now = this.clock.now();
    const entity = this.entity(a.entity);
    // complaint_lead: the department of the day's leading complaint category (complaint routing).
    const hints = step.notify.includes('complaint_lead') ? { complaintLead: (await this.complaintLead?.(a, entity))?.department ?? null } : {};
    const { contacts, missing } = this.recipients().resolve(step.notify, a, entity, now, this.calendar, hints);
    const item: NotificationItem = { alert: a.id, episode: a.episode, step: job.step, severity: a.severity, rule: a.rule, entity: a.entity };
    for (const m of missing) await this.dispatcher.recordMissing(item, m.ref, m.reason);
    const mute = await this.muter.mutes(a, entity, now);
    const intents: Intent[] = [];
    for (const contact of contacts) {
      for (const channel of contact.channels) {
        intents.push({ key: `${a.fingerprint}.${a.episode}.${job.step}.${contact.id}.${channel}`, kind: 'alert', contact: contact.id, channel, item, at: now });
      }
    }
    if (mute) {
      await this.dispatcher.recordMuted(intents, muteReason(mute));
    } else {
      await this.dispatcher.add(intents);
    }
    // done.<n>: the reconciler knows this step ran even after its job is gone.
    await chains.stepDone(job.fp, step.level, job.step, now);
    this.observer.escalation(step.level, a.severity);
    const who = contacts.map((c) => c.id).join(', ') || 'nobody';
    return mute ? `step ${step.level}: muted (${mute.by}) for ${who}` : `step ${step.level}: ${who}`;
  }

  private async allocateAckCode(fp: string): Promise<string> {
    // Four digits fit one SMS comfortably; six when four are crowded.
    for (let i = 0; i < 40; i++) {
      const code = String(i < 20 ? randomInt(1000, 10_000) : randomInt(100_000, 1_000_000));
      if (await this.escalationState.claimAckCode(code, fp)) return code;
    }
    throw new Error('could not allocate an ack code');
  }
}
