import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../errors';
import { formatIssues } from '../governance/issues';
import type { ApprovalSignal } from '../governance/approvals';
import { approvalFields } from '../governance/approvals';
import type { DecisionToken } from '../identity/decision-token';
import { mintDecisionToken } from '../identity/decision-token';
import type { FleetKey } from '../identity/fleet-key';
import { verifySignedRequest } from '../identity/signed-request';
import { keysOf } from '../identity/directory';
import { callingRun } from './identity';
import type { ApprovalPendingNotice } from './notify';
import type { Logger } from '../telemetry/logger';
import type { Decision } from '../governance/decision';
import type { ApprovalPlan, Policy, PolicyDecision } from '../governance/policy';
import { approvalPlan, evaluatePolicy, grantedCapabilities } from '../governance/policy';
import type { PendingApproval } from '../governance/approvals';
import { canonicalHash } from '../audit/hash';
import type { AnyTool, Risk, ToolRegistry } from '../tools/types';
import type { PolicyFacts, PolicyFactsProvider } from '../governance/facts';
import { establishFacts } from '../governance/facts';

/** Input of `decideAction`. */
export interface DecideInput {
  workflowId: string;
  stepId: string;
  callId: string;
  kind: 'action' | 'approval';
  tool?: string;
  /** Approval steps: title and tier. */
  title?: string;
  tier?: number;
  /** Tool arguments (action) or rendered details (approval). */
  args: unknown;
  context: unknown;
  initiator: string;
  tainted: boolean;
  agent?: string;
  /** The run's input (a forEach batch's: its parent's), from which use cases establish policy facts. */
  runInput?: unknown;
}

/** Dependencies of the governance activities. */
export interface GovernanceDeps {
  policy: Policy;
  tools: ToolRegistry;
  taskQueue: string;
  rateLimits: Record<string, number>;
  logger: Logger;
  notify: (notice: ApprovalPendingNotice) => Promise<void>;
  fleetKey: FleetKey;
  /** The enabled use cases' policy-facts providers (src/governance/facts.ts). */
  factsProviders?: readonly PolicyFactsProvider[];
}

/** How long an allow decision's token lets the tool call start (retries and kill-switch holds included). */
const ALLOW_TOKEN_TTL_MS = 24 * 3_600_000;

/** Input of `authorizeApproved`: the decision humans approved, and their signed decisions. */
export interface AuthorizeApprovedInput {
  decision: Pick<Decision, 'tool' | 'actionHash' | 'policyVersion' | 'granted' | 'tier' | 'effect'>;
  stepId: string;
  callId: string;
  initiator: string;
  approvals: ApprovalSignal[];
}

/** Task queue carrying one rate-limit class's tool calls (its own worker enforces the fleet-wide rate). */
export function rateLimitedQueue(taskQueue: string, rateLimitClass: string): string {
  return `${taskQueue}--rl--${rateLimitClass}`;
}

/** Hash binding an approval or execution to the exact action. */
export function actionHash(input: {
  tool?: string;
  kind: string;
  args: unknown;
  workflowId: string;
  stepId: string;
  callId: string;
  policyVersion: string;
  title?: string;
}): string {
  return canonicalHash({
    kind: input.kind,
    tool: input.tool ?? null,
    title: input.title ?? null,
    args: input.args ?? null,
    workflowId: input.workflowId,
    stepId: input.stepId,
    callId: input.callId,
    policyVersion: input.policyVersion,
  });
}

function short(value: unknown, max = 120): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Policy's decision on one call of a registered tool with schema-valid arguments: the tool's effective
 * risk and declared targets, the facts the use cases establish for them (worker code, never the caller's
 * `context`), then the rules. Shared by `decideAction` and `warden policy check`.
 */
