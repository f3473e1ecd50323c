import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { WardenClient } from '../client';
import { UserError } from '../errors';
import type { Playbook } from '../governance/steps';
import type { AnyTool } from '../tools/types';
import type { ApiScope } from '../triggers/api-tokens';
import { WARDEN_VERSION } from '../version';

/*
 * Warden as an MCP server (`warden mcp serve`): outside agents may list what they are offered, request an
 * action — which becomes a Warden run under policy, started with the caller as its attested initiator, and
 * waits for human approval wherever policy says so — and read the runs they started. Nothing here
 * approves, signals or controls a run, reads a secret, or lets a caller skip policy: a request is a
 * playbook run like any other, and approvals stay with signed human approvers (`warden approve`).
 */

/** Who calls the server: for HTTP the authenticated API-token or OIDC principal, for stdio the local user. */
export interface McpCaller {
  id: string;
  scopes: ApiScope[];
}

/** What the server offers, from configuration (WARDEN_MCP_SERVE_TOOLS, WARDEN_MCP_SERVE_PLAYBOOKS). */
export interface WardenMcpOffer {
  /** Tool names callers may request, with the definition when this process knows it (built-in and use-case tools). */
  tools: { name: string; definition?: AnyTool }[];
  /** Bundled playbooks callers may start, by name. */
  playbooks: Record<string, () => Playbook>;
}

/** Options for {@link createWardenMcpServer}. */
export interface WardenMcpServerOptions {
  client: WardenClient;
  caller: McpCaller;
  offer: WardenMcpOffer;
  /** How long `request_action` waits to report what the run does first (approval, done). @default 3000 */
  settleMs?: number;
}

function text(value: unknown, isError = false): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value, null, 1) }],
    structuredContent: value as Record<string, unknown>,
    ...(isError ? { isError: true } : {}),
  };
}

