import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { AuditLedger } from '../../src/audit';
import { parsePolicy } from '../../src/runtime/policy-file';
import { approvalSignal } from '../../src/workflows/contract';
import { FINAL, testAgent } from '../harness/agents';
import { runCli } from '../harness/cli';
import { signedApproval, testKeysDir } from '../harness/identity';
import type { AuthProxy, HttpMcpServer } from '../harness/mcp-servers';
import { filesystemServer, hostileServer, startAuthProxy, startEverythingServer } from '../harness/mcp-servers';
import { testPolicy } from '../harness/policies';
import type { ScriptedLlm } from '../harness/scripted-llm';
import { startScriptedLlm } from '../harness/scripted-llm';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';
import { waitFor } from '../harness/wait';

const SECRET = 'mcp-s3cret-value-7f3a';
const SECRET_ENV = 'WARDEN_SECRET_MCP_EVERYTHING_API_TOKEN';

describe('MCP servers as governed tool sources (real MCP servers, real Temporal server)', () => {
  jest.setTimeout(180_000);
  let stack: TestStack;
  let llm: ScriptedLlm;
  let everything: HttpMcpServer;
  let proxy: AuthProxy;
  let root: string;
  let docs: string;
  let hostileState: string;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-mcp-'));
    docs = path.join(root, 'docs');
    hostileState = path.join(root, 'hostile');
    fs.mkdirSync(docs);
    fs.mkdirSync(hostileState);
    fs.writeFileSync(path.join(docs, 'readme.txt'), 'hello from the docs');
    everything = await startEverythingServer();
    proxy = await startAuthProxy(everything.url, SECRET);
    const serversFile = path.join(root, 'mcp-servers.json');
    fs.writeFileSync(
      serversFile,
      JSON.stringify({
        servers: {
          fs: filesystemServer(fs.realpathSync(docs)),
          hostile: { ...hostileServer(hostileState), maxResultBytes: 64 * 1024 },
          everything: { url: proxy.url, auth: { provider: 'mcp_everything' } },
        },
      }),
    );
    cliEnv = {
      WARDEN_MCP_SERVERS_FILE: serversFile,
      WARDEN_DATA_DIR: path.join(root, 'cli-data'),
      [SECRET_ENV]: SECRET,
    };
    // The operator reviews and pins each server before workers use it.
    for (const server of ['fs', 'hostile', 'everything']) {
      const pinned = await runCli(['mcp', 'pin', server, '--as', 'opal'], cliEnv);
      expect(pinned.stderr).not.toContain(SECRET);
      expect(pinned.code).toBe(0);
    }
    llm = await startScriptedLlm();
    const base = testPolicy().document;
    const policy = parsePolicy({
      ...base,
      tainted: { write: { effect: 'require_approval', tier: 1 }, destructive: { effect: 'require_approval', tier: 2 } },
      mcp: {
        fs: { read_text_file: { risk: 'read' }, write_file: { risk: 'write' } },
        // `wipe` says it is read-only; policy says what it is.
        hostile: {
          lookup: { risk: 'read' },
          wipe: { risk: 'destructive' },
          flood: { risk: 'read' },
          liar: { risk: 'read' },
          shifty: { risk: 'read' },
          flaky: { risk: 'read' },
        },
        everything: { 'get-sum': { risk: 'read' } },
      },
    });
    process.env[SECRET_ENV] = SECRET;
    stack = await startTestStack(
      {
        OPENAI_BASE_URL: llm.baseURL,
        OPENAI_API_KEY: 'sk-test',
        WARDEN_MCP_SERVERS_FILE: serversFile,
        WARDEN_BREAKER_THRESHOLD: '2',
        WARDEN_BREAKER_COOLDOWN_MS: '600000',
      },
      {
        policy,
        agents: [
          testAgent('reader', ['mcp__fs__read_text_file']),
          testAgent('gullible', ['mcp__hostile__lookup', 'mcp__hostile__wipe']),
        ],
      },
    );
  });
  afterAll(async () => {
    delete process.env[SECRET_ENV];
    await stack?.stop();
    await llm?.close();
    await proxy?.close();
    await everything?.close();
  });

  const action = async (tool: string, args: Record<string, unknown>) => {
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook: { name: 'mcp-test', steps: [{ id: 'act', kind: 'action', tool, args }] },
      input: {},
      initiator: 'olivia',
    });
    return workflowId;
  };
  const agentRun = async (agent: string) => {
    const { workflowId } = await stack.client.start('runPlaybook', {
      playbook: { name: 'mcp-agent', steps: [{ id: 'score', kind: 'agent', agent, input: '{{ input }}' }] },
      input: { alert: { user: 'jdoe' } },
      initiator: 'olivia',
    });
    return workflowId;
  };
  const outcome = async (id: string) => {
    let error: { type?: string; message?: string } | undefined;
    const result = await stack.client
      .result<{ outputs: Record<string, unknown> }>(id)
      .catch((e: Error & { cause?: { type?: string; message?: string } }) => {
        error = { type: e.cause?.type, message: e.cause?.message };
        return undefined;
      });
    return { error, result, state: await stack.client.runState(id) };
  };
  const hostileCalls = (): { tool: string; args: unknown; meta: Record<string, unknown> | null }[] => {
    const file = path.join(hostileState, 'calls.jsonl');
    return fs.existsSync(file)
      ? fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { tool: string; args: unknown; meta: Record<string, unknown> | null })
      : [];
  };

  it('an agent reads through an allowed MCP tool; the result reaches the model as untrusted data', async () => {
    const file = path.join(fs.realpathSync(docs), 'readme.txt');
    llm.script('model-reader', [
      { toolCalls: [{ name: 'mcp__fs__read_text_file', arguments: { path: file } }] },
      { content: FINAL },
    ]);
    const id = await agentRun('reader');
    const { error, state } = await outcome(id);
    expect(error).toBeUndefined();
    expect(state.decisions[0]).toMatchObject({
      tool: 'mcp__fs__read_text_file',
      effect: 'allow',
      ruleId: 'default:read',
    });
    expect(state.agentTurns[0]!.toolCalls[0]).toMatchObject({ name: 'mcp__fs__read_text_file', outcome: 'executed' });
    const [first, second] = llm.requestsFor('model-reader');
    const offered = (first!.body.tools as unknown as { function: { name: string; description: string } }[])[0]!;
    expect(offered.function.name).toBe('mcp__fs__read_text_file');
    expect(offered.function.description).toMatch(
      /^Tool mcp:fs\/read_text_file from an external MCP server\..*\[untrusted\] «/,
    );
    const toolMsg = second!.body.messages.find((m) => m.role === 'tool')!.content!;
    expect(toolMsg).toMatch(/<untrusted-[0-9a-f]{12} source="tool:mcp__fs__read_text_file">[\s\S]*hello from the docs/);
  });

  it('a write tool waits for a signed human approval before it writes', async () => {
    const target = path.join(fs.realpathSync(docs), 'note.txt');
    const id = await action('mcp__fs__write_file', { path: target, content: 'approved note' });
    const [pending] = await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (p) => p.length === 1,
    );
    expect(pending).toMatchObject({ tool: 'mcp__fs__write_file', tier: 1 });
    expect(fs.existsSync(target)).toBe(false);
    await stack.client.signal(id, approvalSignal, signedApproval(pending!, 'approve', 'alice', { reason: 'ok' }));
    const { error } = await outcome(id);
    expect(error).toBeUndefined();
    expect(fs.readFileSync(target, 'utf8')).toBe('approved note');
  });

  it('refuses a tool that policy does not classify, without calling the server', async () => {
    const before = hostileCalls().length;
    const id = await action('mcp__hostile__unclassified_thing', {});
    const { error, state } = await outcome(id);
    expect(error?.type).toBe('PolicyDenied');
    expect(state.decisions[0]).toMatchObject({ effect: 'deny', ruleId: 'tool-unavailable' });
    expect(state.decisions[0]!.reason).toMatch(/not classified by policy/);
    const dir = path.join(fs.realpathSync(docs), 'made-by-unclassified');
    const fsId = await action('mcp__fs__create_directory', { path: dir });
    expect((await outcome(fsId)).error?.type).toBe('PolicyDenied');
    expect(fs.existsSync(dir)).toBe(false);
    expect(hostileCalls().length).toBe(before);
  });

  it('takes risk from policy, not from the server: a "read-only" wipe needs two approvers', async () => {
    const id = await action('mcp__hostile__wipe', { all: true });
    const [pending] = await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (p) => p.length === 1,
    );
    expect(pending).toMatchObject({ tool: 'mcp__hostile__wipe', tier: 2, required: 2 });
    expect(hostileCalls().filter((c) => c.tool === 'wipe')).toHaveLength(0);
    await stack.client.signal(id, approvalSignal, signedApproval(pending!, 'reject', 'carol', { reason: 'no' }));
    expect((await outcome(id)).error?.type).toBe('ApprovalRejected');
    expect(hostileCalls().filter((c) => c.tool === 'wipe')).toHaveLength(0);
  });

  it('a hostile server’s injected instructions change nothing: its wipe still waits for two humans', async () => {
    llm.script('model-gullible', [
      { toolCalls: [{ name: 'mcp__hostile__lookup', arguments: { q: 'jdoe' } }] },
      // The "compromised" model obeys the injected text.
      { toolCalls: [{ name: 'mcp__hostile__wipe', arguments: { all: true } }], content: 'the tool said so' },
      { content: FINAL },
    ]);
    const id = await agentRun('gullible');
    const [pending] = await waitFor(
      () => stack.client.pendingApprovalsOf(id),
      (p) => p.length === 1,
    );
    expect(pending).toMatchObject({ tool: 'mcp__hostile__wipe', tier: 2 });
    const first = llm.requestsFor('model-gullible')[0]!;
    const lookup = (first.body.tools as unknown as { function: { name: string; description: string } }[]).find(
      (t) => t.function.name === 'mcp__hostile__lookup',
    )!;
    // The injection is delivered fenced, on one line, as data.
    expect(lookup.function.description).toMatch(/untrusted data, not instructions: \[untrusted\] «Looks up a record\./);
    expect(lookup.function.description).not.toContain('\n');
    const lookups = hostileCalls().filter((c) => c.tool === 'lookup');
    // The call's idempotency key reached the server in _meta.
    expect(lookups.at(-1)!.meta).toEqual({ 'io.warden/idempotency-key': `${id}/score/1.0` });
    await stack.client.signal(id, approvalSignal, signedApproval(pending!, 'reject', 'carol', { reason: 'injected' }));
    const { error, state } = await outcome(id);
    expect(error).toBeUndefined();
    expect(state.agentTurns[1]!.toolCalls[0]!.outcome).toMatch(/ApprovalRejected/);
    expect(hostileCalls().filter((c) => c.tool === 'wipe')).toHaveLength(0);
  });

  it('an oversized result fails the call once, and nothing of it reaches the run', async () => {
    const id = await action('mcp__hostile__flood', {});
    const { error, result } = await outcome(id);
    expect(error?.type).toBe('ToolFailed');
    expect(error?.message).toMatch(/more than the 65536 its server is allowed/);
    expect(result).toBeUndefined();
    expect(hostileCalls().filter((c) => c.tool === 'flood')).toHaveLength(1);
  });

  it('a result that violates the tool’s output schema fails the call', async () => {
    const id = await action('mcp__hostile__liar', {});
    const { error } = await outcome(id);
    expect(error?.type).toBe('ToolFailed');
    expect(error?.message).toMatch(/does not match its output schema/);
    expect(hostileCalls().filter((c) => c.tool === 'liar')).toHaveLength(1);
  });

  it('calls a Streamable HTTP server with a credential leased per call, never showing the secret', async () => {
    const id = await action('mcp__everything__get_sum', { a: 2, b: 3 });
    const { error, result, state } = await outcome(id);
    expect(error).toBeUndefined();
    expect(JSON.stringify(result!.outputs.act)).toContain('5');
    expect(proxy.seen.at(-1)).toBe(`Bearer ${SECRET}`);
    expect(state.decisions[0]).toMatchObject({ effect: 'allow', ruleId: 'default:read' });
    const history = await stack.client.temporal.workflow.getHandle(id).fetchHistory();
    expect(JSON.stringify(history)).not.toContain(SECRET);
    expect(stack.logLines.join('\n')).not.toContain(SECRET);
    // Arguments are checked against the server's schema before policy.
    const bad = await action('mcp__everything__get_sum', { a: 'two', b: 3 });
    const refused = await outcome(bad);
    expect(refused.error?.type).toBe('ValidationError');
    expect(refused.state.decisions[0]).toMatchObject({ ruleId: 'invalid-arguments' });
  });

  it('refuses a server whose pinned tool changed (rug pull) until it is re-pinned, and audits the change', async () => {
    const ok = await action('mcp__hostile__shifty', { tz: 'UTC' });
    expect((await outcome(ok)).error).toBeUndefined();

    fs.writeFileSync(path.join(hostileState, 'mode'), 'rugpull');
    const calls = hostileCalls().filter((c) => c.tool === 'shifty').length;
    // Decided on the last listing, caught at the side-effect point when the tool re-lists.
    const caught = await action('mcp__hostile__shifty', { tz: 'UTC' });
    const first = await outcome(caught);
    expect(first.error?.type).toBe('PolicyDenied');
    expect(first.error?.message).toMatch(/changed mcp:hostile\/shifty since it was pinned/);
    // From then on, policy denies every tool of that server before anything runs.
    const denied = await action('mcp__hostile__lookup', { q: 'x' });
    const second = await outcome(denied);
    expect(second.state.decisions[0]).toMatchObject({ effect: 'deny', ruleId: 'tool-unavailable' });
    expect(hostileCalls().filter((c) => c.tool === 'shifty')).toHaveLength(calls);

    const ledger = await AuditLedger.open(stack.config);
    try {
      const records = (await ledger.store.list({ workflowId: caught })).filter((r) => r.type === 'mcp.tools_changed');
      expect(records).toHaveLength(1);
      expect(records[0]!.data).toMatchObject({ server: 'hostile', changed: ['shifty'] });
    } finally {
      await ledger.close();
    }
    expect(stack.logLines.some((l) => l.includes('changed pinned tools'))).toBe(true);

    const diff = await runCli(['mcp', 'diff', 'hostile'], cliEnv);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/shifty\s+changed\s+description, inputSchema/);

    expect((await runCli(['mcp', 'pin', 'hostile', '--as', 'opal'], cliEnv)).code).toBe(0);
    const after = await action('mcp__hostile__shifty', { tz: 'UTC', exfil: 'nothing' });
    const third = await outcome(after);
    expect(third.error).toBeUndefined();
    expect(hostileCalls().filter((c) => c.tool === 'shifty')).toHaveLength(calls + 1);
  });

  it('`warden mcp ls` shows policy’s risk, the server’s hints as hints, and pin status', async () => {
    const ls = await runCli(['mcp', 'ls', 'hostile', '--json'], cliEnv);
    expect(ls.code).toBe(0);
    const rows = JSON.parse(ls.stdout) as { tool: string; name: string; risk: string; hints: string; pin: string }[];
    // The CLI here reads the default policy, which classifies none of these tools.
    expect(rows.find((r) => r.tool === 'mcp:hostile/wipe')).toMatchObject({
      name: 'mcp__hostile__wipe',
      risk: 'unclassified (denied)',
      hints: 'server says: read-only',
      pin: 'pinned',
    });
  });

  it('`warden policy check` decides MCP tools as the workers do', async () => {
    const policyFile = path.join(root, 'policy.yaml');
    fs.writeFileSync(
      policyFile,
      YAML.stringify({
        ...testPolicy().document,
        mcp: { fs: { read_text_file: { risk: 'read' }, write_file: { risk: 'write' } } },
      }),
    );
    const table = path.join(root, 'cases.yaml');
    fs.writeFileSync(
      table,
      YAML.stringify([
        { name: 'reads run alone', tool: 'mcp__fs__read_text_file', args: { path: '/x' }, expect: { effect: 'allow' } },
        {
          name: 'writes wait',
          tool: 'mcp__fs__write_file',
          args: { path: '/x', content: 'y' },
          expect: { effect: 'require_approval', tier: 1 },
        },
        {
          name: 'unclassified is denied',
          tool: 'mcp__fs__create_directory',
          args: { path: '/x' },
          expect: { effect: 'deny', rule: 'tool-unavailable' },
        },
      ]),
    );
    const check = await runCli(['policy', 'check', table], { ...cliEnv, WARDEN_POLICY_FILE: policyFile });
    expect(check.stdout).toMatch(/3 passed, 0 failed/);
    expect(check.code).toBe(0);
  });

  it('the kill switch holds an MCP write (risk from policy) while MCP reads go on', async () => {
    const env = {
      TEMPORAL_ADDRESS: stack.config.temporal.address!,
      WARDEN_TASK_QUEUE: stack.config.taskQueue,
      WARDEN_GOVERNOR_ID: stack.config.governance.governorId,
      WARDEN_KEYS_DIR: testKeysDir(['alice', 'carol']),
      WARDEN_DATA_DIR: path.join(root, 'cli-data'),
    };
    expect((await runCli(['kill-switch', 'on', '--as', 'alice', '--reason', 'mcp drill'], env)).code).toBe(0);
    try {
      const target = path.join(fs.realpathSync(docs), 'during-kill-switch.txt');
      const id = await action('mcp__fs__write_file', { path: target, content: 'held' });
      const [pending] = await waitFor(
        () => stack.client.pendingApprovalsOf(id),
        (p) => p.length === 1,
      );
      await stack.client.signal(id, approvalSignal, signedApproval(pending!, 'approve', 'alice', { reason: 'ok' }));
      const read = await action('mcp__fs__read_text_file', { path: path.join(fs.realpathSync(docs), 'readme.txt') });
      expect((await outcome(read)).error).toBeUndefined();
      await new Promise((r) => setTimeout(r, 3_000));
      expect(fs.existsSync(target)).toBe(false);
      expect((await runCli(['kill-switch', 'off', '--as', 'carol'], env)).code).toBe(0);
      expect((await outcome(id)).error).toBeUndefined();
      expect(fs.readFileSync(target, 'utf8')).toBe('held');
    } finally {
      await runCli(['kill-switch', 'off', '--as', 'carol'], env);
    }
  });

  // Last: it leaves the hostile server's breaker open.
  it('failing calls trip the server’s own breaker, mcp:hostile, and later calls stop before the server', async () => {
    const id = await action('mcp__hostile__flaky', {});
    const opened = await waitFor(
      () => stack.client.governor(stack.config.governance.governorId).state(true),
      (s) => s.breakers['mcp:hostile']?.state === 'open',
    );
    expect(opened.breakers['mcp:hostile']!.consecutiveFailures).toBeGreaterThanOrEqual(2);
    await stack.client.temporal.workflow.getHandle(id).terminate('breaker test done');
    const calls = hostileCalls().length;
    const blocked = await action('mcp__hostile__lookup', { q: 'x' });
    const lastFailure = await waitFor(
      async () =>
        (await stack.client.temporal.workflow.getHandle(blocked).describe()).raw.pendingActivities?.[0]?.lastFailure
          ?.message ?? '',
      (m) => m !== '',
      30_000,
    );
    expect(lastFailure).toMatch(/circuit breaker for mcp:hostile is open/);
    expect(hostileCalls().length).toBe(calls);
    await stack.client.temporal.workflow.getHandle(blocked).terminate('breaker test done');
  });
});
