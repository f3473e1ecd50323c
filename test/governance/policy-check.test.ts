import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT, runCli } from '../harness/cli';

/*
 * `warden policy check`: the policy the workers would load, decided against a table of cases, by the real
 * CLI. The shipped alert-triage table must pass against the shipped policy (they change together).
 */

describe('warden policy check', () => {
  jest.setTimeout(60_000);
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-policy-check-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes the shipped alert-triage table against the default policy, establishing facts from a run input too', async () => {
    const shipped = YAML.parse(
      fs.readFileSync(path.join(ROOT, 'policy', 'checks', 'alert-triage.yaml'), 'utf8'),
    ) as unknown[];
    // One case whose facts the installed use case establishes itself, from a normalized alert.
    const { normalizeAlert } = await import('../../src/usecases/alert-triage');
    const alert = normalizeAlert('crowdstrike', {
      composite_id: 'cid1:ind:aid1:1',
      cid: 'f00dfeedf00dfeedf00dfeedf00dfeed',
      display_name: 'Beacon',
      severity_name: 'High',
      severity: 70,
      device: { hostname: 'eng-ws-12.corp.example.com', device_id: 'a'.repeat(32) },
      cmdline: 'beacon.exe --peer dc-01.corp.example.com',
    });
    const table = path.join(dir, 'table.yaml');
    fs.writeFileSync(
      table,
      YAML.stringify([
        ...shipped,
        {
          name: 'from input: a host the command line names is out of scope',
          tool: 'edr_isolate_host',
          args: { hostname: 'dc-01.corp.example.com' },
          input: { alert },
          run: { initiator: 'service:http', tainted: true },
          expect: { effect: 'deny', rule: 'alert-write-outside-scope' },
        },
        {
          name: 'from input: the alert host by its device id',
          tool: 'edr_isolate_host',
          args: { deviceId: 'a'.repeat(32) },
          input: { alert },
          run: { initiator: 'service:http', tainted: true },
          expect: { effect: 'allow', rule: 'isolate-low-criticality-host' },
        },
      ]),
    );
    const r = await runCli(['policy', 'check', table, '--json']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const report = JSON.parse(r.stdout) as {
      passed: number;
      failed: number;
      results: { name: string; facts?: unknown }[];
    };
    expect(report).toMatchObject({ passed: shipped.length + 2, failed: 0 });
    expect(report.results.at(-1)!.facts).toMatchObject({
      subject: 'alert',
      targets: [{ kind: 'deviceId', inScope: true, asset: { found: true, criticality: 'low' } }],
    });
  });

  it('exits 1 naming each case that got another decision, and flags rules that can never match', async () => {
    const policyFile = path.join(dir, 'policy.yaml');
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, 'policy', 'default.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    fs.writeFileSync(
      policyFile,
      YAML.stringify({
        ...doc,
        useCaseRules: false,
        rules: [
          { id: 'typo-tool', tool: 'edr_isolate_hots', effect: 'deny' },
          { id: 'wrong-risk', tool: 'case_write', risk: 'read', effect: 'allow' },
          { id: 'isolate-needs-two', tool: 'edr_isolate_host', effect: 'require_approval', tier: 2 },
        ],
      }),
    );
    const table = path.join(dir, 'mismatch.yaml');
    fs.writeFileSync(
      table,
      YAML.stringify([
        {
          name: 'isolation runs alone',
          tool: 'edr_isolate_host',
          args: { hostname: 'h1' },
          expect: { effect: 'allow' },
        },
      ]),
    );
    const r = await runCli(['policy', 'check', table], { WARDEN_POLICY_FILE: policyFile });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+isolation runs alone\s+allow\s+require_approval \(tier 2\) by isolate-needs-two/);
    expect(r.stdout).toMatch(
      /can never match: rule typo-tool — names edr_isolate_hots, which no enabled use case or core tool registers/,
    );
    expect(r.stdout).toMatch(/can never match: rule wrong-risk — applies to risk read, but case_write is always write/);
    expect(r.stderr).toMatch(/1 of 1 case\(s\) did not get the expected decision/);
  });

  it('refuses a table that is not one, saying what a case needs', async () => {
    const table = path.join(dir, 'bad.yaml');
    fs.writeFileSync(table, YAML.stringify([{ name: 'x', tool: 'edr_isolate_host', expect: { effect: 'maybe' } }]));
    const r = await runCli(['policy', 'check', table]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is not a policy table .*expect/);
    const missing = await runCli(['policy', 'check', path.join(dir, 'nope.yaml')]);
    expect(missing.stderr).toMatch(/cannot read the policy table .*ENOENT/);
  });
});
