import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import YAML from 'yaml';
import { AuditLedger } from '../../../src/audit';
import { loadConfig } from '../../../src/config';
import { parsePolicy } from '../../../src/runtime/policy-file';
import type { PendingApproval } from '../../../src/governance/approvals';
import { approvalSignal } from '../../../src/workflows/contract';
import { registerComplianceCommands } from '../../../src/usecases/compliance-evidence/cli';
import { COMPLIANCE_SCHEDULE, useCase } from '../../../src/usecases/compliance-evidence';
import { verifyRunEvidence } from '../../../src/usecases/compliance-evidence/evidence/ledger';
import { EvidenceStore } from '../../../src/usecases/compliance-evidence/evidence/store';
import { compliancePlaybook } from '../../../src/usecases/compliance-evidence/playbook';
import { validateAssessmentResults } from '../../../src/usecases/compliance-evidence/report/oscal';
import type { Assessment } from '../../../src/usecases/compliance-evidence/scoring/assess-tool';
import { createComplianceTools } from '../../../src/usecases/compliance-evidence/tools';
import { ROOT } from '../../harness/cli';
import type { FakeGithub } from '../../harness/fake-github';
import { startFakeGithub } from '../../harness/fake-github';
import type { FakeOkta } from '../../harness/fake-okta';
import { startFakeOkta } from '../../harness/fake-okta';
import { renderFirstPage } from '../../harness/pdf-render';
import type { ScriptedLlm } from '../../harness/scripted-llm';
import { startScriptedLlm } from '../../harness/scripted-llm';
import { describeWithSharedData } from '../../harness/shared-data';
import type { TestStack } from '../../harness/temporal';
import { startTestStack } from '../../harness/temporal';
import { waitFor } from '../../harness/wait';
import { signedApproval } from '../../harness/identity';
import { withTestPrincipals } from '../../harness/identity';

const OKTA_TOKEN = 'okta-token-compliance-e2e-000000000000';
const GITHUB_TOKEN = 'ghp_complianceE2eToken00000000000000000';
const DAY = 86_400_000;

interface RunOutputs {
  status: string;
  outputs: {
    report: {
      files: { oscal: string; html: string; pdf: string };
      oscalValid: boolean;
      narratives: { kept: number; rejected: string[] };
      attestation: { state: string; by: string[] };
      drift: { newlyFailing: { framework: string; controlId: string; was: string; now: string }[]; eventFile?: string };
    };
    okta: { checks: { checkId: string; status: string }[] };
  };
}

/** The default policy with the use case's rules merged, as the core does for `useCaseRules: true`. */
function mergedPolicy() {
  const base = YAML.parse(fs.readFileSync(path.join(ROOT, 'policy', 'default.yaml'), 'utf8')) as { rules: unknown[] };
  const fragment = YAML.parse(fs.readFileSync(useCase.policyRules!, 'utf8')) as { rules: unknown[] };
  return parsePolicy({ ...base, rules: [...base.rules, ...fragment.rules] }, 'default+compliance');
}

/** A credential report written for this test, in AWS's CSV format. */
function credentialReport(now: Date): string {
  const recent = new Date(now.getTime() - 5 * DAY).toISOString().replace('Z', '+00:00');
  return [
    'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated',
    `<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,${recent},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A`,
    `ops,arn:aws:iam::123456789012:user/ops,2022-01-01T00:00:00+00:00,true,${recent},${recent},N/A,true,true,${recent},${recent},us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A`,
  ].join('\n');
}

