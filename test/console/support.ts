// What the console tests share: the compiled console scripts, an org spread over two regions,
// and dealers in them whose card openings drop.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Entity } from '../../src/domain/entity.js';
import { ROOT } from '../support/cli.js';
import { ORG, type TestContact } from '../support/org.js';

const WEB_SRC = join(ROOT, 'web', 'console', 'src');
const WEB_OUT = join(ROOT, 'dist', 'web', 'console', 'main.js');
const LOCK = join(ROOT, 'dist', '.web-build-lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Compile web/ (what `npm run build` does for the console) unless dist/web is current; one test file builds at a time. */
export async function buildConsole(): Promise<void> {
  const current = () => existsSync(WEB_OUT) && statSync(WEB_OUT).mtimeMs >= newestSource(WEB_SRC);
  const deadline = performance.now() + 120_000;
  while (!current()) {
    try {
      mkdirSync(LOCK, { recursive: false });
    } catch {
      if (performance.now() > deadline) throw new Error(`the console is still being built after 2 minutes (lock ${LOCK})`);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'web', 'tsconfig.json')], { stdio: 'inherit' });
      return;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

/** ORG plus a channel manager for the west region's district. */
export const CONSOLE_ORG: readonly TestContact[] = [...ORG, { id: 'C003', name: '赵经理', role: 'channel_manager', phone: '13800000003', scope: 'X-other' }];

/** A core dealer named by place: east/hongqi (manager C001) or west/other (manager C003). */
export function placedDealer(id: string, name: string, where: 'east' | 'west'): Entity {
  return where === 'east'
    ? { id, kind: 'core_dealer', name, region: 'R-east', district: 'X-hongqi', manager: 'C001', attrs: { monthly_fee: 120, contract_end: '2027-06-30' } }
    : { id, kind: 'core_dealer', name, region: 'R-west', district: 'X-other', manager: 'C003', attrs: { monthly_fee: 120, contract_end: '2027-06-30' } };
}
