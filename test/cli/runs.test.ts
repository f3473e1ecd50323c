import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../harness/cli';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { freePort } from '../../src/runtime/dev-server';

describe('warden CLI: run, status, ls (real binary, real server)', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  beforeAll(async () => {
    stack = await startTestStack();
    env = { TEMPORAL_ADDRESS: stack.config.temporal.address!, WARDEN_TASK_QUEUE: stack.config.taskQueue };
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('runs a workflow with --wait --json and lists it', async () => {
    const id = `cli-run-${Date.now()}`;
    const run = await runCli(
      ['run', 'healthCheck', '--id', id, '--wait', '--json', '--input', '-'],
      env,
      '{"requestedBy":"ops"}',
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { workflowId: string; result: { requestedBy: string } };
    expect(out.workflowId).toBe(id);
    expect(out.result.requestedBy).toBe('ops');

    const ls = await runCli(['ls', '--json', '--type', 'healthCheck', '--limit', '50'], env);
    expect(ls.code).toBe(0);
    expect((JSON.parse(ls.stdout) as { workflowId: string }[]).map((r) => r.workflowId)).toContain(id);

    const table = await runCli(['ls', '--status', 'completed'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^WORKFLOWID\s+TYPE\s+STATUS/);
    expect(table.stdout).toContain(id);

    const status = await runCli(['status', id], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status:\s+COMPLETED/);
  });

  it('status of an unknown id exits non-zero with a one-line error', async () => {
    const r = await runCli(['status', 'no-such-id'], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no run with id "no-such-id"/);
  });

  it('a bad env value gives a readable config error, not a stack trace', async () => {
    const r = await runCli(['ls'], { TEMPORAL_ADDRESS: '::nonsense' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Invalid configuration:\n\s+- TEMPORAL_ADDRESS="::nonsense": must be host:port/);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('an unreachable server tells the user what to do', async () => {
    const port = await freePort();
    const r = await runCli(['ls'], { WARDEN_TEMPORAL_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach Temporal at 127.0.0.1:${port} — run \`warden dev\``);
  });

  it('invalid input JSON or schema starts no run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cli-'));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"requestedBy": ');
    const id = `cli-bad-${Date.now()}`;
    const r1 = await runCli(['run', 'healthCheck', '--id', id, '--input', bad], env);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/is not valid JSON.*no run was started/);
    const r2 = await runCli(['run', 'healthCheck', '--id', id, '--input', '-'], env, '{"unexpected": true}');
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/invalid input for healthCheck/);
    await expect(stack.client.describe(id)).rejects.toThrow(/no run with id/);
    const r3 = await runCli(['run', 'nope'], env);
    expect(r3.stderr).toMatch(/unknown workflow "nope"/);
  });

  it('rejects bad options with a usage error', async () => {
    const r = await runCli(['ls', '--status', 'sideways'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown --status "sideways"/);
    const r2 = await runCli(['frobnicate'], env);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
