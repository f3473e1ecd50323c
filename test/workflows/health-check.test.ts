import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { waitFor } from '../harness/wait';

describe('healthCheck workflow (real Temporal dev server)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('runs client → server → worker → activity and back', async () => {
    const { workflowId } = await stack.client.start('healthCheck', { requestedBy: 'jest' });
    const result = await stack.client.result<{ requestedBy: string; worker: { pid: number; taskQueue: string } }>(
      workflowId,
    );
    expect(result.requestedBy).toBe('jest');
    expect(result.worker.pid).toBe(process.pid);
    expect(result.worker.taskQueue).toBe(stack.config.taskQueue);
    const described = await stack.client.describe(workflowId);
    expect(described.status).toBe('COMPLETED');
    expect(described.type).toBe('healthCheck');
  });

  it('routes SDK and activity logs into pino', async () => {
    const { workflowId } = await stack.client.start('healthCheck', {});
    await stack.client.result(workflowId);
    // With core log forwarding on, the SDK buffers log lines for ~100 ms to sort them.
    const parsed = await waitFor(
      async () => stack.logLines.map((l) => JSON.parse(l) as { msg: string; workflowId?: string }),
      (lines) => lines.some((l) => /Workflow completed/i.test(l.msg) && l.workflowId === workflowId),
    );
    expect(parsed.some((l) => l.msg === 'describeWorker' && l.workflowId === workflowId)).toBe(true);
  });

  it('refuses invalid input before starting a run', async () => {
    await expect(stack.client.start('healthCheck', { requestedBy: 42 })).rejects.toThrow(
      /invalid input for healthCheck: requestedBy/,
    );
    await expect(stack.client.start('noSuchFlow', {})).rejects.toThrow(
      /unknown workflow "noSuchFlow" — known workflows: healthCheck/,
    );
  });

  it('refuses a second start with the same workflow id, even after the first run closed', async () => {
    const id = `hc-dup-${Date.now()}`;
    await stack.client.start('healthCheck', {}, { workflowId: id });
    await stack.client.result(id);
    await expect(stack.client.start('healthCheck', {}, { workflowId: id })).rejects.toThrow(/already exists/);
    const again = await stack.client.start('healthCheck', {}, { workflowId: id, idempotent: true });
    expect(again).toMatchObject({ workflowId: id, duplicate: true });
    expect((await stack.client.list({ query: `WorkflowId = "${id}"` })).length).toBe(1);
  });

  it('reports an unknown run id as a user error', async () => {
    await expect(stack.client.describe('no-such-id')).rejects.toThrow(/no run with id "no-such-id"/);
  });
});