export async function decideToolCall(
  policy: Policy,
  providers: readonly PolicyFactsProvider[],
  tool: AnyTool,
  args: unknown,
  call: Pick<
    DecideInput,
    'stepId' | 'kind' | 'context' | 'workflowId' | 'initiator' | 'tainted' | 'agent' | 'runInput'
  >,
): Promise<{ decision: PolicyDecision; risk: Risk; facts: PolicyFacts }> {
  const risk = tool.riskFor ? tool.riskFor(args) : tool.risk;
  const declared = tool.targets?.(args);
  const facts = await establishFacts(providers, {
    input: call.runInput,
    tool: tool.name,
    args,
    targets: declared ?? [],
    targetsDeclared: declared !== undefined,
    initiatorVerified: !call.initiator.startsWith('unverified:'),
  });
  const unavailable = tool.unavailable?.();
  if (unavailable !== undefined)
    return {
      decision: { policyVersion: policy.version, effect: 'deny', ruleId: 'tool-unavailable', reason: unavailable },
      risk,
      facts,
    };
  const decision = evaluatePolicy(policy, {
    step: { id: call.stepId, kind: call.kind },
    tool: { name: tool.name, known: true, risk, capabilities: tool.capabilities },
    args,
    context: call.context,
    run: { workflowId: call.workflowId, initiator: call.initiator, tainted: call.tainted, agent: call.agent },
    facts,
  });
  return { decision, risk, facts };
}

