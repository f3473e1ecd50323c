import { approvalPlan, evaluatePolicy } from '../../src/governance/policy';
import type { PolicyRequest } from '../../src/governance/policy';
import { ConfigError } from '../../src/errors';
import { loadPolicyFile, parsePolicy } from '../../src/runtime/policy-file';
import { testPolicy } from '../harness/policies';
import { installedUseCases } from '../../src/usecases/registry';
import path from 'node:path';

function req(
  over: Omit<Partial<PolicyRequest>, 'tool'> & { tool?: Partial<PolicyRequest['tool']> } = {},
): PolicyRequest {
  return {
    step: { id: 's1', kind: 'action' },
    args: {},
    context: {},
    run: { workflowId: 'wf', initiator: 'olivia', tainted: false },
    ...over,
    tool: { name: 'ticket_create', known: true, risk: 'write', capabilities: [], ...over.tool },
  };
}

describe('policy', () => {
  const policy = testPolicy();

  it('denies an unknown tool whatever the rules say', () => {
    const p = testPolicy({ rules: [{ id: 'allow-all', tool: '*', effect: 'allow' }] });
    const d = evaluatePolicy(p, req({ tool: { name: 'format_disk', known: false, risk: 'destructive' } }));
    expect(d).toMatchObject({ effect: 'deny', ruleId: 'unknown-tool' });
    expect(d.policyVersion).toBe(p.version);
  });

  it('denies (fails closed) when a rule throws during evaluation', () => {
    const p = testPolicy({
      rules: [{ id: 'broken', tool: 'ticket_create', when: 'length(args.missing) > `1`', effect: 'allow' }],
    });
    const d = evaluatePolicy(p, req());
    expect(d.effect).toBe('deny');
    expect(d.ruleId).toBe('error');
    expect(d.reason).toMatch(/fail closed/);
  });

  it('routes an argument/context-based rule to the right tier', () => {
    const critical = evaluatePolicy(
      policy,
      req({ tool: { name: 'host_isolate', risk: 'destructive' }, context: { asset: { criticality: 'critical' } } }),
    );
    expect(critical).toMatchObject({ effect: 'require_approval', tier: 2, ruleId: 'isolate-critical' });
    const low = evaluatePolicy(
      policy,
      req({ tool: { name: 'host_isolate', risk: 'destructive' }, context: { asset: { criticality: 'low' } } }),
    );
    expect(low).toMatchObject({ effect: 'require_approval', tier: 1, ruleId: 'isolate-low' });
    const unknownAsset = evaluatePolicy(policy, req({ tool: { name: 'host_isolate', risk: 'destructive' } }));
    expect(unknownAsset).toMatchObject({ effect: 'require_approval', tier: 2, ruleId: 'default:destructive' });
  });

  it('lets the most restrictive matching rule win, whatever the order', () => {
    const p = testPolicy({
      rules: [
        { id: 'allow-tickets-again', tool: 'ticket_create', effect: 'allow' },
        {
          id: 'deny-prod-tickets',
          tool: 'ticket_create',
          when: "args.project == 'prod'",
          effect: 'deny',
          reason: 'no prod tickets',
        },
      ],
    });
    expect(evaluatePolicy(p, req({ args: { project: 'prod' } }))).toMatchObject({
      effect: 'deny',
      ruleId: 'deny-prod-tickets',
    });
    expect(evaluatePolicy(p, req({ args: { project: 'dev' } })).effect).toBe('allow');
  });

  it('raises tainted runs to the tainted floor', () => {
    const p = parsePolicy({ ...testPolicy().document, tainted: { write: { effect: 'require_approval', tier: 1 } } });
    expect(evaluatePolicy(p, req()).effect).toBe('allow');
    expect(evaluatePolicy(p, req({ run: { workflowId: 'wf', initiator: 'o', tainted: true } }))).toMatchObject({
      effect: 'require_approval',
      tier: 1,
      ruleId: 'tainted:write',
    });
  });

  it('changes version when the document changes', () => {
    expect(testPolicy().version).toBe(testPolicy().version);
    expect(testPolicy({ rules: [{ id: 'x', tool: 'a', effect: 'deny' }] }).version).not.toBe(testPolicy().version);
  });

  it('resolves escalation stages with cumulative eligible approvers', () => {
    const plan = approvalPlan(policy.document, 1);
    expect(plan.required).toBe(1);
    expect(plan.stages.map((s) => s.approvers)).toEqual([
      ['alice', 'bob'],
      ['alice', 'bob', 'carol', 'dave', 'erin'],
    ]);
    expect(plan.stages[0]!.timeoutMs).toBe(3_600_000);
  });

  it('rejects an invalid policy file with every problem and its path', () => {
    let err: unknown;
    try {
      parsePolicy(
        {
          version: 1,
          rules: [
            { id: 'r', tool: 'x', effect: 'require_approval' },
            { id: 'r', tool: 'y', effect: 'allow', when: 'a ==' },
          ],
          tiers: { '1': { required: 1, stages: [{ groups: ['ghosts'], timeout: 'soon' }] } },
        },
        'bad.yaml',
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    expect(msg).toMatch(/bad.yaml: rules.0: require_approval needs a tier/);
    expect(msg).toMatch(/rules.1.when: invalid JMESPath/);
    expect(msg).toMatch(/timeout: must be a duration/);
    expect(msg).toMatch(/the highest tier \(1\) needs two distinct approvers/);
  });

  it('refuses a condition that negates before reading a field, which would never apply', () => {
    expect(() => testPolicy({ rules: [{ id: 'own-run', tool: 'x', when: '!run.agent', effect: 'allow' }] })).toThrow(
      /rules.\d+.when: invalid JMESPath in when: "!run.agent" negates before it reads a field.*write !\(a.b\)/,
    );
    const fixed = testPolicy({
      rules: [{ id: 'own-run', tool: 'report_write', when: '!(run.agent)', effect: 'allow' }],
    });
    const report = { name: 'report_write' };
    expect(evaluatePolicy(fixed, req({ tool: report })).ruleId).toBe('own-run');
    const byAgent = req({ tool: report, run: { workflowId: 'wf', initiator: 'o', tainted: false, agent: 'agent:a' } });
    expect(evaluatePolicy(fixed, byAgent).ruleId).toBe('default:write');
  });

  it('loads every installed use case’s rules into a policy that opts in, and they apply as written', () => {
    const fragments = installedUseCases()
      .filter((uc) => uc.policyRules)
      .map((uc) => ({ usecase: uc.name, file: uc.policyRules! }));
    expect(fragments.length).toBeGreaterThan(0);
    const p = loadPolicyFile(path.join(__dirname, '..', '..', 'policy', 'default.yaml'), fragments);
    expect(p.document.rules.length).toBeGreaterThan(fragments.length);
    // Isolating a host the inventory does not know needs two approvers (the rule once read (!context).asset.found).
    const unknownHost = evaluatePolicy(
      p,
      req({
        tool: { name: 'edr_isolate_host', risk: 'destructive' },
        args: { hostname: 'h1' },
        context: { alertHosts: ['h1'], asset: { found: false } },
      }),
    );
    expect(unknownHost).toMatchObject({ effect: 'require_approval', tier: 2, ruleId: 'isolate-critical-host' });
  });

  it('loads the shipped default policy', () => {
    const p = loadPolicyFile(path.join(__dirname, '..', '..', 'policy', 'default.yaml'));
    expect(evaluatePolicy(p, req({ tool: { name: 'lookup', risk: 'read' } })).effect).toBe('allow');
    expect(evaluatePolicy(p, req({ tool: { name: 'x', risk: 'destructive' } }))).toMatchObject({
      effect: 'require_approval',
      tier: 2,
    });
  });
});
