import fs from 'node:fs';
import path from 'node:path';
import type { DoctorCheck } from '../../src/cli/doctor';
import { runCli } from '../harness/cli';
import type { ScriptedLlm } from '../harness/scripted-llm';
import { startScriptedLlm } from '../harness/scripted-llm';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';

interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

describe('warden doctor (real binary, real Temporal server and worker)', () => {
  let stack: TestStack;
  let llm: ScriptedLlm;
  let env: Record<string, string>;
  beforeAll(async () => {
    llm = await startScriptedLlm();
    llm.script('doctor-model', [{ content: 'unused' }]);
    stack = await startTestStack({ OPENAI_BASE_URL: llm.baseURL, OPENAI_API_KEY: 'sk-test' });
    env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_DATA_DIR: stack.config.dataDir,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-test',
      WARDEN_LLM_MODEL: 'doctor-model',
    };
    // The worker's ledger gets its first records (and a checkpoint) from a run.
    expect((await runCli(['run', 'healthCheck', '--wait'], env)).code).toBe(0);
  });
  afterAll(async () => {
    await stack.stop();
    await llm.close();
  });
  const doctor = async (extra: Record<string, string> = {}) => {
    const r = await runCli(['doctor', '--json'], { ...env, ...extra });
    return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) as DoctorReport };
  };
  const byName = (report: DoctorReport, name: string) => report.checks.find((c) => c.name === name);

  it('passes on a healthy stack, checking each part', async () => {
    const { code, report } = await doctor();
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['temporal', 'ok'],
      ['workers', 'ok'],
      ['policy', 'ok'],
      ['ledger', 'ok'],
      ['vault', 'ok'],
      ['llm', 'ok'],
      ['round-trip', 'ok'],
      ['clock', 'ok'],
    ]);
    expect(byName(report, 'workers')!.detail).toContain(stack.config.taskQueue);
    expect(byName(report, 'ledger')!.detail).toMatch(/writable; \d+ records and \d+ checkpoints verify/);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  });

  it('names the failing check and what to fix: no worker on the task queue', async () => {
    const { code, stderr, report } = await doctor({ WARDEN_TASK_QUEUE: `${stack.config.taskQueue}-nobody` });
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(byName(report, 'workers')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/warden worker/) });
    expect(byName(report, 'round-trip')!.status).toBe('skipped');
    expect(stderr.trim()).toBe('warden: 1 check failed: workers');
  });

  it('names a broken policy, vault and LLM endpoint', async () => {
    const policy = path.join(stack.config.dataDir, 'broken-policy.yaml');
    fs.writeFileSync(policy, 'rules: [\n');
    const vault = path.join(stack.config.dataDir, 'broken-vault.json');
    fs.writeFileSync(vault, 'not json');
    const { code, report } = await doctor({
      WARDEN_POLICY_FILE: policy,
      WARDEN_VAULT_FILE: vault,
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    });
    expect(code).toBe(1);
    expect(byName(report, 'policy')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/does not parse/) });
    expect(byName(report, 'vault')!.status).toBe('fail');
    expect(byName(report, 'llm')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:9\/v1\/models: /),
    });
    expect(byName(report, 'temporal')!.status).toBe('ok');
  });

  it('names an unreachable Temporal, and skips what needs it', async () => {
    const r = await runCli(['doctor'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}temporal +cannot reach Temporal at 127\.0\.0\.1:1.* — fix: /m);
    expect(r.stdout).toMatch(/^skip {2}workers/m);
  });
});
