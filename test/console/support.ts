// What the console tests share: the compiled console scripts, an org spread over two regions,
// and dealers in them whose card openings drop.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Entity } from '../../src/domain/entity.js';
import { ROOT } from '../support/cli.js';
import { ORG, type TestContact } from '../support/org.js';

/** Compile web/ (what `npm run build` does for the console), so a test serves the current scripts. */
export function buildConsole(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'web', 'tsconfig.json')], { stdio: 'inherit' });
}

/** ORG plus a channel manager for the west region's district. */
export const CONSOLE_ORG: readonly TestContact[] = [...ORG, { id: 'C003', name: '赵经理', role: 'channel_manager', phone: '13800000003', scope: 'X-other' }];

/** A core dealer named by place: east/hongqi (manager C001) or west/other (manager C003). */
export function placedDealer(id: string, name: string, where: 'east' | 'west'): Entity {
  return where === 'east'
    ? { id, kind: 'core_dealer', name, region: 'R-east', district: 'X-hongqi', manager: 'C001', attrs: { monthly_fee: 120, contract_end: '2027-06-30' } }
    : { id, kind: 'core_dealer', name, region: 'R-west', district: 'X-other', manager: 'C003', attrs: { monthly_fee: 120, contract_end: '2027-06-30' } };
}
