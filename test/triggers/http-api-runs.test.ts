import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Playbook } from '../../src/governance/steps';
import { freePort } from '../../src/runtime/dev-server';
import { createLogger } from '../../src/telemetry/logger';
import { ApiTokenStore } from '../../src/triggers/api-tokens';
import { createHttpServer } from '../../src/triggers/http-server';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { waitFor } from '../harness/wait';

/*
 * The runs API against a real Temporal dev server: the structured filters become a visibility query the
 * server accepts, listing shows only Warden's own runs, and a run started over HTTP records the
 * authenticated caller as its initiator.
 */

const gated: Playbook = {
  name: 'http-started',
  steps: [{ id: 'gate', kind: 'approval', title: 'Proceed?', tier: 1, details: {}, onError: 'fail' }],
};

describe('runs API (real Temporal dev server)', () => {
  let stack: TestStack;
  let tokens: ApiTokenStore;
  let app: FastifyInstance;
  let base: string;
  let reader: string;
  let starter: string;
  const foreignId = `billing-${Date.now()}`;

  const get = async (url: string, token: string) => {
    const res = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    stack = await startTestStack();
    tokens = ApiTokenStore.open(path.join(stack.config.dataDir, 'api-tokens.db'));
    reader = tokens.create({ name: 'reader', scopes: ['runs:read'] }).token;
    starter = tokens.create({ name: 'ci-start', scopes: ['runs:read', 'runs:start'] }).token;
    app = createHttpServer({ client: stack.client, logger: createLogger({ level: 'silent' }), auth: { tokens } });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    base = `http://127.0.0.1:${port}`;
    // Another application's workflow in the same namespace (no worker needed: it stays Running).
    await stack.client.temporal.workflow.start('healthCheck', {
      taskQueue: 'billing-app',
      workflowId: foreignId,
      args: [{}],
    });
  });
  afterAll(async () => {
    await app?.close();
    tokens?.close();
    await stack?.client.temporal.workflow
      .getHandle(foreignId)
      .terminate('test over')
      .catch(() => undefined);
    await stack?.stop();
  });

  it('starts a run as the authenticated caller and lists only Warden runs through structured filters', async () => {
    const res = await fetch(`${base}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${starter}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'runPlaybook', input: { playbook: gated } }),
    });
    const started = (await res.json()) as { workflowId: string; initiator: string };
    expect(res.status).toBe(201);
    expect(started.initiator).toBe('token:ci-start');

    // The run's own input names the caller: what self-approval checks compare against.
    const history = await stack.client.temporal.workflow.getHandle(started.workflowId).fetchHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect((JSON.parse(Buffer.from(input.data!).toString()) as { initiator: string }).initiator).toBe('token:ci-start');

    const running = await waitFor(
      () => get('/v1/runs?status=running&type=runPlaybook&since=1h', reader),
      (r) => (r.body.runs as { workflowId: string }[]).some((x) => x.workflowId === started.workflowId),
    );
    expect(running.status).toBe(200);
    const all = await waitFor(
      () => get('/v1/runs?limit=500', reader),
      (r) => (r.body.runs as unknown[]).length > 0,
    );
    const ids = (all.body.runs as { workflowId: string; taskQueue: string }[]).map((r) => r.workflowId);
    expect(ids).toContain(started.workflowId);
    expect(ids).not.toContain(foreignId);
    expect((all.body.runs as { taskQueue: string }[]).every((r) => r.taskQueue === stack.config.taskQueue)).toBe(true);
    const done = await get('/v1/runs?status=completed', reader);
    expect((done.body.runs as { workflowId: string }[]).map((r) => r.workflowId)).not.toContain(started.workflowId);

    expect((await get(`/v1/runs/${started.workflowId}`, reader)).body.type).toBe('runPlaybook');
    expect((await get(`/v1/runs/${foreignId}`, reader)).status).toBe(404);
    await stack.client.temporal.workflow.getHandle(started.workflowId).terminate('test over');
  });

  it('refuses a start by a reader, and invalid input with what was wrong (no run started)', async () => {
    const asReader = await fetch(`${base}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'healthCheck' }),
    });
    expect(asReader.status).toBe(403);
    const bad = await fetch(`${base}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${starter}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'runPlaybook', input: { playbook: { name: 'x' } } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /^invalid input for runPlaybook: .* — no run was started$/,
    );
  });
});
