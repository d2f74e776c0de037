import type { RuleSet } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';
import { loadRuleSet } from './rules-loader.js';

/** Load the rules directory or stop with every error, one per line (start-up, import). */
export async function loadRulesOrThrow(dir: string): Promise<RuleSet> {
  const res = await loadRuleSet(dir);
  if (!res.ok) {
    const lines = res.errors.map((e) => `  ${e.format()}`).join('\n');
    throw new ConfigError(res.errors[0]?.code ?? 'bad_field', `rules in ${dir} are invalid (${res.errors.length} error(s)):\n${lines}`);
  }
  return res.ruleSet;
}
