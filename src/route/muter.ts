// The two Muters the mute stage asks (silences, then inhibition), and how to chain them.

import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import type { SilenceStore } from '../state/ports.js';
import { inhibitingAlert, type InhibitCandidate } from './inhibit.js';
import { silenceMatches } from './silences.js';
import type { InhibitRule, MuteReason, Muter, Silence } from './types.js';

/**
 * A value fetched at most once per `ttlMs` of (injected) time; concurrent callers share one fetch,
 * and a failed fetch is not kept.
 */
class TimedCache<T> {
  private at = Number.NEGATIVE_INFINITY;
  private value: Promise<T> | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly fetch: (now: number) => Promise<T>,
  ) {}

  get(now: number): Promise<T> {
    // `now < at`: a clock that went back must not serve a snapshot from its future.
    if (!this.value || now - this.at >= this.ttlMs || now < this.at) {
      const p = this.fetch(now);
      this.value = p;
      this.at = now;
      p.catch(() => {
        if (this.value === p) this.value = undefined;
      });
    }
    return this.value;
  }
}

/** Mutes alerts an active silence matches; the store is read at most once per `cacheMs`. */
export class SilenceMuter implements Muter {
  private readonly cache: TimedCache<readonly Silence[]>;

  constructor(store: SilenceStore, { cacheMs = 1000 }: { cacheMs?: number } = {}) {
    this.cache = new TimedCache(cacheMs, (now) => store.active(now));
  }

  async mutes(alert: AlertRecord, entity: Entity | undefined, now: number): Promise<MuteReason | undefined> {
    const silences = await this.cache.get(now);
    // Re-checked at `now`: a cached silence may have ended since it was read.
    const hit = silences.find((s) => silenceMatches(s, alert, entity, now));
    return hit ? { by: 'silence', id: hit.id } : undefined;
  }
}

export interface InhibitionMuterOptions {
  /** The current policy's `inhibit:` rules (read per call, so a reload takes effect at once). */
  readonly rules: () => readonly InhibitRule[];
  readonly openAlerts: () => Promise<readonly AlertRecord[]>;
  readonly entity: (id: string) => Entity | undefined;
  readonly cacheMs?: number;
}

/** Mutes an alert that another open, paging alert inhibits under the policy's rules. */
export class InhibitionMuter implements Muter {
  private readonly cache: TimedCache<readonly InhibitCandidate[]>;

  constructor(private readonly opts: InhibitionMuterOptions) {
    this.cache = new TimedCache(opts.cacheMs ?? 1000, async () => (await opts.openAlerts()).map((alert) => ({ alert, entity: opts.entity(alert.entity) })));
  }

  async mutes(alert: AlertRecord, entity: Entity | undefined, now: number): Promise<MuteReason | undefined> {
    const rules = this.opts.rules();
    if (!rules.length) return undefined;
    const source = inhibitingAlert({ alert, entity }, await this.cache.get(now), rules);
    return source ? { by: 'inhibition', source: source.id } : undefined;
  }
}

/** Asks each muter in turn; the first reason wins (silences before inhibition, by convention). */
export function combineMuters(...muters: Muter[]): Muter {
  return {
    async mutes(alert, entity, now) {
      for (const m of muters) {
        const reason = await m.mutes(alert, entity, now);
        if (reason) return reason;
      }
      return undefined;
    },
  };
}
