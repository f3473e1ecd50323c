import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Playbook } from '../../src/governance/steps';
import { AuditLedger } from '../../src/audit';
import { loadConfig } from '../../src/config';
import { ROOT } from '../harness/cli';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import type { FakeVendor } from '../harness/vendor';
import { startFakeVendor } from '../harness/vendor';
import { startScriptedLlm } from '../harness/scripted-llm';
import { waitFor } from '../harness/wait';

/** Every worker process a test started; whatever a failing test left running is killed after the suite. */
const children = new Set<ChildProcess>();

/** A real worker process (dist/), so the test can kill it like a crash would. */
function startWorkerProcess(
  env: Record<string, string>,
  entry = [path.join(ROOT, 'bin', 'warden.js'), 'worker'],
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

describe('crash recovery (real worker process, real Temporal dev server)', () => {
  jest.setTimeout(180_000);
  let vendor: FakeVendor;
  let client: TestStack;
  beforeAll(async () => {
    vendor = await startFakeVendor();
    vendor.delayMs = 60;
    // A client only: its in-process worker polls another task queue, the worker under test is a process.
    client = await startTestStack();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await client.stop();
    await vendor.close();
  });

  it('a worker killed mid-forEach (60 items) resumes on a new worker and every side effect happens exactly once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-crash-'));
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(
      policyFile,
      [
        'version: 1',
        'rules:',
        '  - { id: vendor-posts, tool: http_request, effect: allow }',
        'tiers:',
        '  "1": { required: 1, stages: [{ groups: [ops], timeout: 1h }] }',
        '  "2": { required: 2, stages: [{ groups: [ops], timeout: 1h }] }',
        'groups: { ops: [alice, bob] }',
      ].join('\n'),
    );
    const taskQueue = `crash-${randomUUID()}`;
    const env = {
      TEMPORAL_ADDRESS: client.config.temporal.address!,
      WARDEN_TASK_QUEUE: taskQueue,
      WARDEN_DATA_DIR: dir,
      WARDEN_POLICY_FILE: policyFile,
      WARDEN_HTTP_ALLOWED_HOSTS: vendor.host,
      WARDEN_HEALTH_PORT: '0',
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      WARDEN_LOG_LEVEL: 'warn',
      WARDEN_SHUTDOWN_GRACE_MS: '1000',
    };
    const playbook: Playbook = {
      name: 'bulk-effects',
      steps: [
        {
          id: 'each',
          kind: 'forEach',
          items: 'input.items',
          concurrency: 3,
          batchSize: 20,
          onItemFailure: 'continue',
          onError: 'fail',
          steps: [
            {
              id: 'effect',
              kind: 'action',
              tool: 'http_request',
              args: { method: 'POST', url: `${vendor.url}/effects`, body: { item: '{{ item }}' } },
              context: {},
              onError: 'fail',
            },
          ],
        },
      ],
    };
    let worker = startWorkerProcess(env);
    const items = Array.from({ length: 60 }, (_, i) => i);
    const handle = await client.client.temporal.workflow.start('runPlaybook', {
      taskQueue,
      workflowId: `crash-${randomUUID()}`,
      args: [{ playbook, input: { items }, initiator: 'olivia' }],
    });
    const effects = () =>
      vendor.requests.filter((r) => r.path === '/effects' && r.idempotencyKey?.startsWith(`${handle.workflowId}--`));
    await waitFor(
      async () => effects().length,
      (n) => n >= 15,
      60_000,
    ).catch(async (err: Error) => {
      const desc = await handle.describe();
      throw new Error(`${err.message}\nrun: ${desc.status.name}\nworker output:\n${worker.output()}`);
    });
    worker.child.kill('SIGKILL');
    await new Promise((r) => worker.child.once('exit', r));
    const atCrash = effects().length;
    expect(atCrash).toBeLessThan(60);

    worker = startWorkerProcess(env);
    try {
      const result = (await handle.result()) as {
        status: string;
        outputs: { each: { succeeded: number; failed: number } };
      };
      expect(result.status).toBe('completed');
      expect(result.outputs.each).toMatchObject({ succeeded: 60, failed: 0 });
      const keys = new Set(effects().map((r) => r.idempotencyKey));
      expect(keys.size).toBe(60);
      for (const k of keys) expect(vendor.applied.get(k!)).toBe(1);
      expect(
        JSON.stringify(
          effects()
            .map((r) => (r.body as { item: number }).item)
            .sort((a, b) => a - b),
        ),
      ).toContain('59');
      // The audit ledger the killed and the new worker shared: no duplicate, no gap, and it verifies.
      const ledger = await AuditLedger.open(loadConfig({ WARDEN_DATA_DIR: dir }));
      try {
        const records = await ledger.store.list({});
        expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
        expect(new Set(records.map((r) => r.idempotencyKey)).size).toBe(records.length);
        expect(records.filter((r) => r.type === 'tool.executed')).toHaveLength(60);
        expect(await ledger.verify()).toMatchObject({ ok: true });
      } finally {
        await ledger.close();
      }
    } finally {
      worker.child.kill('SIGTERM');
      await new Promise((r) => worker.child.once('exit', r));
    }
  });

  it('an agent loop resumes after a crash between a tool call and the next LLM call, without repeating the tool call', async () => {
    const llm = await startScriptedLlm();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-crash-'));
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(
      policyFile,
      [
        'version: 1',
        'rules:',
        '  - { id: vendor-posts, tool: http_request, effect: allow }',
        'tiers:',
        '  "1": { required: 1, stages: [{ groups: [ops], timeout: 1h }] }',
        '  "2": { required: 2, stages: [{ groups: [ops], timeout: 1h }] }',
        'groups: { ops: [alice, bob] }',
      ].join('\n'),
    );
    const taskQueue = `crash-agent-${randomUUID()}`;
    const env = {
      TEMPORAL_ADDRESS: client.config.temporal.address!,
      WARDEN_TASK_QUEUE: taskQueue,
      WARDEN_POLICY_FILE: policyFile,
      WARDEN_HTTP_ALLOWED_HOSTS: vendor.host,
      WARDEN_HEALTH_PORT: '0',
      WARDEN_GOVERNOR_ID: `governor-${randomUUID()}`,
      WARDEN_LOG_LEVEL: 'warn',
      WARDEN_SHUTDOWN_GRACE_MS: '1000',
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-test',
      WARDEN_LLM_TIMEOUT_MS: '3000',
    };
    llm.script(
      'model-crash',
      [
        {
          toolCalls: [
            {
              name: 'http_request',
              arguments: { method: 'POST', url: `${vendor.url}/agent-effects`, body: { note: 'seen' } },
            },
          ],
        },
        { hold: true },
        { content: JSON.stringify({ verdict: 'benign', confidence: 0.9, rationale: 'recorded' }) },
      ],
      { repeatLast: true },
    );
    const entry = [path.join(ROOT, 'test', 'harness', 'agent-worker.js')];
    let worker = startWorkerProcess(env, entry);
    const workflowId = `crash-agent-${randomUUID()}`;
    const handle = await client.client.temporal.workflow.start('runPlaybook', {
      taskQueue,
      workflowId,
      args: [
        {
          playbook: {
            name: 'agent-crash',
            steps: [{ id: 'score', kind: 'agent', agent: 'crash-agent', input: { alert: 1 } }],
          },
          input: {},
          initiator: 'olivia',
        },
      ],
    });
    // The tool call has executed and the second LLM call is in flight: crash now.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      llm.waitForHold(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the second LLM call never came; worker output:\n${worker.output()}`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    expect(vendor.requests.filter((r) => r.path === '/agent-effects')).toHaveLength(1);
    worker.child.kill('SIGKILL');
    await new Promise((r) => worker.child.once('exit', r));
    llm.release(); // the dead worker's request gets an answer nobody reads

    worker = startWorkerProcess(env, entry);
    try {
      const result = (await handle.result()) as { status: string; outputs: { score: { verdict: string } } };
      expect(result.status).toBe('completed');
      expect(result.outputs.score.verdict).toBe('benign');
      // The tool was not called again; the LLM call that was in flight was retried.
      expect(vendor.requests.filter((r) => r.path === '/agent-effects')).toHaveLength(1);
      expect(llm.requestsFor('model-crash').length).toBeGreaterThanOrEqual(3);
    } finally {
      worker.child.kill('SIGTERM');
      await new Promise((r) => worker.child.once('exit', r));
      await llm.close();
    }
  });
});
