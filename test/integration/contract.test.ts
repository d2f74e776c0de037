// SPEC §4 from outside on a standalone Redis, under both series layouts (the cases: contract-cases.ts).
import { afterEach, beforeEach, describe } from 'vitest';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';
import { CONTRACT_NOW, contractCases } from './contract-cases.js';

describe.each(SERIES_LAYOUTS)('contract: a dealer at 100 for four weeks and 40 for a day (%s series layout)', (layout) => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout({ now: CONTRACT_NOW, env: { LOOKOUT_SERIES_LAYOUT: layout } });
  });
  afterEach(async () => lk.cleanup());
  contractCases(() => lk);
});
