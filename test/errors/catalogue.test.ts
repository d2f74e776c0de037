// Every coded error is unique across the catalogue and documented for operators.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_ERROR_GROUPS } from '../../src/errors/catalogue.js';
import { ROOT } from '../support/cli.js';

const entries = Object.entries(ALL_ERROR_GROUPS).flatMap(([group, defs]) => Object.values(defs).map((d) => ({ group, ...d })));

describe('error catalogue', () => {
  it('has codes', () => {
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) expect([e.group, e.code, e.message.trim().length > 0]).toEqual([e.group, e.code, true]);
  });

  it('every code is unique across groups', () => {
    const groupsOf = new Map<string, string[]>();
    for (const e of entries) groupsOf.set(e.code, [...(groupsOf.get(e.code) ?? []), e.group]);
    const dupes = [...groupsOf].filter(([, groups]) => groups.length > 1).map(([code, groups]) => `${code} (${groups.join(', ')})`);
    expect(dupes, `codes defined more than once: ${dupes.join('; ')}`).toEqual([]);
  });

  it('every code is documented in README.md or docs/*.md', () => {
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))]
      .filter((f) => existsSync(join(ROOT, f)))
      .map((f) => readFileSync(join(ROOT, f), 'utf8'))
      .join('\n');
    const missing = entries.filter((e) => !new RegExp(`(?<![A-Za-z0-9_])${e.code}(?![A-Za-z0-9_])`).test(docs)).map((e) => `${e.code} (${e.group})`);
    expect(missing, `undocumented error codes: ${missing.join(', ')}`).toEqual([]);
  });
});
