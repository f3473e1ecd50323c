import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLedger } from '../../../src/audit';
import { loadConfig } from '../../../src/config';
import {
  createCredentialReportCollector,
  credentialReportEvidence,
  parseCredentialReport,
} from '../../../src/usecases/compliance-evidence/collectors/credential-report';
import { createGithubCollector } from '../../../src/usecases/compliance-evidence/collectors/github';
import { createOktaCollector } from '../../../src/usecases/compliance-evidence/collectors/okta';
import { parseProwlerOcsf, prowlerEvidence } from '../../../src/usecases/compliance-evidence/collectors/prowler';
import { verifyRunEvidence } from '../../../src/usecases/compliance-evidence/evidence/ledger';
import { EvidenceStore } from '../../../src/usecases/compliance-evidence/evidence/store';
import { assessRun } from '../../../src/usecases/compliance-evidence/scoring/assess-tool';
import { loadControlCatalog } from '../../../src/usecases/compliance-evidence/catalog/frameworks';
import { SAMPLE_DIR } from '../../../src/usecases/compliance-evidence/settings';
import { startFakeGithub } from '../../harness/fake-github';
import { startFakeOkta } from '../../harness/fake-okta';
import { describeWithSharedData } from '../../harness/shared-data';
import { testToolContext } from '../../harness/tool-context';

const NOW = new Date('2026-03-01T00:00:00Z');
const opened: AuditLedger[] = [];
afterAll(async () => {
  for (const l of opened) await l.close().catch(() => undefined);
});

async function fixture() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compliance-collect-'));
  const ledger = await AuditLedger.open(loadConfig({ WARDEN_DATA_DIR: dir }));
  opened.push(ledger);
  const store = new EvidenceStore(path.join(dir, 'compliance'));
  return { dir, ledger, store, deps: { store, ledger: () => Promise.resolve(ledger), now: () => NOW } };
}

describe('credential report collector', () => {
  const csv = fs.readFileSync(path.join(SAMPLE_DIR, 'sources', 'credential-report.csv'), 'utf8');

  it('fails key rotation and unused keys for an old key, passes root MFA, from the CSV AWS writes', () => {
    const got = credentialReportEvidence(parseCredentialReport(csv), { now: NOW, staleDays: 90, keyRotationDays: 90 });
    const status = Object.fromEntries(got.checks.map((c) => [c.checkId, c.status]));
    expect(status).toMatchObject({
      iam_root_mfa_enabled: 'pass',
      iam_no_root_access_key: 'pass',
      iam_rotate_access_key_90_days: 'fail',
      iam_user_accesskey_unused: 'fail',
    });
    expect(got.checks.find((c) => c.checkId === 'iam_rotate_access_key_90_days')?.failing).toEqual(['deploy-bot']);
  });

  it('reads the JSON of `aws iam get-credential-report` (base64 Content)', () => {
    const rows = parseCredentialReport(
      JSON.stringify({
        Content: Buffer.from(csv).toString('base64'),
        ReportFormat: 'text/csv',
        GeneratedTime: '2026-03-01T00:00:00Z',
      }),
    );
    expect(rows.map((r) => r.user)).toEqual(['<root_account>', 'alice.admin', 'deploy-bot']);
  });

  it('refuses a CSV that is not a credential report, saying which columns are missing', () => {
    expect(() => parseCredentialReport('name,age\nx,1\n')).toThrow(/missing columns: user, arn/);
  });

  it('a retried call reuses the stored bundle and appends its hashes once', async () => {
    const f = await fixture();
    const tool = createCredentialReportCollector(
      path.join(SAMPLE_DIR, 'sources', 'credential-report.csv'),
      { staleDays: 90, keyRotationDays: 90 },
      f.deps,
    );
    const { ctx } = testToolContext({}, { idempotencyKey: 'compliance-1/aws_credentials/0' });
    const a = await tool.execute({}, ctx);
    const b = await tool.execute({}, ctx);
    expect(b).toEqual(a);
    const recs = (await f.ledger.store.list({ workflowId: 'compliance-1' })).filter(
      (r) => r.type === 'compliance.evidence',
    );
    expect(recs).toHaveLength(1);
  });
});

