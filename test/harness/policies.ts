import { parsePolicy } from '../../src/runtime/policy-file';
import type { Policy } from '../../src/governance/policy';
import { testPrincipals } from './identity';

/** A policy for engine tests: writes to tickets run alone, isolation of critical hosts needs tier 2. */
export function testPolicy(extra: { rules?: unknown[]; timeouts?: [string, string] } = {}): Policy {
  const [t1, t2] = extra.timeouts ?? ['1h', '2h'];
  return parsePolicy({
    version: 1,
    name: 'engine-test',
    defaults: {
      read: { effect: 'allow' },
      write: { effect: 'require_approval', tier: 1 },
      destructive: { effect: 'require_approval', tier: 2 },
    },
    rules: [
      { id: 'tickets-run-alone', tool: 'ticket_create', effect: 'allow', reason: 'tickets are reversible' },
      { id: 'rate-limited-alone', tool: 'rate_limited_call', effect: 'allow' },
      { id: 'http-to-vendor', tool: 'http_request', effect: 'allow', reason: 'vendor API allowed in tests' },
      {
        id: 'isolate-critical',
        tool: 'host_isolate',
        when: "context.asset.criticality == 'critical'",
        effect: 'require_approval',
        tier: 2,
        reason: 'isolating a critical host needs two approvers',
      },
      {
        id: 'isolate-low',
        tool: 'host_isolate',
        when: "context.asset.criticality == 'low'",
        effect: 'require_approval',
        tier: 1,
        reason: 'isolation of a low-criticality host needs one approver',
      },
      ...(extra.rules ?? []),
    ],
    tiers: {
      '1': {
        required: 1,
        stages: [
          { groups: ['l1'], timeout: t1 },
          { groups: ['l2'], timeout: t2 },
        ],
      },
      '2': { required: 2, stages: [{ groups: ['l2'], timeout: t2 }] },
    },
    groups: { l1: ['alice', 'bob'], l2: ['carol', 'dave', 'erin'] },
    principals: testPrincipals(['alice', 'bob', 'carol', 'dave', 'erin', 'olivia']),
  });
}
