// The escalation chain on a real 3-master Redis Cluster, with a real SMSC (smpp server mode): the
// same cases as on one Redis (test/integration/escalation-cases.ts) — a critical drop climbs to the
// region head, each person told once; a 确认 <code> reply from the manager's phone acknowledges the
// alert and the later steps never go.
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { escalationCases } from '../integration/escalation-cases.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, ORG, orgDir, policies } from '../support/org.js';
import { clusterPerFile } from '../support/cluster-per-file.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';

const cluster = clusterPerFile();

describe('escalation with an SMS reply ack, on a Redis Cluster', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;
  beforeEach(async () => {
    smsc = await startSmppPeer();
    lk = await startTestLookout({
      env: { REDIS_URL: cluster().nodes[0]!.url, LOOKOUT_CONFIG_DIR: orgDir(ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=500` },
      policies: policies(FAST_POLICIES),
      // cleanup's key drop talks to the standalone test Redis; each case has its own prefix.
      keepKeys: true,
    });
    expect(lk.keys.cluster).toBe(true);
  });
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
  });

  escalationCases(() => ({ lk, smsc }));
});
