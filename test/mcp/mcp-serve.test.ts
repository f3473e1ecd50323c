import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { WardenClient } from '../../src/client';
import { loadFleetKey } from '../../src/identity/fleet-key';
import { createMcpHttpServer } from '../../src/mcp/serve';
import { connectClient } from '../../src/runtime/connection';
import { createLogger } from '../../src/telemetry/logger';
import { defineTool } from '../../src/tools/types';
import { ApiTokenStore } from '../../src/triggers/api-tokens';
import { approvalSignal } from '../../src/workflows/contract';
import { ROOT } from '../harness/cli';
import { signedApproval } from '../harness/identity';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack, testServerAddress } from '../harness/temporal';
import { waitFor } from '../harness/wait';

type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: unknown };

describe('warden mcp serve: outside agents request governed actions (real Temporal server, SDK client)', () => {
  jest.setTimeout(180_000);
  let stack: TestStack;
  const notes: string[] = [];
  const noteTools = [
    defineTool({
      name: 'note_write',
      description: 'Writes a note (a write: policy asks a human).',
      input: z.object({ text: z.string().max(200) }).strict(),
      output: z.object({ written: z.number() }),
      risk: 'write',
      capabilities: [],
      targets: () => [],
      execute: ({ text }) => {
        notes.push(text);
        return Promise.resolve({ written: notes.length });
      },
    }),
  ];
  let mcp: Client;
  const me = os.userInfo().username;

  beforeAll(async () => {
    stack = await startTestStack({}, { extraTools: noteTools, policy: testPolicy() });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [path.join(ROOT, 'bin', 'warden.js'), 'mcp', 'serve'],
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        TEMPORAL_ADDRESS: testServerAddress(),
        WARDEN_TASK_QUEUE: stack.config.taskQueue,
        WARDEN_FLEET_KEY_FILE: stack.config.fleetKeyFile,
        WARDEN_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'warden-mcp-serve-')),
        WARDEN_MCP_SERVE_TOOLS: 'note_write',
        WARDEN_LOG_LEVEL: 'warn',
      },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', () => undefined);
    mcp = new Client({ name: 'outside-agent', version: '1.0.0' });
    await mcp.connect(transport);
  });
  afterAll(async () => {
    await mcp?.close();
    await stack?.stop();
  });

  const call = async (name: string, args: Record<string, unknown>) =>
    (await mcp.callTool({ name, arguments: args })) as ToolResult;
  const data = (r: ToolResult) => r.structuredContent as Record<string, unknown>;

  it('offers listing, requesting and status only — nothing that approves or controls a run', async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['list_actions', 'request_action', 'run_status']);
    const listed = data(await call('list_actions', {}));
    expect(listed.tools).toEqual([expect.objectContaining({ name: 'note_write' })]);
    // A tool the operator did not offer is refused before any run starts.
    const other = await call('request_action', { tool: 'http_request', args: { url: 'https://example.com' } });
    expect(other.isError).toBe(true);
    expect(other.content[0]!.text).toMatch(/not offered to outside agents/);
    const templated = await call('request_action', { tool: 'note_write', args: { text: '{{ run }}' } });
    expect(templated.isError).toBe(true);
  });

  it('a requested write waits for approval, the agent cannot approve it, and reads the outcome after a human does', async () => {
    const requested = data(await call('request_action', { tool: 'note_write', args: { text: 'from outside' } }));
    expect(requested.status).toBe('RUNNING');
    const id = requested.workflowId as string;
    expect(requested.waitingForApproval).toEqual([
      expect.objectContaining({ tier: 1, action: expect.stringContaining('note_write') }),
    ]);
    expect(notes).toEqual([]);
    // The run is the caller's, verified by the service's attestation; so the caller can never approve it.
    const state = await stack.client.runState(id);
    expect(state.initiator).toBe(me);
    expect(state.decisions[0]).toMatchObject({ tool: 'note_write', effect: 'require_approval' });

    await expect(
      (async () => {
        const r = await call('approve', { workflowId: id, approvalId: 'action.0' });
        if (r.isError) throw new Error(r.content[0]?.text ?? 'refused');
      })(),
    ).rejects.toThrow(/approve/);
    expect(data(await call('run_status', { workflowId: id })).status).toBe('RUNNING');

    const [pending] = await stack.client.pendingApprovalsOf(id);
    await stack.client.signal(id, approvalSignal, signedApproval(pending!, 'approve', 'alice', { reason: 'fine' }));
    const done = await waitFor(
      async () => data(await call('run_status', { workflowId: id })),
      (v) => v.status === 'COMPLETED',
    );
    expect(notes).toEqual(['from outside']);
    expect(JSON.stringify(done.result)).toContain('"written":1');
    expect(done.decisions).toEqual([expect.objectContaining({ tool: 'note_write', effect: 'require_approval' })]);
  });

  it('reads only runs the caller started', async () => {
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook: { name: 'someone-else', steps: [{ id: 'a', kind: 'approval', title: 'x', tier: 1 }] },
      input: {},
      initiator: 'olivia',
    });
    const r = await call('run_status', { workflowId });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(new RegExp(`no run ${workflowId} started by ${me}`));
  });

  describe('over Streamable HTTP with Warden API tokens', () => {
    let server: http.Server;
    let url: string;
    let tokens: ApiTokenStore;
    let client: WardenClient;
    beforeAll(async () => {
      tokens = ApiTokenStore.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-mcp-tokens-')), 'tokens.db'));
      client = new WardenClient(await connectClient(stack.config), stack.config.taskQueue, {
        key: loadFleetKey(stack.config.fleetKeyFile),
        service: 'mcp',
      });
      server = createMcpHttpServer({
        client,
        offer: {
          tools: [{ name: 'note_write', definition: noteTools[0] }],
          playbooks: {
            'change-gate': () => ({
              name: 'change-gate',
              steps: [{ id: 'gate', kind: 'approval', title: 'change window?', tier: 1, details: {}, onError: 'fail' }],
            }),
          },
        },
        logger: createLogger({ level: 'silent' }),
        auth: { tokens },
        allowedHosts: [],
        bindHost: '127.0.0.1',
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}/mcp`;
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      tokens.close();
      await client.close();
    });
    const connect = async (token?: string) => {
      const c = new Client({ name: 'outside-agent', version: '1.0.0' });
      await c.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} },
        }),
      );
      return c;
    };

    it('refuses callers without a valid token', async () => {
      await expect(connect()).rejects.toThrow(/401|authentication required/i);
      await expect(connect('wdn_not-a-real-token')).rejects.toThrow(/malformed API token/);
    });

    it('records the token as initiator and enforces its scopes', async () => {
      const reader = tokens.create({ name: 'reader-bot', scopes: ['runs:read'] }).token;
      const starter = tokens.create({ name: 'agent-bot', scopes: ['runs:read', 'runs:start'] }).token;
      const r = await connect(reader);
      const refused = (await r.callTool({
        name: 'request_action',
        arguments: { tool: 'note_write', args: { text: 'x' } },
      })) as ToolResult;
      expect(refused.isError).toBe(true);
      expect(refused.content[0]!.text).toMatch(/token:reader-bot lacks the runs:start scope/);
      await r.close();
      const s = await connect(starter);
      const res = (await s.callTool({
        name: 'request_action',
        arguments: { tool: 'note_write', args: { text: 'y' } },
      })) as ToolResult;
      const id = (res.structuredContent as { workflowId: string }).workflowId;
      expect((await stack.client.runState(id)).initiator).toBe('token:agent-bot');
      const pending = await waitFor(
        () => stack.client.pendingApprovalsOf(id),
        (p) => p.length === 1,
      );
      expect(pending[0]).toMatchObject({ tool: 'note_write' });
      // A bundled playbook the operator offers: listed, and started under the same rules.
      const listed = (await s.callTool({ name: 'list_actions', arguments: {} })) as ToolResult;
      expect((listed.structuredContent as { playbooks: unknown[] }).playbooks).toEqual([{ name: 'change-gate' }]);
      const started = (await s.callTool({
        name: 'request_action',
        arguments: { playbook: 'change-gate' },
      })) as ToolResult;
      const gate = started.structuredContent as { workflowId: string; waitingForApproval: { reason: string }[] };
      expect(gate.waitingForApproval).toEqual([expect.objectContaining({ reason: 'change window?' })]);
      const unknown = (await s.callTool({ name: 'request_action', arguments: { playbook: 'other' } })) as ToolResult;
      expect(unknown.isError).toBe(true);
      await s.close();
      await stack.client.temporal.workflow.getHandle(id).terminate('test done');
      await stack.client.temporal.workflow.getHandle(gate.workflowId).terminate('test done');
    });
  });
});