describe('Okta collector', () => {
  it('follows Link rel="next" across pages, reads factors, and finds users without MFA and stale accounts', async () => {
    const f = await fixture();
    const okta = await startFakeOkta('okta-unit-token-0000000000000000');
    okta.pageSize = 2;
    const recent = '2026-02-20T00:00:00.000Z';
    okta.addUser('a@x.test', 'ACTIVE', {
      lastLogin: recent,
      factors: [{ id: 'f1', factorType: 'push', provider: 'OKTA', status: 'ACTIVE' }],
    });
    okta.addUser('b@x.test', 'ACTIVE', {
      lastLogin: recent,
      factors: [{ id: 'f2', factorType: 'sms', provider: 'OKTA', status: 'PENDING_ACTIVATION' }],
    });
    okta.addUser('c@x.test', 'ACTIVE', {
      lastLogin: '2025-01-01T00:00:00.000Z',
      created: '2024-01-01T00:00:00.000Z',
      factors: [{ id: 'f3', factorType: 'push', provider: 'OKTA', status: 'ACTIVE' }],
    });
    okta.addUser('d@x.test', 'DEPROVISIONED');
    okta.addUser('e@x.test', 'SUSPENDED');
    // A generous per-request limit: the fake answers at once, but a loaded CI machine may not.
    const tool = createOktaCollector({ oktaBaseUrl: okta.url, staleDays: 90, timeoutMs: 60_000 }, f.deps);
    const { ctx, credentialCalls } = testToolContext(
      { okta: 'okta-unit-token-0000000000000000' },
      { idempotencyKey: 'compliance-2/okta/0' },
    );
    const out = await tool.execute({}, ctx);
    expect(credentialCalls).toEqual([{ provider: 'okta', scopes: ['users:read'] }]);
    expect(okta.requests.filter((r) => r.path === '/api/v1/users')).toHaveLength(2);
    expect(out.items).toBe(4); // DEPROVISIONED users are not listed by Okta
    const bundle = f.store.readBundle('compliance-2', out.bundle, out.bundleSha256);
    expect(bundle.checks.find((c) => c.checkId === 'okta_active_users_mfa_enrolled')).toMatchObject({
      status: 'fail',
      failing: ['b@x.test'],
    });
    expect(bundle.checks.find((c) => c.checkId === 'okta_no_stale_active_accounts')).toMatchObject({
      status: 'fail',
      failing: ['c@x.test'],
    });
    await okta.close();
  });

  it("a rejected token fails with Okta's error code and never echoes the token", async () => {
    const f = await fixture();
    const okta = await startFakeOkta('the-right-token-000000000000000000');
    const tool = createOktaCollector({ oktaBaseUrl: okta.url, staleDays: 90 }, f.deps);
    const { ctx } = testToolContext(
      { okta: 'a-wrong-token-0000000000000000000' },
      { idempotencyKey: 'compliance-3/okta/0' },
    );
    const err = (await tool.execute({}, ctx).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/401 E0000011/);
    expect(err.message).not.toContain('a-wrong-token');
    await okta.close();
  });
});

describe('GitHub collector', () => {
  it('reads default branches and protection; an unprotected branch fails, with GitHub API version headers', async () => {
    const f = await fixture();
    const gh = await startFakeGithub('ghp_unit000000000000000000000000000000');
    gh.addRepo('acme/api', { requiredReviews: 2, enforceAdmins: true });
    gh.addRepo('acme/docs', undefined, 'trunk');
    const tool = createGithubCollector(
      { apiUrl: gh.url, repos: ['acme/api', 'acme/docs'], requiredReviews: 1 },
      f.deps,
    );
    const { ctx } = testToolContext(
      { github: 'ghp_unit000000000000000000000000000000' },
      { idempotencyKey: 'compliance-4/github/0' },
    );
    const out = await tool.execute({}, ctx);
    expect(out.checks.find((c) => c.checkId === 'github_default_branch_protected')).toMatchObject({
      status: 'fail',
      failed: 1,
      total: 2,
    });
    expect(gh.requests.map((r) => r.path)).toContain('/repos/acme/docs/branches/trunk/protection');
    expect(gh.requests.every((r) => r.apiVersion === '2022-11-28')).toBe(true);
    await gh.close();
  });
});

describe('evidence integrity', () => {
  it('scoring refuses a bundle altered after collection, and verification names the altered item', async () => {
    const f = await fixture();
    const tool = createCredentialReportCollector(
      path.join(SAMPLE_DIR, 'sources', 'credential-report.csv'),
      { staleDays: 90, keyRotationDays: 90 },
      f.deps,
    );
    const { ctx } = testToolContext({}, { idempotencyKey: 'compliance-5/aws_credentials/0' });
    const out = await tool.execute({}, ctx);
    const file = f.store.bundlePath('compliance-5', out.bundle);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"mfa_active":"false"', '"mfa_active":"true"'));
    const catalog = () =>
      loadControlCatalog({
        nistCatalog: path.join(SAMPLE_DIR, 'sample-800-53-catalog.json'),
        nistProfile: undefined,
        prowlerMappings: [],
        mappingFile: path.join(SAMPLE_DIR, 'checks.yaml'),
        frameworks: ['nist-800-53-rev5'],
      });
    expect(() =>
      assessRun({ store: f.store, catalog }, 'compliance-5/assess/0', { collections: [out], maxJudgement: 10 }),
    ).toThrow(/altered after collection/);
    const v = await verifyRunEvidence(f.ledger.store, f.store, 'compliance-5', [f.ledger.signer.publicKey]);
    expect(v.ok).toBe(false);
    expect(v.problems.join(' ')).toMatch(/deploy-bot .* was altered after collection/);
  });
});

describeWithSharedData('Prowler OCSF output (real examples)', 'controls', (dir) => {
  it('turns PASS/FAIL/MANUAL findings into per-check results for AWS and Azure', () => {
    for (const [file, provider] of [
      ['prowler_example_findings_aws.ocsf.json', 'aws'],
      ['prowler_example_findings_azure.ocsf.json', 'azure'],
    ]) {
      const findings = parseProwlerOcsf(fs.readFileSync(path.join(dir, file!), 'utf8'));
      const got = prowlerEvidence(findings, NOW.toISOString());
      expect(got.items).toHaveLength(findings.length);
      expect(new Set(got.items.map((i) => i.id)).size).toBe(findings.length);
      for (const f of findings) {
        const check = got.checks.find((c) => c.checkId === f.metadata.event_code)!;
        expect(check.status).toBe(f.status_code === 'FAIL' ? 'fail' : f.status_code === 'PASS' ? 'pass' : check.status);
        if (f.status_code === 'MANUAL') expect(['manual', 'fail']).toContain(check.status);
      }
      expect(findings.every((f) => (f as { cloud?: { provider?: string } }).cloud?.provider === provider)).toBe(true);
    }
  });
});
