import fs from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { DoctorCheck } from '../../src/cli/doctor';
import { HARNESS_ENV } from '../harness/env';
import { waitFor } from '../harness/wait';
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
    expect(byName(report, 'workers')!.detail).toContain(`${stack.config.taskQueue}--llm (activity: 1 poller)`);
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

  it('names an LLM task queue no worker polls, though the main queue is served', async () => {
    // A worker of the main queue only (as an older build or a custom worker runs): workflows and activities,
    // but nothing on <queue>--llm, where agent steps' LLM calls wait.
    const taskQueue = `${stack.config.taskQueue}-nollm`;
    const connection = await NativeConnection.connect({ address: stack.config.temporal.address! });
    const worker = await Worker.create({
      connection,
      namespace: stack.config.temporal.namespace,
      taskQueue,
      workflowBundle: { codePath: process.env[HARNESS_ENV.bundle]! },
      activities: { describeWorker: () => Promise.resolve({}) },
    });
    const running = worker.run();
    try {
      const pollers = (type: 1 | 2) =>
        stack.client.temporal.workflowService
          .describeTaskQueue({
            namespace: stack.config.temporal.namespace,
            taskQueue: { name: taskQueue, kind: 1 },
            taskQueueType: type,
          })
          .then((r) => r.pollers?.length ?? 0);
      await waitFor(
        async () => (await pollers(1)) * (await pollers(2)),
        (n) => n > 0,
        30_000,
      );
      const { code, stderr, report } = await doctor({ WARDEN_TASK_QUEUE: taskQueue });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe('warden: 1 check failed: workers');
      expect(byName(report, 'workers')).toEqual({
        name: 'workers',
        status: 'fail',
        detail: `no worker polls ${taskQueue}--llm (activity); agent steps wait for LLM calls no worker runs`,
        fix: `run \`warden worker\` of this release (it polls ${taskQueue}--llm with WARDEN_LLM_CONCURRENCY slots); a custom worker must also serve callModel on ${taskQueue}--llm`,
      });
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
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