function refuse(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One run as an outside agent may see it: status, what it waits for, decisions, outcome. */
async function runView(client: WardenClient, workflowId: string): Promise<Record<string, unknown>> {
  const report = await client.report(workflowId, 5_000);
  const state = report.state;
  const view: Record<string, unknown> = {
    workflowId,
    status: report.summary.status,
    waitingForApproval: report.pending.map((p) => ({
      approvalId: p.approvalId,
      action: p.action,
      reason: p.reason,
      tier: p.tier,
      required: p.required,
      approvalsSoFar: p.approvals.length,
      stageDeadline: p.stageDeadline,
      decidedBy: 'a human approver with a signed decision in Warden (warden approve); not through MCP',
    })),
    decisions: (state?.decisions ?? []).map((d) => ({
      stepId: d.stepId,
      tool: d.tool,
      effect: d.effect,
      reason: d.reason,
      ruleId: d.ruleId,
    })),
    steps: (state?.steps ?? []).map((s) => ({
      stepId: s.stepId,
      status: s.status,
      ...(s.error ? { error: s.error } : {}),
    })),
    ...(report.failure ? { failure: report.failure } : {}),
  };
  if (report.summary.status === 'COMPLETED') view.result = await client.result(workflowId);
  return view;
}

/**
 * The MCP server for one caller (a fresh one per HTTP request, one per stdio session). Tools:
 * `list_actions`, `request_action`, `run_status`. There is deliberately no tool to approve, signal,
 * pause or cancel.
 */
export function createWardenMcpServer(opts: WardenMcpServerOptions): McpServer {
  const { client, caller, offer } = opts;
  const server = new McpServer(
    { name: 'warden', version: WARDEN_VERSION },
    {
      instructions:
        'Warden runs governed actions. Request one with request_action; policy decides whether it runs, is ' +
        'denied, or waits for a human approver. Poll run_status. You cannot approve anything.',
    },
  );
  const may = (scope: ApiScope) => caller.scopes.includes(scope);
  const mine = async (workflowId: string): Promise<string | undefined> => {
    try {
      const state = await client.runState(workflowId);
      return state.initiator === caller.id ? undefined : `no run ${workflowId} started by ${caller.id}`;
    } catch {
      return `no run ${workflowId} started by ${caller.id}`;
    }
  };

  server.registerTool(
    'list_actions',
    {
      title: 'What you may request',
      description: 'Lists the tools and playbooks you may request through request_action, with their input schemas.',
      inputSchema: {},
      annotations: { readOnlyHint: true },
    },
    () => {
      if (!may('runs:read') && !may('runs:start')) return refuse(`${caller.id} lacks the runs:read scope`);
      return text({
        tools: offer.tools.map((t) => ({
          name: t.name,
          ...(t.definition
            ? {
                description: t.definition.description,
                inputSchema: z.toJSONSchema(t.definition.input, { io: 'input', unrepresentable: 'any' }),
              }
            : { description: 'a tool of the worker fleet (its schema is checked by the worker)' }),
        })),
        playbooks: Object.keys(offer.playbooks).map((name) => ({ name })),
        note: 'Every request becomes a Warden run under policy: it may run, be denied, or wait for a human approver.',
      });
    },
  );

  server.registerTool(
    'request_action',
    {
      title: 'Request a governed action',
      description:
        'Requests one tool call ({tool, args}) or one playbook run ({playbook, input}). It becomes a Warden run ' +
        'under policy with you as its initiator; returns its workflowId and whether it waits for approval.',
      inputSchema: {
        tool: z.string().optional().describe('a tool from list_actions'),
        args: z.record(z.string(), z.unknown()).optional().describe("the tool's arguments"),
        playbook: z.string().optional().describe('a playbook from list_actions'),
        input: z.record(z.string(), z.unknown()).optional().describe("the playbook's input"),
        reason: z.string().max(500).optional().describe('why (recorded with the run)'),
      },
    },
    async (req) => {
      if (!may('runs:start')) return refuse(`${caller.id} lacks the runs:start scope`);
      if ((req.tool === undefined) === (req.playbook === undefined))
        return refuse('give either tool (with args) or playbook (with input)');
      let playbook: Playbook;
      let input: Record<string, unknown>;
      if (req.tool !== undefined) {
        if (!offer.tools.some((t) => t.name === req.tool))
          return refuse(`tool "${req.tool}" is not offered to outside agents (see list_actions)`);
        // Arguments are data: a `{{` would make the playbook engine evaluate it as an expression.
        if (JSON.stringify(req.args ?? {}).includes('{{'))
          return refuse('arguments may not contain "{{" (playbook expressions are not accepted from outside agents)');
        playbook = {
          name: `mcp-request-${req.tool}`,
          steps: [{ id: 'action', kind: 'action', tool: req.tool, args: req.args ?? {}, context: {}, onError: 'fail' }],
        };
        input = { args: req.args ?? {}, ...(req.reason ? { reason: req.reason } : {}) };
      } else {
        const load = offer.playbooks[req.playbook!];
        if (!load) return refuse(`playbook "${req.playbook}" is not offered to outside agents (see list_actions)`);
        playbook = load();
        input = req.input ?? {};
      }
      let workflowId: string;
      try {
        ({ workflowId } = await client.start(
          'runPlaybook',
          { playbook, input },
          {
            initiator: caller.id,
            workflowId: `mcp-${randomUUID()}`,
            summary: `MCP request by ${caller.id}: ${playbook.name}`,
          },
        ));
      } catch (err) {
        if (err instanceof UserError) return refuse(err.message);
        throw err;
      }
      // Say what happened first: done, denied, or waiting for a human.
      const deadline = Date.now() + (opts.settleMs ?? 3_000);
      let view = await runView(client, workflowId);
      while (Date.now() < deadline && view.status === 'RUNNING' && !(view.waitingForApproval as unknown[]).length) {
        await sleep(250);
        view = await runView(client, workflowId);
      }
      return text(view);
    },
  );

  server.registerTool(
    'run_status',
    {
      title: 'Status of a run you requested',
      description: 'Status, approvals it waits for, policy decisions and (when done) the outcome of a run you started.',
      inputSchema: { workflowId: z.string().min(1).max(200) },
      annotations: { readOnlyHint: true },
    },
    async ({ workflowId }) => {
      if (!may('runs:read')) return refuse(`${caller.id} lacks the runs:read scope`);
      const problem = await mine(workflowId);
      if (problem) return refuse(problem);
      return text(await runView(client, workflowId));
    },
  );
  return server;
}
