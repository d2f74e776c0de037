// Everything an operator edits while Lookout runs — rules, policies, contacts, rotas, templates —
// loaded as one set. A reload validates the whole new set before it swaps in; a broken file
// keeps the previous set running and says why (log lines and lookout_config_reloads_total).

import type { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { metricCatalogue, type MetricCatalogue } from '../domain/metric.js';
import type { RuleSet } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';
import { MessageRenderer } from '../notify/render.js';
import { OrgDirectory } from '../route/recipients.js';
import type { Directory, PolicySet } from '../route/types.js';
import type { AppConfig } from './env.js';
import { loadOrg } from './org-check.js';
import { loadRuleSet } from './rules-loader.js';

export interface LoadedConfig {
  readonly ruleSet: RuleSet;
  readonly catalogue: MetricCatalogue;
  readonly ruleNames: ReadonlyMap<string, string>;
  readonly policies: PolicySet;
  readonly directory: Directory;
  readonly recipients: OrgDirectory;
  readonly renderer: MessageRenderer;
}

export type LoadResult = { readonly ok: true; readonly loaded: LoadedConfig } | { readonly ok: false; readonly errors: readonly ConfigError[] };

/** Sets given in code (tests) instead of files. */
export interface FixedConfig {
  readonly ruleSet?: RuleSet;
  readonly policies?: PolicySet;
}

export async function loadConfigSet(config: AppConfig, calendar: Calendar, entities: readonly Entity[], fixed: FixedConfig = {}): Promise<LoadResult> {
  const errors: ConfigError[] = [];
  let ruleSet = fixed.ruleSet;
  if (!ruleSet) {
    const res = await loadRuleSet(config.rulesDir);
    if (res.ok) ruleSet = res.ruleSet;
    else errors.push(...res.errors);
  }
  const org = await loadOrg(config.configDir, config.rulesDir, calendar, entities);
  if (!org.ok) errors.push(...org.errors);
  let renderer: MessageRenderer | undefined;
  try {
    renderer = await MessageRenderer.load(config.templatesDir, config.locale);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    errors.push(err);
  }
  if (errors.length || !ruleSet || !org.ok || !renderer) return { ok: false, errors };
  return {
    ok: true,
    loaded: {
      ruleSet,
      catalogue: metricCatalogue(ruleSet.metrics),
      ruleNames: new Map(ruleSet.rules.map((r) => [r.id, r.name])),
      policies: fixed.policies ?? org.policies,
      directory: org.directory,
      recipients: new OrgDirectory(org.directory),
      renderer,
    },
  };
}

/** The loaded set, swapped whole on a successful reload. */
export class LiveConfig {
  constructor(
    private loaded: LoadedConfig,
    private readonly load: () => Promise<LoadResult>,
  ) {}

  get current(): LoadedConfig {
    return this.loaded;
  }

  /** Load and validate everything; swap only when all of it is good. */
  async reload(): Promise<LoadResult> {
    const res = await this.load();
    if (res.ok) this.loaded = res.loaded;
    return res;
  }
}

export function formatErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => `  ${e.format()}`).join('\n');
}