/** Builds the governance activities: policy decisions (run as a local activity) and approver notices. */
export function createGovernanceActivities(deps: GovernanceDeps) {
  const { policy, tools } = deps;
  return {
    /**
     * Validates the arguments against the tool's schema and asks policy. Pure apart from reading the
     * worker's policy and tool registry; runs as a local activity so the decision is recorded in history.
     */
    async decideAction(input: DecideInput): Promise<Decision> {
      const run = callingRun('decideAction');
      if (input.workflowId !== run.workflowId)
        throw ApplicationFailure.create({
          type: FailureType.PolicyDenied,
          nonRetryable: true,
          message: `decideAction for ${input.workflowId} called by another run (${run.workflowId})`,
        });
      const base = { policyVersion: policy.version };
      if (input.kind === 'approval') {
        const tier = input.tier ?? 1;
        const hash = actionHash({ ...input, ...base, kind: 'approval' });
        try {
          const plan = approvalPlan(policy.document, tier);
          return Promise.resolve({
            ...base,
            effect: 'require_approval',
            tier,
            ruleId: 'approval-step',
            reason: input.title ?? 'approval step',
            actionHash: hash,
            action: `approve: ${input.title ?? input.stepId}`,
            plan,
          });
        } catch (err) {
          return Promise.resolve({
            ...base,
            effect: 'deny',
            ruleId: 'error',
            reason: `approval step cannot be satisfied: ${(err as Error).message}`,
            actionHash: hash,
            action: `approve: ${input.title ?? input.stepId}`,
          });
        }
      }
      const name = input.tool ?? '';
      const tool = tools.get(name);
      const hashOf = (args: unknown) => actionHash({ ...input, ...base, kind: 'action', args });
      if (!tool) {
        const d = evaluatePolicy(policy, {
          step: { id: input.stepId, kind: input.kind },
          tool: { name, known: false, risk: 'destructive', capabilities: [] },
          args: input.args,
          context: input.context,
          run: { workflowId: input.workflowId, initiator: input.initiator, tainted: input.tainted, agent: input.agent },
        });
        return Promise.resolve({ ...d, actionHash: hashOf(input.args), action: `${name} (unknown tool)`, tool: name });
      }
      const unavailable = tool.unavailable?.();
      if (unavailable !== undefined)
        return Promise.resolve({
          ...base,
          effect: 'deny',
          ruleId: 'tool-unavailable',
          reason: unavailable,
          actionHash: hashOf(input.args),
          action: `${name} (unavailable)`,
          tool: name,
        });
      const parsed = tool.input.safeParse(input.args);
      if (!parsed.success) {
        const problems = formatIssues(parsed.error, '(args)');
        return Promise.resolve({
          ...base,
          effect: 'deny',
          ruleId: 'invalid-arguments',
          reason: `arguments for ${name} are invalid: ${problems}`,
          actionHash: hashOf(input.args),
          action: `${name} ${short(input.args)}`,
          tool: name,
          invalid: true,
        });
      }
      const args: unknown = parsed.data;
      const { decision: d, risk, facts } = await decideToolCall(policy, deps.factsProviders ?? [], tool, args, input);
      let plan: ApprovalPlan | undefined;
      if (d.effect === 'require_approval') {
        try {
          plan = approvalPlan(policy.document, d.tier ?? 1);
        } catch (err) {
          return Promise.resolve({
            ...d,
            effect: 'deny',
            ruleId: 'error',
            reason: `approval cannot be satisfied: ${(err as Error).message}`,
            actionHash: hashOf(args),
            action: name,
            tool: name,
            risk,
          });
        }
      }
      const limited = tool.rateLimitClass && deps.rateLimits[tool.rateLimitClass] ? tool.rateLimitClass : undefined;
      const granted = d.effect !== 'deny' ? grantedCapabilities(policy.document, tool.capabilities) : undefined;
      const hash = hashOf(args);
      const token =
        d.effect === 'allow'
          ? mintDecisionToken(
              deps.fleetKey,
              {
                ...run,
                stepId: input.stepId,
                callId: input.callId,
                tool: name,
                actionHash: hash,
                policyVersion: policy.version,
                granted: granted ?? [],
              },
              ALLOW_TOKEN_TTL_MS,
            )
          : undefined;
      return Promise.resolve({
        ...d,
        actionHash: hash,
        action: `${name} ${tool.summarize ? tool.summarize(args) : short(args)}`,
        tool: name,
        risk,
        facts,
        ...(plan ? { plan } : {}),
        ...(granted ? { granted } : {}),
        ...(limited ? { taskQueue: rateLimitedQueue(deps.taskQueue, limited) } : {}),
        ...(token ? { token } : {}),
      });
    },

    /**
     * Mints the decision token for an action humans approved, after re-checking their signed decisions in
     * worker code against the directory the worker holds now: each signature valid for this run, approval
     * and action hash, made with an enrolled and unrevoked key, by a member of the tier's groups who did not
     * start the run; enough distinct approvers. A local activity, like the decision.
     */
    authorizeApproved(input: AuthorizeApprovedInput): Promise<{ token: DecisionToken }> {
      const run = callingRun('authorizeApproved');
      const d = input.decision;
      const refuse = (why: string) =>
        ApplicationFailure.create({
          type: FailureType.PolicyDenied,
          nonRetryable: true,
          message: `approval not authorised: ${why}`,
        });
      if (d.effect !== 'require_approval' || !d.tool)
        throw refuse('the decision did not ask for approval of a tool call');
      const plan = approvalPlan(policy.document, d.tier ?? 1);
      const eligible = new Set(plan.stages.flatMap((st) => st.approvers));
      const keys = keysOf(policy.document.principals, eligible);
      const approvers = new Set<string>();
      const approvalId = `${input.stepId}.${input.callId}`;
      for (const a of input.approvals) {
        if (a.decision !== 'approve' || a.approvalId !== approvalId || a.actionHash !== d.actionHash) continue;
        if (!eligible.has(a.approver) || a.approver === input.initiator) continue;
        const v = verifySignedRequest({
          purpose: 'approval',
          fields: approvalFields(run.workflowId, a),
          signature: a.signature,
          principal: a.approver,
          keys: keys[a.approver],
          // Freshness and nonces were checked when the run accepted each decision; here: key and signature.
          nowMs: a.signature ? Date.parse(a.signature.signedAt) : 0,
          usedNonces: new Set(),
        });
        if (v.ok) approvers.add(a.approver);
      }
      if (approvers.size < plan.required)
        throw refuse(`${approvers.size} verified approver(s) of the ${plan.required} tier ${plan.tier} needs`);
      const token = mintDecisionToken(
        deps.fleetKey,
        {
          ...run,
          stepId: input.stepId,
          callId: input.callId,
          tool: d.tool,
          actionHash: d.actionHash,
          policyVersion: d.policyVersion,
          granted: d.granted ?? [],
        },
        ALLOW_TOKEN_TTL_MS,
      );
      return Promise.resolve({ token });
    },

    /** Tells the approvers that a run waits for them (log line, and a Slack-compatible webhook when configured). */
    async notifyApprovers(input: { pending: PendingApproval; escalated: boolean }): Promise<void> {
      await deps.notify({ ...input });
    },
  };
}
