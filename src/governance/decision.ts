import type { DecisionToken } from '../identity/decision-token';
import type { PolicyFacts } from './facts';
import type { ApprovalPlan, PolicyDecision, Risk } from './policy';

/*
 * The one decision type, end to end: policy's verdict (PolicyDecision) extended with what the run needs
 * to enforce it (Decision), and the same fields as the run records them, once, in both the audit ledger
 * and `runState` (DecisionRecord). Workflow-safe: types and pure functions only.
 */

/** A policy decision, with everything the workflow needs to enforce it. */
export interface Decision extends PolicyDecision {
  /** sha256 over tool + canonical args + run + step + call + policy version. */
  actionHash: string;
  /** One line for humans and the Web UI. */
  action: string;
  tool?: string;
  risk?: Risk;
  /** True when the arguments failed the tool's schema: the step fails with ValidationError. */
  invalid?: boolean;
  plan?: ApprovalPlan;
  /** Task queue for the tool call when the tool's rate-limit class is limited. */
  taskQueue?: string;
  /** Credential capabilities the call may lease (none when denied). */
  granted?: { provider: string; scopes: string[] }[];
  /** Proof for `executeTool` that policy allowed this exact call (allow only; approvals get theirs once granted). */
  token?: DecisionToken;
  /** What Warden established about the call and each target, as policy saw it (recorded: the "why"). */
  facts?: PolicyFacts;
}

/** Where in the run a decision was taken, and for whom. */
export interface DecisionSite {
  stepId: string;
  callId: string;
  kind: 'action' | 'approval';
  /** Who asked: `system` (a playbook step) or the agent's identity (`agent:alert-scorer`). */
  actor: string;
  /** Whether the run had seen untrusted content when it asked. */
  tainted: boolean;
}

/** A decision as recorded: the same object goes to the ledger (`policy.decision`) and to `runState.decisions`. */
export type DecisionRecord = DecisionSite &
  Pick<Decision, 'effect' | 'ruleId' | 'reason' | 'policyVersion' | 'actionHash' | 'action'> & {
    tool?: string;
    tier?: number;
    facts?: PolicyFacts;
    at: string;
  };

/** The record of a decision taken at a site. */
export function decisionRecord(d: Decision, site: DecisionSite, at: string): DecisionRecord {
  return {
    ...site,
    ...(d.tool !== undefined ? { tool: d.tool } : {}),
    action: d.action,
    effect: d.effect,
    ...(d.tier !== undefined ? { tier: d.tier } : {}),
    ruleId: d.ruleId,
    reason: d.reason,
    policyVersion: d.policyVersion,
    actionHash: d.actionHash,
    ...(d.facts ? { facts: d.facts } : {}),
    at,
  };
}

/** A refusal decided before policy was asked (an agent's call outside its allowlist, malformed arguments). */
export function refusalDecision(tool: string, ruleId: string, reason: string): Decision {
  return {
    effect: 'deny',
    ruleId,
    reason,
    policyVersion: '-',
    actionHash: '-',
    action: `${tool} (refused before policy)`,
    tool,
  };
}