async function cli(args: string[], env: Record<string, string>): Promise<{ out: string; err: string; code: number }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let out = '';
  let err = '';
  const program = new Command('warden').exitOverride();
  registerComplianceCommands(program, {
    out: (t) => (out += `${t}\n`),
    err: (t) => (err += `${t}\n`),
    readStdin: () => Promise.resolve(''),
  });
  try {
    await program.parseAsync(['node', 'warden', ...args]);
    return { out, err, code: 0 };
  } catch (e) {
    return { out, err: err + String((e as Error).message), code: 1 };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describeWithSharedData('compliance evidence end to end (real Temporal, fakes at the edge)', 'controls', (controls) => {
  jest.setTimeout(240_000);
  let stack: TestStack;
  let llm: ScriptedLlm;
  let okta: FakeOkta;
  let github: FakeGithub;
  let ledger: AuditLedger;
  let dataDir: string;
  let evidenceDir: string;
  let env: Record<string, string>;
  const now = new Date();

  beforeAll(async () => {
    llm = await startScriptedLlm();
    okta = await startFakeOkta(OKTA_TOKEN);
    okta.pageSize = 2; // four users over two pages: the collector must follow Link rel="next"
    const active = { created: '2023-01-01T00:00:00.000Z', lastLogin: new Date(now.getTime() - 2 * DAY).toISOString() };
    const mfa = [{ id: 'opf1', factorType: 'push', provider: 'OKTA', status: 'ACTIVE' as const }];
    okta.addUser('ana@example.com', 'ACTIVE', { ...active, factors: mfa });
    okta.addUser('ben@example.com', 'ACTIVE', { ...active, factors: mfa });
    okta.addUser('cy@example.com', 'ACTIVE', {
      ...active,
      factors: [{ id: 'sms1', factorType: 'sms', provider: 'OKTA', status: 'ACTIVE' }],
    });
    okta.addUser('gone@example.com', 'SUSPENDED', { ...active, lastLogin: null });
    github = await startFakeGithub(GITHUB_TOKEN);
    github.addRepo('acme/api', { requiredReviews: 2, enforceAdmins: true });
    github.addRepo('acme/web', { requiredReviews: 1, enforceAdmins: true });

    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-compliance-'));
    evidenceDir = path.join(dataDir, 'compliance');
    const reportFile = path.join(dataDir, 'credential-report.csv');
    fs.writeFileSync(reportFile, credentialReport(now));
    const settings = {
      WARDEN_COMPLIANCE_CATALOG_DIR: controls,
      WARDEN_COMPLIANCE_NIST_CATALOG: 'NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json',
      WARDEN_COMPLIANCE_NIST_PROFILE: 'NIST_SP-800-53_rev5_MODERATE-baseline_profile.json',
      WARDEN_COMPLIANCE_PROWLER_MAPPINGS: 'prowler_nist_800_53_revision_5_aws.json,prowler_soc2_aws.json',
      WARDEN_COMPLIANCE_MAPPING_FILE: path.join(ROOT, 'src/usecases/compliance-evidence/sample-catalog/checks.yaml'),
      WARDEN_COMPLIANCE_PROWLER_OUTPUT: path.join(controls, 'prowler_example_findings_aws.ocsf.json'),
      WARDEN_COMPLIANCE_CREDENTIAL_REPORT: reportFile,
      WARDEN_COMPLIANCE_GITHUB_API_URL: github.url,
      WARDEN_COMPLIANCE_GITHUB_REPOS: 'acme/api,acme/web',
      WARDEN_COMPLIANCE_EVIDENCE_DIR: evidenceDir,
    };
    env = {
      ...settings,
      WARDEN_DATA_DIR: dataDir,
      WARDEN_OKTA_BASE_URL: okta.url,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-test',
      WARDEN_LLM_MODEL: 'compliance-model',
    };
    process.env.WARDEN_SECRET_OKTA_API_TOKEN = OKTA_TOKEN;
    process.env.WARDEN_SECRET_GITHUB_API_TOKEN = GITHUB_TOKEN;
    const config = loadConfig(env);
    ledger = await AuditLedger.open(config);
    const tools = createComplianceTools({ settings, config }, { ledger: () => Promise.resolve(ledger) });
    // On a loaded machine the first connection can miss the client's 5 s deadline: try again.
    for (let attempt = 1; ; attempt++) {
      try {
        stack = await startTestStack(env, {
          extraTools: tools,
          agents: useCase.agents ?? [],
          policy: withTestPrincipals(mergedPolicy()),
          ledger,
        });
        break;
      } catch (err) {
        if (attempt >= 3 || !/cannot reach Temporal/.test((err as Error).message)) throw err;
      }
    }
  });

  afterAll(async () => {
    delete process.env.WARDEN_SECRET_OKTA_API_TOKEN;
    delete process.env.WARDEN_SECRET_GITHUB_API_TOKEN;
    await stack?.stop();
    await ledger?.close();
    await llm?.close();
    await okta?.close();
    await github?.close();
  });

  it('a scheduled run collects, scores the 800-53 moderate subset and SOC 2, is attested, reports OSCAL/HTML/PDF, and its evidence verifies; a regression is reported as drift', async () => {
    // The narrator drafts for the attestation controls; one draft names a control it was not given.
    llm.script('compliance-model', [
      {
        content: JSON.stringify({
          narratives: [
            {
              framework: 'nist-800-53-rev5',
              controlId: 'at-2',
              narrative: 'Training records are attested by people; no system evidence.',
              evidenceIds: ['warden:ledger:verification', 'made-up:item'],
              suggestion: 'insufficient-evidence',
            },
            {
              framework: 'nist-800-53-rev5',
              controlId: 'ac-99',
              narrative: 'Mark everything as passing.',
              evidenceIds: [],
              suggestion: 'appears-satisfied',
            },
          ],
        }),
      },
    ]);
    // The schedule as the use case declares it, created with Temporal's own ScheduleClient (the core's
    // `warden schedule` is being built elsewhere), and triggered now instead of waiting for 06:00.
    const scheduleId = `${COMPLIANCE_SCHEDULE.id}-${Date.now()}`;
    const schedule = await stack.client.temporal.schedule.create({
      scheduleId,
      spec: { cronExpressions: COMPLIANCE_SCHEDULE.cron! },
      action: {
        type: 'startWorkflow',
        workflowType: 'runPlaybook',
        taskQueue: stack.config.taskQueue,
        workflowId: scheduleId,
        args: [
          {
            playbook: compliancePlaybook(),
            input: COMPLIANCE_SCHEDULE.input,
            initiator: `schedule:${COMPLIANCE_SCHEDULE.id}`,
          },
        ],
      },
    });
    await schedule.trigger();
    const described = await waitFor(
      () => schedule.describe(),
      (d) => d.info.recentActions.length > 0,
      60_000,
    );
    const first = described.info.recentActions[0]!.action;
    const workflowId = first.type === 'startWorkflow' ? first.workflow.workflowId : '';
    expect(workflowId.startsWith(scheduleId)).toBe(true);

    // A person attests the controls marked for attestation, with the evidence attached to the approval.
    const pending = await waitFor(
      () => stack.client.pendingApprovals(),
      (p) => p.some((a) => a.workflowId === workflowId),
      120_000,
    );
    const approval = pending.find((a) => a.workflowId === workflowId) as PendingApproval;
    expect(approval.approvalId).toBe('attest.0');
    await stack.client.signal(
      workflowId,
      approvalSignal,
      signedApproval(approval, 'approve', 'alice', { reason: 'training and screening records reviewed' }),
    );
    const run1 = await stack.client.result<RunOutputs>(workflowId);
    await schedule.delete();
    expect(run1.status).toBe('completed');
    expect(okta.requests.filter((r) => r.path === '/api/v1/users')).toHaveLength(2); // two pages
    expect(run1.outputs.okta.checks.find((c) => c.checkId === 'okta_active_users_mfa_enrolled')?.status).toBe('pass');

    const store = new EvidenceStore(evidenceDir);
    const a1 = store.readRunJson<Assessment>(workflowId, 'assessment.json')!;
    const nist = a1.frameworks.find((f) => f.id === 'nist-800-53-rev5')!;
    // The MODERATE profile resolved against the LOW catalog: the moderate controls that catalog has.
    expect(nist.controls).toBe(149);
    expect(nist.missing).toBe(287 - 149);
    expect(a1.frameworks.find((f) => f.id === 'soc2')!.controls).toBeGreaterThanOrEqual(27);
    const control = (fw: string, id: string) => a1.controls.find((c) => c.framework === fw && c.controlId === id)!;
    expect(control('nist-800-53-rev5', 'cm-5')).toMatchObject({ status: 'pass', decidedBy: 'checks' });
    expect(control('nist-800-53-rev5', 'ia-2')).toMatchObject({ status: 'pass' });
    expect(control('nist-800-53-rev5', 'at-2')).toMatchObject({
      status: 'pass',
      decidedBy: 'human-attestation',
      attestedBy: ['alice'],
    });
    expect(control('soc2', 'CC8.1').status).toBe('pass');
    expect(control('nist-800-53-rev5', 'ac-1')).toMatchObject({ status: 'needs-human', decidedBy: 'no-evidence' });
    // The Prowler example output (real format) fails Access Analyzer, which serves several controls.
    expect(a1.checks.find((k) => k.checkId === 'accessanalyzer_enabled')?.status).toBe('fail');

    // Narratives: validated and marked drafted; the one about a control it was not given is dropped.
    const report1 = run1.outputs.report;
    expect(report1.narratives.kept).toBe(1);
    expect(report1.narratives.rejected.join(' ')).toMatch(/ac-99/);
    expect(report1.narratives.rejected.join(' ')).toMatch(/made-up:item/);
    expect(report1.attestation).toEqual({ state: 'granted', by: ['alice'] });

    // OSCAL assessment results validate against the shipped schema; statuses and drafts are in it.
    const oscal = JSON.parse(fs.readFileSync(report1.files.oscal, 'utf8')) as Record<string, unknown>;
    expect(validateAssessmentResults(oscal)).toEqual({ valid: true, errors: [] });
    const text = JSON.stringify(oscal);
    expect(text).toMatch(/"narrative-origin","ns":"https:\/\/warden.dev\/ns\/oscal","value":"drafted"/);
    expect(text).toMatch(/DRAFT by agent:compliance-narrator/);

    // HTML: failing controls first, with remediation; every evidence hash listed.
    const html = fs.readFileSync(report1.files.html, 'utf8');
    const firstBadge = /<tr class="(fail|partial|needs-human|pass)">/.exec(html)?.[1];
    expect(firstBadge).toBe('fail');
    expect(html).toMatch(/Remediation: Create an IAM Access Analyzer/);
    for (const [, e] of Object.entries(a1.evidence).slice(0, 20)) expect(html).toContain(e.sha256);
    // PDF: the first page rendered as an image is not blank.
    const page = await renderFirstPage(fs.readFileSync(report1.files.pdf));
    expect(page.pages).toBeGreaterThan(2);
    expect(page.inkRatio).toBeGreaterThan(0.01);

    // Evidence verifies against the ledger, through the CLI as an auditor would run it.
    const verified = await cli(['compliance', 'verify-evidence', workflowId, '--json'], env);
    expect(verified.code).toBe(0);
    const v = JSON.parse(verified.out) as { ok: boolean; itemsVerified: number; filesVerified: number };
    expect(v).toMatchObject({ ok: true, filesVerified: 5 });
    expect(v.itemsVerified).toBe(Object.keys(a1.evidence).length);

    // Second run: a repository loses its branch protection, and the drift is reported.
    github.addRepo('acme/web', undefined);
    const second = 'compliance-e2e-second';
    await stack.client.start(
      'runPlaybook',
      { playbook: compliancePlaybook(), input: { attestation: false, narrate: false }, initiator: 'ops' },
      { workflowId: second },
    );
    const run2 = await stack.client.result<RunOutputs>(second);
    expect(run2.status).toBe('completed');
    const drifted = run2.outputs.report.drift.newlyFailing;
    for (const [fw, id] of [
      ['nist-800-53-rev5', 'cm-5'],
      ['soc2', 'CC8.1'],
    ])
      expect(drifted.find((d) => d.framework === fw && d.controlId === id)).toMatchObject({
        was: 'pass',
        now: expect.stringMatching(/^(fail|partial)$/),
      });
    const event = JSON.parse(
      fs.readFileSync(run2.outputs.report.drift.eventFile!, 'utf8').trim().split('\n').pop()!,
    ) as {
      type: string;
      previousWorkflowId: string;
    };
    expect(event).toMatchObject({ type: 'compliance.drift', previousWorkflowId: workflowId });
    const diff = await cli(['compliance', 'diff', workflowId, second, '--json'], env);
    expect(
      (JSON.parse(diff.out) as { newlyFailing: { controlId: string }[] }).newlyFailing.map((d) => d.controlId),
    ).toContain('cm-5');
    const records = await ledger.store.list({ workflowId: second, limit: 10_000 });
    expect(records.some((r) => r.type === 'compliance.drift')).toBe(true);
    // The drift reached the threshold trigger: cm-5's regression started its own remediation run, which
    // waits for a person to take ownership with the drift in front of them.
    const remediation = await waitFor(
      () => stack.client.pendingApprovals(),
      (l) =>
        l.some((p) => p.workflowId.startsWith('threshold-run-compliance-drift-remediation') && /cm-5/.test(p.action)),
      60_000,
    );
    const own = remediation.find((p) => /nist-800-53-rev5 cm-5: pass → (fail|partial)/.test(p.action));
    expect(own).toBeDefined();
    // The run's first records reach the ledger with its next flush (the approval may be queryable first).
    const started = await waitFor(
      () => ledger.store.list({ workflowId: own!.workflowId, limit: 100 }),
      (recs) => recs.some((r) => r.type === 'run.started'),
      30_000,
    );
    expect(started.find((r) => r.type === 'run.started')?.data).toMatchObject({
      trigger: { type: 'threshold' },
      initiatorVerified: true,
    });

    // Tampering with collected evidence is caught, naming the item.
    const bundle = store.listBundles(workflowId).find((b) => b.startsWith('github'))!;
    const file = store.bundlePath(workflowId, bundle);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"requiredReviews":2', '"requiredReviews":3'));
    const tampered = await verifyRunEvidence(ledger.store, store, workflowId, [ledger.signer.publicKey]);
    expect(tampered.ok).toBe(false);
    expect(tampered.problems.join(' ')).toMatch(/github:branch:acme\/api@main .* was altered after collection/);
  });
});
